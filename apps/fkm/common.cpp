#include "common.hpp"

#include <chrono>
#include <cmath>

namespace fkm::cli {

void check_threads(int threads) {
  if (threads < 0 || threads > kMaxThreads)
    throw Error(ErrorCode::InvalidArgument, "--threads must be between 0 and " + std::to_string(kMaxThreads) + " (got " +
                                                std::to_string(threads) + ")");
}

io::DataMatrix load_data(const DataOptions& o) {
  io::ReadOptions ro;
  ro.u2_as_bf16 = o.dtype == "bf16";
  io::DataMatrix m = io::load_matrix(o.data, ro);
  if (o.dtype == "bf16" && m.file().element_type() != io::ElementType::BF16)
    throw Error(ErrorCode::InvalidData, o.data + ": --dtype bf16 was given but the file stores " + m.file().stored_type() +
                                            " (bfloat16 .npy files store '<u2')");
  return m;
}

std::vector<double> load_centroids(const std::string& path, const char* flag, std::int64_t k, std::int64_t d,
                                   std::int64_t* rows_out) {
  io::DataMatrix m = [&] {
    try {
      return io::load_matrix(path);
    } catch (const Error& e) {
      throw Error(e.code(), std::string(flag) + ": " + e.what());
    }
  }();
  const io::ArrayFile& f = m.file();
  const std::string shape = "(" + std::to_string(f.rows()) + ", " + std::to_string(f.cols()) + ")";
  if (k > 0 && (f.rows() != k || f.cols() != d))
    throw Error(ErrorCode::InvalidData, std::string(flag) + ": " + path + ": shape is " + shape +
                                            " but the centroids must be (k, d) = (" + std::to_string(k) + ", " +
                                            std::to_string(d) + ")");
  if (f.cols() != d)
    throw Error(ErrorCode::InvalidData, std::string(flag) + ": " + path + ": shape is " + shape + ": " +
                                            std::to_string(f.cols()) + " columns, but the data has " + std::to_string(d));
  std::vector<double> c(std::size_t(f.rows() * f.cols()));
  f.read_rows(0, f.rows(), io::ElementType::F64, c.data());
  for (std::size_t i = 0; i < c.size(); ++i)
    if (!std::isfinite(c[i]))
      throw Error(ErrorCode::InvalidData, std::string(flag) + ": " + path + ": non-finite value (NaN or Inf) at row " +
                                              std::to_string(i / std::size_t(d)) + ", column " +
                                              std::to_string(i % std::size_t(d)));
  if (rows_out) *rows_out = f.rows();
  return c;
}

void rethrow_naming_data(const Error& e, const std::string& data_path) {
  std::string msg = e.what();
  if (msg.rfind("data: ", 0) == 0) msg = msg.substr(6);  // the library calls the input "data"
  if (e.code() == ErrorCode::Internal || e.code() == ErrorCode::Unsupported) throw e;
  throw Error(e.code(), data_path + ": " + msg);
}

nlohmann::ordered_json host_threads(const KMeansParams& p, const std::string& backend_name) {
  if (backend_name != "cpu" && backend_name != "reference" && backend_name != "kokkos") return nullptr;
  if (p.num_threads > 0 && backend_name == "cpu") return p.num_threads;
  const auto devices = select_backend(p.backend).devices();
  if (devices.empty()) return nullptr;
  return devices.front().compute_units;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string data_dtype(const io::DataMatrix& m) { return to_string(m.view().dtype); }

}  // namespace fkm::cli
