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
  if (!in_range(p.init, Init::Given)) bad_argument("unknown init value " + std::to_string(int(p.init)));
  if (!in_range(p.metric, Metric::InnerProduct)) bad_argument("unknown metric value " + std::to_string(int(p.metric)));
  if (!in_range(p.precision, Precision::Fast)) bad_argument("unknown precision value " + std::to_string(int(p.precision)));
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

void check_inertia(double inertia, const char* what) {
  if (std::isfinite(inertia)) return;
  bad_data(std::string(what) + ": the distances to the centroids overflow float64 (their sum is " +
           (std::isnan(inertia) ? "NaN" : "infinite") +
           "): values this large cannot be clustered (squared distances beyond about 1e308, e.g. |x| around 1e154); "
           "scale the data down");
}

}  // namespace fkm::detail
