// Batched k-means (fkm/batched.hpp): B independent problems, each through the single-problem
// fit. The loop is Backend::fit_batch's default, so that a GPU backend can replace it by one
// launch per phase over all problems without changing the API or the contract.
#include "fkm/batched.hpp"

#include <algorithm>
#include <new>
#include <stdexcept>
#include <string>

#include "fkm/backend.hpp"
#include "fkm/error.hpp"
#include "host_memory.hpp"
#include "problem_spec.hpp"
#include "validate.hpp"

namespace fkm {
namespace {

/// `op` over a batch: a failed host allocation outside a problem's own fit (which names its
/// sizes itself) becomes Error(OutOfMemory), as inside KMeans: binding a problem to check its
/// values, or the results of a huge batch.
template <class F>
decltype(auto) batch_memory_as_error(const char* op, std::int64_t problems, std::int64_t rows, std::int64_t cols,
                                     F&& f) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
  } catch (const std::length_error&) {
  }
  throw Error(ErrorCode::OutOfMemory, std::string(op) + ": out of host memory for a batch of " +
                                          std::to_string(problems) + " problems of " + std::to_string(rows) + " x " +
                                          std::to_string(cols) + " (one problem's working set and every result)");
}

/// Every problem's values, checked by `backend` where they live (NaN/Inf, bad weights, fewer than
/// k points of positive weight) before any problem is fitted: a bad problem fails at once, not
/// after the problems before it. One bound problem at a time, as the fit.
void check_every_problem(const Backend& backend, const BatchedMatrixView& x, const KMeansParams& params,
                         const BatchedVectorView& weights) {
  for (std::int64_t b = 0; b < x.problems; ++b) {
    try {
      detail::validate_values(*backend.bind(detail::problem_spec(params, x.problem(b), weights.problem(b))), params.k);
    } catch (const Error& e) {
      throw detail::in_problem(e, b);
    }
  }
}

}  // namespace

std::vector<KMeansResult> Backend::fit_batch(const BatchedMatrixView& x, const KMeansParams& params,
                                             const BatchedFitOptions& options) const {
  check_every_problem(*this, x, params, options.weights);
  std::vector<KMeansResult> results;
  for (std::int64_t b = 0; b < x.problems; ++b) {
    // Exactly what a fit of problem b alone is given, on this backend (Auto already resolved).
    KMeansParams one = params;
    one.backend = kind();
    if (options.initial_centroids.data != nullptr) one.initial_centroids = options.initial_centroids.problem(b);
    if (options.on_iteration) {
      one.on_iteration = [&params, &options, b](int run, int iter, const IterationRecord& rec) {
        const bool go_on = !params.on_iteration || params.on_iteration(run, iter, rec);
        return options.on_iteration(b, run, iter, rec) && go_on;
      };
    }
    try {
      // One KMeans at a time: its bound Problem (the working set) is freed before the next.
      results.push_back(fit(x.problem(b), one, options.weights.problem(b)));
    } catch (const Error& e) {
      throw detail::in_problem(e, b);
    }
  }
  return results;
}

std::vector<KMeansResult> fit_batched(const BatchedMatrixView& X, const KMeansParams& params,
                                      const BatchedFitOptions& options) {
  detail::validate_params(params);
  detail::validate_batch(X, options, params);
  const Backend& backend = select_backend(params.backend, X.space);
  return batch_memory_as_error("fit_batched", X.problems, X.rows, X.cols,
                               [&] { return backend.fit_batch(X, params, options); });
}

// ---- BatchedKMeans ----------------------------------------------------------------------------

BatchedKMeans::BatchedKMeans(KMeansParams params) : params_(std::move(params)) {}

const std::vector<KMeansResult>& BatchedKMeans::fit(const BatchedMatrixView& X, const BatchedFitOptions& options) {
  auto results = fit_batched(X, params_, options);
  results_ = std::move(results);  // a failed fit keeps the previous models
  fitted_ = true;
  return results_;
}

void BatchedKMeans::set_centroids(const std::vector<double>& centroids, std::int64_t problems, std::int64_t k,
                                  std::int64_t d) {
  const std::int64_t per_problem = detail::checked_product({k, d});
  if (problems <= 0 || k <= 0 || d <= 0 || per_problem < 0 || detail::checked_product({problems, per_problem}) < 0 ||
      std::int64_t(centroids.size()) != problems * per_problem)
    throw Error(ErrorCode::InvalidArgument, "set_centroids: expected problems x k x d = " + std::to_string(problems) +
                                                " x " + std::to_string(k) + " x " + std::to_string(d) + " values, got " +
                                                std::to_string(centroids.size()));
  std::vector<KMeansResult> models = batch_memory_as_error("set_centroids", problems, k, d, [&] {
    std::vector<KMeansResult> out(static_cast<std::size_t>(problems));
    for (std::int64_t b = 0; b < problems; ++b) {
      KMeans one(params_);
      try {  // the single-problem checks (finite values), naming the problem
        one.set_centroids(std::vector<double>(centroids.begin() + b * per_problem, centroids.begin() + (b + 1) * per_problem),
                          k, d);
      } catch (const Error& e) {
        throw detail::in_problem(e, b);
      }
      out[std::size_t(b)] = one.result();
    }
    return out;
  });
  results_ = std::move(models);
  params_.k = k;
  fitted_ = true;
}

void BatchedKMeans::require_fitted(const BatchedMatrixView& X, const char* op) const {
  if (!fitted_) throw Error(ErrorCode::InvalidArgument, std::string(op) + " called before fit");
  if (X.problems != std::int64_t(results_.size()))
    throw Error(ErrorCode::InvalidData, std::string(op) + ": data holds " + std::to_string(X.problems) +
                                            " problems but there are " + std::to_string(results_.size()) + " models");
  if (X.cols != results_.front().d)
    throw Error(ErrorCode::InvalidData, std::string(op) + ": data has " + std::to_string(X.cols) +
                                            " columns but the centroids have " + std::to_string(results_.front().d));
}

KMeans BatchedKMeans::model(std::int64_t b) const {
  const KMeansResult& r = results_[std::size_t(b)];
  KMeans one(params_);
  one.set_centroids(r.centroids, r.k, r.d);
  return one;
}

std::vector<std::int32_t> BatchedKMeans::predict(const BatchedMatrixView& X) const {
  require_fitted(X, "predict");
  detail::validate_batch_data(X, {}, 0);
  std::vector<std::int32_t> labels = detail::allocate_host<std::int32_t>(
      X.problems * X.rows, "predict: the " + std::to_string(X.problems) + " x " + std::to_string(X.rows) + " labels");
  for (std::int64_t b = 0; b < X.problems; ++b) {
    try {
      const std::vector<std::int32_t> mine = model(b).predict(X.problem(b));  // one problem's labels at a time
      std::copy(mine.begin(), mine.end(), labels.begin() + b * X.rows);
    } catch (const Error& e) {
      throw detail::in_problem(e, b);
    }
  }
  return labels;
}

std::vector<double> BatchedKMeans::score(const BatchedMatrixView& X, const BatchedVectorView& weights) const {
  require_fitted(X, "score");
  detail::validate_batch_data(X, weights, 0);
  std::vector<double> scores =
      detail::allocate_host<double>(X.problems, "score: " + std::to_string(X.problems) + " scores");
  for (std::int64_t b = 0; b < X.problems; ++b) {
    try {
      scores[std::size_t(b)] = model(b).score(X.problem(b), weights.problem(b));
    } catch (const Error& e) {
      throw detail::in_problem(e, b);
    }
  }
  return scores;
}

}  // namespace fkm
