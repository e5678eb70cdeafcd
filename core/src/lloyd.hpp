#pragma once
#include <vector>

#include "fkm/backend.hpp"
#include "fkm/kmeans.hpp"

namespace fkm::detail {

/// What one Lloyd run from given centroids produced (the centroids stay in the Problem).
struct LloydRun {
  double inertia = 0;  ///< of the final centroids and final labels
  int n_iter = 0;
  StopReason stop_reason = StopReason::MaxIter;
  std::vector<IterationRecord> history;
};

/// Lloyd's algorithm on a bound problem whose centroids are already set.
LloydRun run_lloyd(Problem& problem, const KMeansParams& params, double tol_absolute, int init_run);

}  // namespace fkm::detail
