// String forms of the public enums, and their parsers (the CLI spellings).
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>

#include "fkm/error.hpp"
#include "fkm/kmeans.hpp"
#include "fkm/params.hpp"
#include "fkm/view.hpp"

namespace fkm {

const char* to_string(ErrorCode c) noexcept {
  switch (c) {
    case ErrorCode::InvalidArgument: return "invalid_argument";
    case ErrorCode::InvalidData: return "invalid_data";
    case ErrorCode::Io: return "io";
    case ErrorCode::OutOfMemory: return "out_of_memory";
    case ErrorCode::Unsupported: return "unsupported";
    case ErrorCode::Interrupted: return "interrupted";
    case ErrorCode::Internal: return "internal";
  }
  return "unknown";
}

const char* to_string(DType t) noexcept {
  switch (t) {
    case DType::F16: return "float16";
    case DType::BF16: return "bfloat16";
    case DType::F32: return "float32";
    case DType::F64: return "float64";
  }
  return "unknown";
}

std::size_t size_of(DType t) noexcept {
  switch (t) {
    case DType::F16:
    case DType::BF16: return 2;
    case DType::F32: return 4;
    case DType::F64: return 8;
  }
  return 0;
}

const char* to_string(Init v) noexcept {
  switch (v) {
    case Init::KMeansPlusPlus: return "kmeans++";
    case Init::Random: return "random";
    case Init::KMeansParallel: return "kmeans-parallel";
    case Init::Given: return "given";
  }
  return "unknown";
}
const char* to_string(Metric v) noexcept {
  switch (v) {
    case Metric::L2: return "l2";
    case Metric::Cosine: return "cosine";
    case Metric::InnerProduct: return "ip";
  }
  return "unknown";
}
const char* to_string(Precision v) noexcept {
  switch (v) {
    case Precision::Exact: return "exact";
    case Precision::Fast: return "fast";
  }
  return "unknown";
}
const char* to_string(EmptyClusterPolicy v) noexcept {
  switch (v) {
    case EmptyClusterPolicy::ReseedFarthest: return "reseed-farthest";
    case EmptyClusterPolicy::KeepOld: return "keep-old";
  }
  return "unknown";
}
const char* to_string(Pruning v) noexcept {
  switch (v) {
    case Pruning::Off: return "off";
    case Pruning::Hamerly: return "hamerly";
  }
  return "unknown";
}
const char* to_string(BackendKind v) noexcept {
  switch (v) {
    case BackendKind::Auto: return "auto";
    case BackendKind::Reference: return "reference";
    case BackendKind::Cpu: return "cpu";
    case BackendKind::Cuda: return "cuda";
    case BackendKind::Hip: return "hip";
    case BackendKind::Kokkos: return "kokkos";
  }
  return "unknown";
}
const char* to_string(StopReason r) noexcept {
  switch (r) {
    case StopReason::MaxIter: return "max_iter";
    case StopReason::Tolerance: return "tol";
  }
  return "unknown";
}

namespace {
template <class E, std::size_t N>
E parse_enum(const std::string& s, const char* what, const E (&values)[N]) {
  std::string accepted;
  for (E v : values) {
    if (s == to_string(v)) return v;
    accepted += (accepted.empty() ? "" : ", ") + std::string(to_string(v));
  }
  throw Error(ErrorCode::InvalidArgument, "unknown " + std::string(what) + " '" + s + "' (accepted: " + accepted + ")");
}
}  // namespace

Init parse_init(const std::string& s) {
  static constexpr Init v[] = {Init::KMeansPlusPlus, Init::Random, Init::KMeansParallel};
  return parse_enum(s, "init", v);
}
Metric parse_metric(const std::string& s) {
  static constexpr Metric v[] = {Metric::L2, Metric::Cosine, Metric::InnerProduct};
  return parse_enum(s, "metric", v);
}
Precision parse_precision(const std::string& s) {
  static constexpr Precision v[] = {Precision::Exact, Precision::Fast};
  return parse_enum(s, "precision", v);
}
EmptyClusterPolicy parse_empty_policy(const std::string& s) {
  static constexpr EmptyClusterPolicy v[] = {EmptyClusterPolicy::ReseedFarthest, EmptyClusterPolicy::KeepOld};
  return parse_enum(s, "empty-cluster policy", v);
}
const char* to_string(Transport v) noexcept {
  switch (v) {
    case Transport::Auto: return "auto";
    case Transport::Host: return "host";
    case Transport::Nccl: return "nccl";
  }
  return "unknown";
}
Transport parse_transport(const std::string& s) {
  static constexpr Transport v[] = {Transport::Auto, Transport::Host, Transport::Nccl};
  return parse_enum(s, "transport", v);
}
Pruning parse_pruning(const std::string& s) {
  static constexpr Pruning v[] = {Pruning::Off, Pruning::Hamerly};
  return parse_enum(s, "pruning", v);
}
std::int64_t parse_memory_size(const std::string& s) {
  auto bad = [&](const std::string& why) -> std::int64_t {
    throw Error(ErrorCode::InvalidArgument, "memory size '" + s + "' " + why +
                                                "; expected auto, or a number of bytes with an optional suffix K, M, G or T "
                                                "(powers of 1024), e.g. 4G, 512M, 1048576");
  };
  if (s == "auto") return 0;
  std::size_t i = 0;
  bool digits = false, point = false;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || (s[i] == '.' && !point))) {
    if (s[i] == '.') point = true;
    else digits = true;
    ++i;
  }
  if (!digits) return bad("does not start with a number");
  std::string unit = s.substr(i);
  for (auto& ch : unit) ch = char(std::toupper(static_cast<unsigned char>(ch)));
  double scale = 1;
  if (!unit.empty() && std::string("KMGT").find(unit[0]) != std::string::npos) {
    scale = std::ldexp(1.0, 10 * int(1 + std::string("KMGT").find(unit[0])));
    unit = unit.substr(1);
    if (unit == "I" || unit == "IB") unit.clear();
  }
  if (unit == "B") unit.clear();
  if (!unit.empty()) return bad("has an unknown unit");
  const double v = std::strtod(s.substr(0, i).c_str(), nullptr) * scale;
  if (!(v < 9.2e18)) return bad("is too large");
  return std::int64_t(v);
}

BackendKind parse_backend(const std::string& s) {
  static constexpr BackendKind v[] = {BackendKind::Auto, BackendKind::Reference, BackendKind::Cpu,
                                      BackendKind::Cuda, BackendKind::Hip, BackendKind::Kokkos};
  return parse_enum(s, "backend", v);
}

}  // namespace fkm
