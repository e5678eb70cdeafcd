// `fkm bench`: Lloyd iterations on synthetic data for one backend, timed, beside the roofline
// floor of the machine. A quick look at what a machine and a build can do; the side-by-side
// comparisons with other libraries are perf/cpu_suite and perf/peers.py.
//
// Each config: Gaussian blobs (seeded, so every run sees the same data), K given centroids
// (evenly spaced rows), tol = 0, so exactly the asked iterations run. ms/iter is the median of
// the iterations after the first (the first pays for first-touch and caches). The floor is
// max(2 N K D / F, N D bytes / B): F and B are measured here for host backends (FMA chains and a
// streaming read on every thread, host_peaks.cpp); a GPU backend's floor is left to
// perf/peers.py, which measures its matrix and memory rates.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <type_traits>

#include "bench_peaks.hpp"
#include "common.hpp"
#include "outputs.hpp"

namespace fkm::cli {
namespace {

struct BenchConfig {
  const char* name;
  std::int64_t n, d, k;
};

// "smoke" only checks that the command runs (tests); "quick" takes seconds on a laptop; "full"
// holds the CPU suite's shapes, or for GPU backends the GPU suite's (D = 128 unless noted).
const BenchConfig kSmoke[] = {{"n2000_d16_k8", 2000, 16, 8}, {"n999_d37_k33", 999, 37, 33}};
const BenchConfig kQuick[] = {{"n100k_d64_k256", 100000, 64, 256}, {"n20k_d512_k128", 20000, 512, 128},
                              {"n200k_d32_k8", 200000, 32, 8}};
const BenchConfig kFullHost[] = {{"n200k_d128_k1024", 200000, 128, 1024}, {"n60k_d784_k256", 60000, 784, 256},
                                 {"n1m_d64_k256", 1000000, 64, 256}};
const BenchConfig kFullGpu[] = {{"n1m_k1024", 1 << 20, 128, 1024},   {"n1m_k16", 1 << 20, 128, 16},
                                {"n1m_k65536", 1 << 20, 128, 65536}, {"n8m_k1024", 8 << 20, 128, 1024},
                                {"n1m_d768_k1024", 1 << 20, 768, 1024}};

template <class T>
T stored(float v) {
  if constexpr (std::is_same_v<T, half>) return to_half(v);
  else if constexpr (std::is_same_v<T, bfloat16>) return to_bfloat16(v);
  else return T(v);
}
template <class T>
double widened(T v) {
  if constexpr (std::is_same_v<T, half> || std::is_same_v<T, bfloat16>) return to_float(v);
  else return double(v);
}

/// Blobs: k2 = min(k, 64) centres uniform in [-10, 10]^d, unit noise; values stored as `T`.
template <class T>
std::vector<T> blobs(std::int64_t n, std::int64_t d, std::int64_t k) {
  std::mt19937_64 gen(12345);
  std::uniform_real_distribution<float> centre(-10.f, 10.f);
  std::normal_distribution<float> noise(0.f, 1.f);
  const std::int64_t k2 = std::max<std::int64_t>(1, std::min<std::int64_t>(k, 64));
  std::vector<float> centres(std::size_t(k2 * d));
  for (auto& c : centres) c = centre(gen);
  std::vector<T> x(std::size_t(n * d));
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t f = 0; f < d; ++f) x[std::size_t(i * d + f)] = stored<T>(centres[std::size_t((i % k2) * d + f)] + noise(gen));
  return x;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

struct Outcome {
  double ms_per_iter = 0, inertia = 0;
  int iterations = 0;
  std::string backend, device;
};

template <class T>
Outcome run_config(const BenchConfig& c, const KMeansParams& base, int iters) {
  const std::vector<T> x = blobs<T>(c.n, c.d, c.k);
  std::vector<double> init(std::size_t(c.k * c.d));
  for (std::int64_t j = 0; j < c.k; ++j) {  // evenly spaced rows: distinct, spread over the blobs
    const std::int64_t row = j * (c.n / c.k);
    for (std::int64_t f = 0; f < c.d; ++f) init[std::size_t(j * c.d + f)] = widened(x[std::size_t(row * c.d + f)]);
  }
  KMeansParams p = base;
  p.k = c.k;
  p.init = Init::Given;
  p.initial_centroids = host_view(init.data(), c.k, c.d);
  p.max_iter = iters;
  p.tol = 0;
  p.on_iteration = [](int, int, const IterationRecord&) { return interrupt_signal() == 0; };
  const KMeansResult r = fkm::fit(host_view(x.data(), c.n, c.d), p);
  std::vector<double> ms;
  for (std::size_t i = 1; i < r.history.size(); ++i) ms.push_back(1e3 * r.history[i].seconds);
  if (ms.empty() && !r.history.empty()) ms.push_back(1e3 * r.history[0].seconds);
  return {median(ms), r.inertia, r.n_iter, r.backend, r.device};
}

const char* dtype_name(const std::string& d) { return d == "f16" ? "float16" : d == "bf16" ? "bfloat16" : d == "f64" ? "float64" : "float32"; }
std::int64_t dtype_bytes(const std::string& d) { return d == "f64" ? 8 : d == "f32" ? 4 : 2; }

}  // namespace

void run_bench(const BenchOptions& o) {
  check_threads(o.threads);
  if (o.iters < 2) throw Error(ErrorCode::InvalidArgument, "--iters must be at least 2 (got " + std::to_string(o.iters) + ")");
  KMeansParams p;
  p.backend = parse_backend(o.backend);
  p.precision = parse_precision(o.precision);
  p.num_threads = o.threads;
  const Backend& backend = select_backend(p.backend);
  const bool host = backend.kind() == BackendKind::Cpu || backend.kind() == BackendKind::Reference ||
                    (backend.kind() == BackendKind::Kokkos && backend.accepts(MemorySpace::Host) &&
                     !backend.accepts(MemorySpace::Device));
  const BenchConfig* first = std::begin(kFullGpu);
  const BenchConfig* last = std::end(kFullGpu);
  if (o.suite == "smoke") first = std::begin(kSmoke), last = std::end(kSmoke);
  else if (o.suite == "quick") first = std::begin(kQuick), last = std::end(kQuick);
  else if (host) first = std::begin(kFullHost), last = std::end(kFullHost);

  StagedOutputs outputs;
  stop_at_iteration_boundaries();
  io::OutputFile* json_file = outputs.add(o.json, "--json");
  const HostPeaks peaks = host ? measure_host_peaks(o.threads) : HostPeaks{};
  if (!o.quiet) {
    std::fprintf(stderr, "fkm bench: suite %s, backend %s (%s), %s, %d iterations a config\n", o.suite.c_str(),
                 to_string(backend.kind()), backend.devices().empty() ? "no device" : backend.devices().front().name.c_str(),
                 dtype_name(o.dtype), o.iters);
    if (host)
      std::fprintf(stderr, "measured here: %.0f GFLOP/s (FMA, %s), %.1f GB/s (read)\n", peaks.flops * 1e-9,
                   peaks.isa.c_str(), peaks.bytes_per_second * 1e-9);
  }
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const BenchConfig* it = first; it != last; ++it) {
    const BenchConfig& c = *it;
    throw_if_interrupted("before config " + std::string(c.name));
    Outcome r;
    if (o.dtype == "f16") r = run_config<half>(c, p, o.iters);
    else if (o.dtype == "bf16") r = run_config<bfloat16>(c, p, o.iters);
    else if (o.dtype == "f64") r = run_config<double>(c, p, o.iters);
    else r = run_config<float>(c, p, o.iters);
    const double flop = 2.0 * double(c.n) * double(c.k) * double(c.d), bytes = double(c.n * c.d * dtype_bytes(o.dtype));
    const double s = r.ms_per_iter * 1e-3;
    const double floor_ms = host ? 1e3 * std::max(flop / peaks.flops, bytes / peaks.bytes_per_second) : 0.0;
    nlohmann::ordered_json row;
    row["config"] = c.name;
    row["n"] = c.n;
    row["d"] = c.d;
    row["k"] = c.k;
    row["ms_per_iter"] = r.ms_per_iter;
    row["gflops"] = s > 0 ? flop / s * 1e-9 : 0.0;
    row["gbytes_per_s"] = s > 0 ? bytes / s * 1e-9 : 0.0;
    row["floor_ms"] = host ? nlohmann::ordered_json(floor_ms) : nlohmann::ordered_json(nullptr);
    row["over_floor"] = host && floor_ms > 0 ? nlohmann::ordered_json(r.ms_per_iter / floor_ms) : nlohmann::ordered_json(nullptr);
    row["iterations"] = r.iterations;
    row["inertia"] = r.inertia;
    if (!o.quiet) {
      char floor_text[64] = "floor n/a (GPU: perf/peers.py)";
      if (host) std::snprintf(floor_text, sizeof floor_text, "floor %.3f ms (x%.2f)", floor_ms, r.ms_per_iter / floor_ms);
      std::fprintf(stderr, "  %-18s %9.3f ms/iter  %8.1f GFLOP/s  %7.1f GB/s  %s\n", c.name, r.ms_per_iter,
                   row["gflops"].get<double>(), row["gbytes_per_s"].get<double>(), floor_text);
    }
    rows.push_back(std::move(row));
  }
  nlohmann::ordered_json j;
  j["command"] = "bench";
  j["fkm_version"] = version();
  j["suite"] = o.suite;
  j["backend"] = to_string(backend.kind());
  j["device"] = backend.devices().empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(backend.devices().front().name);
  j["dtype"] = dtype_name(o.dtype);
  j["precision"] = o.precision;
  j["iterations_per_config"] = o.iters;
  if (host) j["measured"] = {{"fma_gflops", peaks.flops * 1e-9}, {"isa", peaks.isa}, {"read_gbytes_per_s", peaks.bytes_per_second * 1e-9}};
  j["configs"] = std::move(rows);
  const std::string text = j.dump(2) + "\n";
  if (json_file) write_text(json_file, o.json, text);
  if (o.json == "-") write_text(nullptr, "-", text);
  outputs.commit_all();
}

}  // namespace fkm::cli
