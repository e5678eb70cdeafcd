// Batched k-means: B independent problems of the same shape, a (B, N, D) array, in one call
// (the Flash-KMeans paper's batched mode, e.g. B = 32 problems of N = 74256 points, D = 128).
//
// The contract, on every backend: problem b's result is bitwise identical to fitting problem b
// alone, fkm::fit(X.problem(b), params_b, weights.problem(b)), where params_b is `params` with
// initial_centroids = initial_centroids.problem(b) when per-problem initial centroids are given.
// Every problem uses the same params.seed: the problems are independent, and a problem's
// result does not depend on its place in the batch or on the other problems. "Identical" covers
// every field of KMeansResult except the timings (seconds_*, IterationRecord::seconds).
//
// Problems run one after another by default, one problem's working set in memory at a time
// (Backend::fit_batch, the seam a GPU backend overrides to run one launch per phase).
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "fkm/kmeans.hpp"
#include "fkm/params.hpp"
#include "fkm/view.hpp"

namespace fkm {

/// KMeansParams::on_iteration's arguments, plus which problem of the batch (0-based) ran the
/// iteration. Return false to stop the fit: fit_batched then throws Error(Interrupted).
using BatchedIterationCallback =
    std::function<bool(std::int64_t problem, int init_run, int iteration, const IterationRecord& rec)>;

/// The optional per-problem inputs of a batched fit. Every member defaults to "none".
struct BatchedFitOptions {
  /// (B, N) sample weights (fp32 or fp64, finite, >= 0), in the data's memory space. Empty: weight 1.
  BatchedVectorView weights;
  /// (B, K, D) initial centroids, host memory, any dtype: problem b starts from its own K x D
  /// matrix. Only with Init::Given, and then params.initial_centroids must be empty. Empty: with
  /// Init::Given every problem starts from params.initial_centroids (K x D).
  BatchedMatrixView initial_centroids;
  /// Called after every Lloyd iteration of every problem (params.on_iteration, if set, is called
  /// too, as in a fit of the problem alone). Default: none.
  BatchedIterationCallback on_iteration;
};

/// Fits the B problems of X (B x N x D, host or device memory as for fit) with the same params;
/// returns B results, result b for problem b. Throws fkm::Error; an error about one problem
/// (NaN/Inf, a bad weight, too few points of positive weight, its initial centroids) starts with
/// "problem b: ". Every problem's values are checked before any problem is fitted.
std::vector<KMeansResult> fit_batched(const BatchedMatrixView& X, const KMeansParams& params,
                                      const BatchedFitOptions& options = {});

/// KMeans for a batch: one fitted model per problem.
class BatchedKMeans {
 public:
  explicit BatchedKMeans(KMeansParams params = {});

  /// fit_batched(X, params, options); keeps the results.
  const std::vector<KMeansResult>& fit(const BatchedMatrixView& X, const BatchedFitOptions& options = {});
  /// (B, N) labels, row-major: row b holds problem b's labels against model b. X must have as many
  /// problems as there are models and their number of columns.
  std::vector<std::int32_t> predict(const BatchedMatrixView& X) const;
  /// B scores: the opposite of each problem's inertia against its model (KMeans::score).
  std::vector<double> score(const BatchedMatrixView& X, const BatchedVectorView& weights = {}) const;

  /// Use given centroids (problems x k x d, fp64, row-major) as the fitted models.
  void set_centroids(const std::vector<double>& centroids, std::int64_t problems, std::int64_t k, std::int64_t d);

  bool fitted() const noexcept { return fitted_; }
  /// One result per problem (after set_centroids: only n/d/k and centroids are set).
  const std::vector<KMeansResult>& results() const noexcept { return results_; }
  const KMeansParams& params() const noexcept { return params_; }

 private:
  /// A single-problem model of problem b, for predict and score.
  KMeans model(std::int64_t b) const;
  void require_fitted(const BatchedMatrixView& X, const char* op) const;

  KMeansParams params_;
  std::vector<KMeansResult> results_;
  bool fitted_ = false;
};

}  // namespace fkm
