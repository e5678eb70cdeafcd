#include "common.hpp"

#include <chrono>
#include <cmath>

namespace fkm::cli {

void check_threads(int threads) {
  if (threads < 0 || threads > kMaxThreads)
    throw Error(ErrorCode::InvalidArgument, "--threads must be between 0 and " + std::to_string(kMaxThreads) + " (got " +
                                                std::to_string(threads) + ")");
}

void set_device_memory(const DataOptions& o, KMeansParams& p) {
  try {
    p.max_device_bytes = parse_memory_size(o.max_device_memory);
  } catch (const Error& e) {
    throw Error(ErrorCode::InvalidArgument, std::string("--max-device-memory: ") + e.what());
  }
  if (o.stream_chunk_rows < 0)
    throw Error(ErrorCode::InvalidArgument,
                "--stream-chunk-rows must be >= 0 (got " + std::to_string(o.stream_chunk_rows) + "); 0 streams only when needed");
  p.stream_chunk_rows = o.stream_chunk_rows;
}

namespace {

io::ReadOptions read_options(const DataOptions& o) {
  io::ReadOptions ro;
  ro.u2_as_bf16 = o.dtype == "bf16";
  return ro;
}

void check_dtype_flag(const DataOptions& o, const io::ArrayFile& f) {
  if (o.dtype == "bf16" && f.element_type() != io::ElementType::BF16)
    throw Error(ErrorCode::InvalidData, o.data + ": --dtype bf16 was given but the file stores " + f.stored_type() +
                                            " (bfloat16 .npy files store '<u2')");
}

/// f(), its fkm::Error prefixed with the flag whose file it reads.
template <class F>
auto for_flag(const char* flag, F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    throw Error(e.code(), std::string(flag) + ": " + e.what());
  }
}

/// Every value finite; `rows` rows of `d` values per matrix (the problem named when `batch`).
void check_finite(const char* flag, const std::string& path, const std::vector<double>& c, std::int64_t rows,
                  std::int64_t d, bool batch) {
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (std::isfinite(c[i])) continue;
    const std::int64_t row = std::int64_t(i) / d, col = std::int64_t(i) % d;
    throw Error(ErrorCode::InvalidData, std::string(flag) + ": " + path + ": non-finite value (NaN or Inf) at " +
                                            (batch ? "problem " + std::to_string(row / rows) + ", " : std::string()) +
                                            "row " + std::to_string(batch ? row % rows : row) + ", column " +
                                            std::to_string(col));
  }
}

/// Every value of a floating-point file as fp64, all its rows.
std::vector<double> read_all(const io::ArrayFile& f) {
  std::vector<double> c(std::size_t(f.rows() * f.cols()));
  f.read_rows(0, f.rows(), io::ElementType::F64, c.data());
  return c;
}

}  // namespace

io::DataMatrix load_data(const DataOptions& o) {
  io::DataMatrix m = io::load_matrix(o.data, read_options(o));
  check_dtype_flag(o, m.file());
  return m;
}

bool is_batch_file(const DataOptions& o) {
  try {
    return io::ArrayFile::open(o.data, read_options(o)).shape().size() == 3;
  } catch (const Error&) {
    return false;
  }
}

io::DataBatch load_batch_data(const DataOptions& o) {
  io::DataBatch b = io::load_batch(o.data, read_options(o));
  check_dtype_flag(o, b.file());
  return b;
}

std::vector<double> load_centroids(const std::string& path, const char* flag, std::int64_t k, std::int64_t d,
                                   std::int64_t* rows_out) {
  const io::ArrayFile file = for_flag(flag, [&] { return io::ArrayFile::open(path); });
  if (file.shape().size() == 3)
    throw Error(ErrorCode::InvalidData, std::string(flag) + ": " + path + ": shape is " + shape_string(file.shape()) +
                                            ": a batch of centroids (problems, k, d), but the data is one problem (2-D)");
  const io::DataMatrix m = for_flag(flag, [&] { return io::load_matrix(file); });
  const io::ArrayFile& f = m.file();
  const std::string shape = "(" + std::to_string(f.rows()) + ", " + std::to_string(f.cols()) + ")";
  if (k > 0 && (f.rows() != k || f.cols() != d))
    throw Error(ErrorCode::InvalidData, std::string(flag) + ": " + path + ": shape is " + shape +
                                            " but the centroids must be (k, d) = (" + std::to_string(k) + ", " +
                                            std::to_string(d) + ")");
  if (f.cols() != d)
    throw Error(ErrorCode::InvalidData, std::string(flag) + ": " + path + ": shape is " + shape + ": " +
                                            std::to_string(f.cols()) + " columns, but the data has " + std::to_string(d));
  std::vector<double> c = read_all(f);
  check_finite(flag, path, c, f.rows(), d, false);
  if (rows_out) *rows_out = f.rows();
  return c;
}

BatchCentroids load_batch_centroids(const std::string& path, const char* flag, std::int64_t problems, std::int64_t k,
                                    std::int64_t d) {
  BatchCentroids c;
  const io::ArrayFile file = for_flag(flag, [&] { return io::ArrayFile::open(path); });
  if (file.shape().size() != 3) {  // one K x D matrix (or a file load_centroids refuses, with its reason)
    c.values = load_centroids(path, flag, k, d, &c.k);
    c.shared = true;
    return c;
  }
  const io::DataBatch b = for_flag(flag, [&] { return io::load_batch(file); });
  const BatchedMatrixView v = b.view();
  if (v.problems != problems || (k > 0 && v.rows != k) || v.cols != d)
    throw Error(ErrorCode::InvalidData, std::string(flag) + ": " + path + ": shape is " + shape_string(b.file().shape()) +
                                            " but the centroids must be (problems, k, d) = (" + std::to_string(problems) +
                                            ", " + (k > 0 ? std::to_string(k) : std::string("k")) + ", " +
                                            std::to_string(d) + ")");
  c.values = read_all(b.file());
  c.k = v.rows;
  check_finite(flag, path, c.values, v.rows, d, true);
  return c;
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
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
