// KMeans: fit / predict / transform / score, and the result of a fit.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "fkm/params.hpp"
#include "fkm/view.hpp"

namespace fkm {

/// One Lloyd iteration: the inertia of the assignment it made, then how far the update moved.
struct IterationRecord {
  double inertia = 0;       ///< sum of w_i * distance(x_i, its centroid) before the update
  double shift = 0;         ///< sum over clusters of ||c_new - c_old||^2
  std::int64_t n_empty = 0; ///< clusters with zero weight in this assignment
  std::int64_t n_skipped = 0; ///< points whose label pruning proved without meeting every centroid
  double seconds = 0;       ///< wall time of the iteration
};

/// Where the backend kept the data during a fit (GPU backends: resident in device memory or
/// streamed from host memory chunk by chunk; other backends: resident).
struct DataPlacement {
  bool streamed = false;
  std::int64_t chunk_rows = 0;          ///< streamed: rows per chunk (the last may be shorter)
  std::int64_t chunks = 0;              ///< streamed: chunks per pass over the data
  int buffers = 0;                      ///< streamed: pinned staging buffers (copy/compute overlap)
  std::int64_t device_budget_bytes = 0; ///< the device budget the choice was made against (0: none)
  std::int64_t device_bytes_needed = 0; ///< estimated device bytes of the resident layout
  double h2d_bytes_per_second = 0;      ///< streamed: measured pinned host-to-device bandwidth
  double assign_rows_per_second = 0;    ///< streamed: the assignment rate the chunk size assumed
  std::string chunk_choice;             ///< streamed: "auto" (from the two rates) or "stream_chunk_rows"
  std::string transfer;                 ///< streamed: "page-locked in place" (the caller's rows, locked
                                        ///< for the fit, copied directly) or "staged" (copied through
                                        ///< pinned staging buffers)
};

enum class StopReason {
  MaxIter,    ///< ran max_iter iterations
  Tolerance,  ///< the centroid shift fell to tol * mean variance or below
};
const char* to_string(StopReason r) noexcept;

struct KMeansResult {
  std::int64_t n = 0, d = 0, k = 0;
  /// k x d row-major centroids, in fp64 (exactly the backend's values, widened).
  std::vector<double> centroids;
  /// n labels in [0, k): each point's nearest final centroid (ties to the lower index).
  std::vector<std::int32_t> labels;
  /// sum of w_i * distance(x_i, centroids[labels[i]]) for the final centroids.
  double inertia = 0;
  /// Lloyd iterations run by the kept restart.
  int n_iter = 0;
  bool converged = false;  ///< true when stop_reason == Tolerance
  StopReason stop_reason = StopReason::MaxIter;
  /// k x d initial centroids of the kept restart (as the metric sees them: unit rows for cosine).
  std::vector<double> initial_centroids;
  /// per-iteration record of the kept restart.
  std::vector<IterationRecord> history;
  int best_init = 0;             ///< which restart was kept
  double tol_absolute = 0;       ///< tol * mean variance: the shift threshold actually used
  double seconds_init = 0;       ///< initialisation time of the kept restart
  double seconds_total = 0;      ///< the whole fit, all restarts
  std::string backend;           ///< backend that ran it
  std::string device;            ///< its device
  DataPlacement placement;       ///< resident or streamed, and the chunking chosen
  std::string transport;         ///< distributed fits: how the totals travelled ("host" or "nccl"); else empty
};

class KMeans {
 public:
  explicit KMeans(KMeansParams params = {});

  /// Cluster X (n x d); optional weights (n values, >= 0, finite). Throws fkm::Error.
  const KMeansResult& fit(const MatrixView& X, const VectorView& weights = {});
  /// Labels of the nearest fitted centroid for each row of X.
  std::vector<std::int32_t> predict(const MatrixView& X) const;
  /// n x k row-major distances to every fitted centroid (the one place fkm builds an N x K matrix:
  /// it is the requested output).
  std::vector<double> transform(const MatrixView& X) const;
  /// Opposite of the inertia of X (and weights) against the fitted centroids, as scikit-learn.
  double score(const MatrixView& X, const VectorView& weights = {}) const;

  /// Use given centroids (k x d, fp64) as the fitted model, e.g. loaded from a file.
  void set_centroids(std::vector<double> centroids, std::int64_t k, std::int64_t d);

  bool fitted() const noexcept { return fitted_; }
  const KMeansResult& result() const noexcept { return result_; }
  const KMeansParams& params() const noexcept { return params_; }

 private:
  const KMeansResult& fit_impl(const MatrixView& X, const VectorView& weights);
  std::vector<std::int32_t> predict_impl(const MatrixView& X) const;
  std::vector<double> transform_impl(const MatrixView& X) const;
  double score_impl(const MatrixView& X, const VectorView& weights) const;

  KMeansParams params_;
  KMeansResult result_;
  bool fitted_ = false;
};

/// One-call form: KMeans(params).fit(X, weights).
KMeansResult fit(const MatrixView& X, const KMeansParams& params, const VectorView& weights = {});

}  // namespace fkm
