// KMeans: validation, backend choice, then the restarts around the Lloyd loop (restarts.cpp).
#include "fkm/kmeans.hpp"

#include <chrono>
#include <cmath>
#include <memory>
#include <new>
#include <stdexcept>

#include "fkm/backend.hpp"
#include "fkm/error.hpp"
#include "host_memory.hpp"
#include "restarts.hpp"
#include "stopwatch.hpp"
#include "problem_spec.hpp"
#include "validate.hpp"

namespace fkm {
namespace {

std::unique_ptr<Problem> bind_checked(const KMeansParams& p, const MatrixView& x, const VectorView& w,
                                      std::int64_t min_positive, const char* what) {
  const Backend& backend = select_backend(p.backend, x.space);
  auto problem = backend.bind(detail::problem_spec(p, x, w));
  detail::validate_values(*problem, min_positive, what);
  return problem;
}

}  // namespace

KMeans::KMeans(KMeansParams params) : params_(std::move(params)) {}

namespace {
/// A failed host allocation somewhere in op (most are inside a backend, which cannot say which
/// one): name the sizes and the bytes the largest arrays take, computed without overflow.
Error out_of_memory(const char* op, std::int64_t n, std::int64_t d, std::int64_t k) {
  // The fp64 data copy (reference backend) or per-row arrays, and k x d fp64 centroid arrays.
  const double bytes = double(n) * double(d) * 8 + double(n) * 24 + double(k) * double(d) * 8 * 4;
  std::string what = std::string(op) + ": out of host memory for n = " + std::to_string(n) + ", d = " + std::to_string(d) +
                     ", k = " + std::to_string(k);
  if (bytes < 9.2e18) what += " (the largest arrays need up to " + detail::bytes_string(std::int64_t(bytes)) + ")";
  return Error(ErrorCode::OutOfMemory, what);
}

/// Runs f, turning a failed host allocation into fkm::Error(OutOfMemory) naming the operation.
template <class F>
decltype(auto) out_of_memory_as_error(const char* op, std::int64_t n, std::int64_t d, std::int64_t k, F&& f) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    throw out_of_memory(op, n, d, k);
  } catch (const std::length_error&) {  // a std::vector asked for more than max_size()
    throw out_of_memory(op, n, d, k);
  }
}
}  // namespace

const KMeansResult& KMeans::fit(const MatrixView& X, const VectorView& weights) {
  return out_of_memory_as_error("fit", X.rows, X.cols, params_.k, [&]() -> const KMeansResult& { return fit_impl(X, weights); });
}

const KMeansResult& KMeans::fit_impl(const MatrixView& X, const VectorView& weights) {
  const auto t_start = std::chrono::steady_clock::now();
  detail::validate_params(params_);
  detail::validate_data(X, weights, params_.k);
  if (params_.init == Init::Given) detail::validate_given_centroids(params_, X.cols);
  auto problem = bind_checked(params_, X, weights, params_.k, "data");

  // tol = 0 (a fixed number of iterations) needs no pass over the data for the variance.
  const double tol_absolute = params_.tol > 0 ? params_.tol * problem->mean_variance() : 0.0;
  KMeansResult best = detail::run_restarts(*problem, params_, tol_absolute, X.rows);
  best.n = X.rows;
  best.backend = to_string(select_backend(params_.backend, X.space).kind());
  best.device = problem->device_name();
  best.placement = problem->placement();
  best.seconds_total = detail::seconds_since(t_start);
  result_ = std::move(best);
  fitted_ = true;
  return result_;
}

void KMeans::set_centroids(std::vector<double> centroids, std::int64_t k, std::int64_t d) {
  if (k <= 0 || d <= 0 || std::int64_t(centroids.size()) != k * d)
    throw Error(ErrorCode::InvalidArgument, "set_centroids: expected k x d = " + std::to_string(k) + " x " +
                                                std::to_string(d) + " values, got " + std::to_string(centroids.size()));
  for (std::size_t i = 0; i < centroids.size(); ++i)
    if (!std::isfinite(centroids[i]))
      throw Error(ErrorCode::InvalidArgument, "set_centroids: non-finite value at row " + std::to_string(i / d) +
                                                  ", column " + std::to_string(i % d));
  result_ = KMeansResult{};
  result_.k = k;
  result_.d = d;
  result_.centroids = std::move(centroids);
  params_.k = k;
  fitted_ = true;
}

namespace {
void require_fitted(bool fitted, const KMeansResult& r, const MatrixView& X, const char* op) {
  if (!fitted) throw Error(ErrorCode::InvalidArgument, std::string(op) + " called before fit");
  if (X.cols != r.d && X.cols > 0)
    throw Error(ErrorCode::InvalidData, std::string(op) + ": data has " + std::to_string(X.cols) +
                                            " columns but the centroids have " + std::to_string(r.d));
}
}  // namespace

std::vector<std::int32_t> KMeans::predict(const MatrixView& X) const {
  return out_of_memory_as_error("predict", X.rows, X.cols, result_.k, [&] { return predict_impl(X); });
}

std::vector<std::int32_t> KMeans::predict_impl(const MatrixView& X) const {
  require_fitted(fitted_, result_, X, "predict");
  detail::validate_data(X, {}, 0);
  auto problem = bind_checked(params_, X, {}, 0, "data");
  problem->set_centroids(result_.centroids.data(), result_.k);
  detail::check_inertia(problem->assign());
  std::vector<std::int32_t> labels(X.rows);
  problem->get_labels(labels.data());
  return labels;
}

std::vector<double> KMeans::transform(const MatrixView& X) const {
  return out_of_memory_as_error("transform", X.rows, X.cols, result_.k, [&] { return transform_impl(X); });
}

std::vector<double> KMeans::transform_impl(const MatrixView& X) const {
  require_fitted(fitted_, result_, X, "transform");
  detail::validate_data(X, {}, 0);
  const std::int64_t n = X.rows, k = result_.k;
  // The N x K output is the one array of fkm whose size is a product of n and k: refuse what
  // cannot be addressed, and allocate it before any work so a lack of memory fails at once.
  if (detail::checked_product({n, k, std::int64_t(sizeof(double))}) < 0)
    throw Error(ErrorCode::InvalidArgument, "transform: the n x k = " + std::to_string(n) + " x " + std::to_string(k) +
                                                " distance matrix overflows 64-bit byte sizes; call it on fewer rows at a time");
  std::vector<double> out = detail::allocate_host<double>(n * k, "transform: the n x k = " + std::to_string(n) + " x " +
                                                             std::to_string(k) + " distance matrix");
  auto problem = bind_checked(params_, X, {}, 0, "data");
  std::vector<double> column = detail::allocate_host<double>(n, "transform: one column of distances");
  for (std::int64_t j = 0; j < k; ++j) {  // one centroid at a time: no backend needs an N x K path
    problem->set_centroids(result_.centroids.data() + j * result_.d, 1);
    problem->assign();
    problem->get_distances(column.data());
    for (std::int64_t i = 0; i < n; ++i) out[i * k + j] = column[i];
  }
  return out;
}

double KMeans::score(const MatrixView& X, const VectorView& weights) const {
  return out_of_memory_as_error("score", X.rows, X.cols, result_.k, [&] { return score_impl(X, weights); });
}

double KMeans::score_impl(const MatrixView& X, const VectorView& weights) const {
  require_fitted(fitted_, result_, X, "score");
  detail::validate_data(X, weights, 0);
  auto problem = bind_checked(params_, X, weights, 0, "data");
  problem->set_centroids(result_.centroids.data(), result_.k);
  const double inertia = problem->assign();
  detail::check_inertia(inertia);
  return -inertia;
}

KMeansResult fit(const MatrixView& X, const KMeansParams& params, const VectorView& weights) {
  KMeans km(params);
  return km.fit(X, weights);
}

}  // namespace fkm
