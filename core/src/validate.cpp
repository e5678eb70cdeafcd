#include "validate.hpp"

#include <cmath>
#include <string>

#include "convert.hpp"
#include "host_memory.hpp"
#include "fkm/error.hpp"

namespace fkm::detail {
namespace {

[[noreturn]] void bad_argument(const std::string& msg) { throw Error(ErrorCode::InvalidArgument, msg); }
[[noreturn]] void bad_data(const std::string& msg) { throw Error(ErrorCode::InvalidData, msg); }

bool known_dtype(DType t) { return t == DType::F16 || t == DType::BF16 || t == DType::F32 || t == DType::F64; }

template <class E>
bool in_range(E v, E last) {
  return static_cast<int>(v) >= 0 && static_cast<int>(v) <= static_cast<int>(last);
}

}  // namespace

void validate_params(const KMeansParams& p) {
  if (p.k <= 0) bad_argument("k must be at least 1 (got " + std::to_string(p.k) + ")");
  if (p.k > INT32_MAX) bad_argument("k must be below 2^31 (got " + std::to_string(p.k) + "): labels are int32");
  if (p.n_init < 1) bad_argument("n_init must be at least 1 (got " + std::to_string(p.n_init) + ")");
  if (p.max_iter < 1) bad_argument("max_iter must be at least 1 (got " + std::to_string(p.max_iter) + ")");
  if (!std::isfinite(p.tol) || p.tol < 0) bad_argument("tol must be finite and >= 0 (got " + std::to_string(p.tol) + ")");
  if (p.num_threads < 0 || p.num_threads > kMaxThreads)
    bad_argument("num_threads must be between 0 and " + std::to_string(kMaxThreads) + " (got " +
                 std::to_string(p.num_threads) + ")");
  if (p.kmeans_parallel_rounds < 1)
    bad_argument("kmeans_parallel_rounds must be at least 1 (got " + std::to_string(p.kmeans_parallel_rounds) + ")");
  if (!(p.kmeans_parallel_oversampling > 0) || !std::isfinite(p.kmeans_parallel_oversampling))
    bad_argument("kmeans_parallel_oversampling must be finite and > 0");
  if (p.max_device_bytes < 0) bad_argument("max_device_bytes must be >= 0");
  if (p.stream_chunk_rows < 0) bad_argument("stream_chunk_rows must be >= 0");
  if (!in_range(p.init, Init::Given)) bad_argument("unknown init value " + std::to_string(int(p.init)));
  if (!in_range(p.metric, Metric::InnerProduct)) bad_argument("unknown metric value " + std::to_string(int(p.metric)));
  if (!in_range(p.precision, Precision::Fast)) bad_argument("unknown precision value " + std::to_string(int(p.precision)));
  if (!in_range(p.pruning, Pruning::Hamerly)) bad_argument("unknown pruning value " + std::to_string(int(p.pruning)));
  if (!in_range(p.empty_clusters, EmptyClusterPolicy::KeepOld))
    bad_argument("unknown empty-cluster policy value " + std::to_string(int(p.empty_clusters)));
  if (!in_range(p.backend, BackendKind::Kokkos)) bad_argument("unknown backend value " + std::to_string(int(p.backend)));
}

void validate_data(const MatrixView& x, const VectorView& w, std::int64_t k, const char* what) {
  const std::string name(what);
  if (!known_dtype(x.dtype)) bad_data(name + ": unknown dtype value " + std::to_string(int(x.dtype)));
  if (x.rows <= 0) bad_data(name + " is empty: it has " + std::to_string(x.rows) + " rows");
  if (x.cols <= 0) bad_data(name + " is empty: it has " + std::to_string(x.cols) + " columns");
  if (x.row_stride < x.cols)
    bad_data(name + ": row_stride " + std::to_string(x.row_stride) + " is smaller than the number of columns " +
             std::to_string(x.cols));
  if (x.data == nullptr) bad_data(name + ": null data pointer");
  // Elements are addressed with 64-bit indices, and backends keep an fp64 copy or fp64 rows:
  // refuse, before any allocation, sizes whose byte count would not fit in 63 bits.
  if (checked_product({x.rows, x.row_stride, std::int64_t(size_of(x.dtype))}) < 0 ||
      checked_product({x.rows, x.cols, std::int64_t(sizeof(double))}) < 0)
    bad_data(name + " is too large: " + std::to_string(x.rows) + " x " + std::to_string(x.cols) +
             " elements (as float64) overflow 64-bit byte sizes");
  if (k > 0 && checked_product({k, x.cols, std::int64_t(sizeof(double))}) < 0)
    bad_argument("k x d = " + std::to_string(k) + " x " + std::to_string(x.cols) +
                 " centroids (as float64) overflow 64-bit byte sizes");
  if (k > x.rows)
    bad_argument("k = " + std::to_string(k) + " is larger than the number of points (" + std::to_string(x.rows) + ")");
  if (w.data != nullptr || w.size != 0) {
    if (w.data == nullptr) bad_data("weights: null data pointer with size " + std::to_string(w.size));
    if (w.dtype != DType::F32 && w.dtype != DType::F64)
      bad_data(std::string("weights must be float32 or float64 (got ") + to_string(w.dtype) + ")");
    if (w.size != x.rows)
      bad_data("weights have " + std::to_string(w.size) + " values but " + name + " has " + std::to_string(x.rows) + " rows");
    if (w.space != x.space) bad_data("weights and " + name + " must be in the same memory space");
  }
}

void validate_given_centroids(const KMeansParams& p, std::int64_t d) {
  const MatrixView& c = p.initial_centroids;
  if (c.data == nullptr) bad_argument("init is 'given' but no initial centroids were provided");
  if (c.space != MemorySpace::Host) bad_argument("initial centroids must be in host memory");
  if (!known_dtype(c.dtype)) bad_argument("initial centroids: unknown dtype value " + std::to_string(int(c.dtype)));
  if (c.rows != p.k || c.cols != d)
    bad_argument("initial centroids have shape (" + std::to_string(c.rows) + ", " + std::to_string(c.cols) +
                 ") but (k, d) = (" + std::to_string(p.k) + ", " + std::to_string(d) + ")");
  if (c.row_stride < c.cols) bad_argument("initial centroids: row_stride is smaller than the number of columns");
  for (std::int64_t i = 0; i < c.rows; ++i)
    for (std::int64_t j = 0; j < c.cols; ++j)
      if (!std::isfinite(element_as<double>(c.data, c.dtype, i * c.row_stride + j)))
        bad_argument("initial centroids: non-finite value at row " + std::to_string(i) + ", column " + std::to_string(j));
}

void validate_values(const Problem& problem, std::int64_t k, const char* what) {
  const ValueCheck v = problem.check_values();
  if (v.bad_row >= 0) {
    if (v.in_weights)
      bad_data("weights: value at row " + std::to_string(v.bad_row) + " is negative, NaN or infinite");
    bad_data(std::string(what) + ": non-finite value (NaN or Inf) at row " + std::to_string(v.bad_row) + ", column " +
             std::to_string(v.bad_col));
  }
  const double total = problem.total_weight();
  if (!(total > 0) || !std::isfinite(total))
    bad_data("weights: the total weight must be positive and finite (got " + std::to_string(total) + ")");
  if (v.positive_weights < k)
    bad_argument("k = " + std::to_string(k) + " is larger than the number of points with positive weight (" +
                 std::to_string(v.positive_weights) + ")");
}

namespace {

bool given(const BatchedVectorView& w) { return w.data != nullptr || w.size != 0 || w.problems != 0; }
bool given(const BatchedMatrixView& c) { return c.data != nullptr || c.problems != 0 || c.rows != 0 || c.cols != 0; }

/// Byte offset one past the last element of a batch, or -1 when it does not fit in 63 bits.
std::int64_t batch_extent_bytes(const BatchedMatrixView& x) {
  const std::int64_t to_last_problem = checked_product({x.problems - 1, x.batch_stride});
  const std::int64_t to_last_row = checked_product({x.rows - 1, x.row_stride});
  std::int64_t elements = 0;
  if (to_last_problem < 0 || to_last_row < 0 || __builtin_add_overflow(to_last_problem, to_last_row, &elements) ||
      __builtin_add_overflow(elements, x.cols, &elements))
    return -1;
  return checked_product({elements, std::int64_t(size_of(x.dtype))});
}

std::string shape3(std::int64_t a, std::int64_t b, std::int64_t c) {
  return "(" + std::to_string(a) + ", " + std::to_string(b) + ", " + std::to_string(c) + ")";
}

}  // namespace

void validate_batch_data(const BatchedMatrixView& x, const BatchedVectorView& w, std::int64_t k) {
  if (x.problems <= 0) bad_data("data is empty: the batch has " + std::to_string(x.problems) + " problems");
  if (x.batch_stride < 0) bad_data("data: batch_stride " + std::to_string(x.batch_stride) + " is negative");
  validate_data(x.problem(0), {}, 0);  // every problem has the shape of the first
  if (batch_extent_bytes(x) < 0 || checked_product({x.problems, x.rows, std::int64_t(sizeof(std::int32_t))}) < 0)
    bad_data("data is too large: a batch of " + shape3(x.problems, x.rows, x.cols) +
             " elements overflows 64-bit byte sizes");
  if (k > x.rows)
    bad_argument("k = " + std::to_string(k) + " is larger than the number of points per problem (" +
                 std::to_string(x.rows) + ")");
  if (given(w)) {
    if (w.data == nullptr) bad_data("weights: null data pointer for " + std::to_string(w.problems) + " problems");
    if (w.problems != x.problems)
      bad_data("weights hold " + std::to_string(w.problems) + " problems but data holds " + std::to_string(x.problems));
    if (w.batch_stride < 0) bad_data("weights: batch_stride " + std::to_string(w.batch_stride) + " is negative");
    // The weights as a batch of 1 x size matrices, for the same extent check as the data's.
    const BatchedMatrixView as_rows{w.data, w.problems, 1, w.size, w.size, w.batch_stride, w.dtype, w.space, w.device};
    if (batch_extent_bytes(as_rows) < 0) bad_data("weights: the batch overflows 64-bit byte sizes");
  }
  validate_data(x.problem(0), w.problem(0), k);
}

void validate_batch(const BatchedMatrixView& x, const BatchedFitOptions& options, const KMeansParams& p) {
  validate_batch_data(x, options.weights, p.k);
  const BatchedMatrixView& c = options.initial_centroids;
  if (!given(c)) {
    if (p.init == Init::Given) validate_given_centroids(p, x.cols);
    return;
  }
  if (p.init != Init::Given)
    bad_argument(std::string("per-problem initial centroids are given but init is '") + to_string(p.init) +
                 "', not 'given'");
  if (p.initial_centroids.data != nullptr)
    bad_argument("both params.initial_centroids and per-problem initial centroids are given; pass one of them");
  if (c.problems != x.problems || c.rows != p.k || c.cols != x.cols)
    bad_argument("initial centroids have shape " + shape3(c.problems, c.rows, c.cols) + " but (problems, k, d) = " +
                 shape3(x.problems, p.k, x.cols));
  if (c.batch_stride < 0 || c.row_stride < c.cols || batch_extent_bytes(c) < 0)
    bad_argument("initial centroids: batch_stride " + std::to_string(c.batch_stride) + " and row_stride " +
                 std::to_string(c.row_stride) + " must be >= 0 and >= d, and address at most 2^63 bytes");
  KMeansParams one = p;  // each problem's centroids are checked as a fit of that problem checks them
  for (std::int64_t b = 0; b < c.problems; ++b) {
    one.initial_centroids = c.problem(b);
    try {
      validate_given_centroids(one, x.cols);
    } catch (const Error& e) {
      throw in_problem(e, b);
    }
  }
}

Error in_problem(const Error& e, std::int64_t b) {
  std::string msg = e.what();
  if (msg.rfind("data: ", 0) == 0) msg.erase(0, 6);
  return Error(e.code(), "problem " + std::to_string(b) + ": " + msg);
}

void check_inertia(double inertia, const char* what) {
  if (std::isfinite(inertia)) return;
  bad_data(std::string(what) + ": the distances to the centroids overflow float64 (their sum is " +
           (std::isnan(inertia) ? "NaN" : "infinite") +
           "): values this large cannot be clustered (squared distances beyond about 1e308, e.g. |x| around 1e154); "
           "scale the data down");
}

}  // namespace fkm::detail
