// THE train loop. Every backend runs exactly this; it speaks only the Problem interface
// (fkm/backend.hpp), so it reads top to bottom like the algorithm:
//
//   repeat max_iter times:
//     assign      every point to its nearest centroid            (FlashAssign on GPUs)
//     accumulate  per-cluster weighted sums and weights          (sort-inverse on GPUs)
//     update      centroids = sums / weights; report empties
//     reseed      each empty centroid at a far point (policy)
//     stop        when the total centroid shift <= tol * mean variance
//   assign once more, so labels and inertia belong to the returned centroids.
#include "lloyd.hpp"

#include <chrono>

#include "fkm/error.hpp"
#include "stopwatch.hpp"
#include "validate.hpp"

namespace fkm::detail {
namespace {

/// Empty clusters take the points farthest from their own centroids: the largest distance goes
/// to the lowest empty index. Points of zero weight are never chosen.
void reseed_empty_clusters(Problem& problem, const std::vector<std::int64_t>& empties) {
  const auto far = problem.farthest_points(std::int64_t(empties.size()));
  std::vector<double> rows(far.size() * problem.d());
  if (far.empty()) return;
  problem.gather_rows(far.data(), std::int64_t(far.size()), rows.data());
  problem.replace_centroids(empties.data(), std::int64_t(far.size()), rows.data());
}

}  // namespace

LloydRun run_lloyd(Problem& problem, const KMeansParams& params, double tol_absolute, int init_run) {
  LloydRun run;
  for (int iter = 0; iter < params.max_iter; ++iter) {
    const auto t0 = std::chrono::steady_clock::now();
    IterationRecord rec;
    rec.inertia = problem.assign();
    rec.n_skipped = problem.last_assign_skipped();
    check_inertia(rec.inertia);
    problem.accumulate();
    const std::vector<std::int64_t> empties = problem.update();
    rec.n_empty = std::int64_t(empties.size());
    if (!empties.empty() && params.empty_clusters == EmptyClusterPolicy::ReseedFarthest)
      reseed_empty_clusters(problem, empties);
    rec.shift = problem.shift();
    rec.seconds = seconds_since(t0);
    run.history.push_back(rec);
    run.n_iter = iter + 1;
    if (params.on_iteration && !params.on_iteration(init_run, iter, rec))
      throw Error(ErrorCode::Interrupted, "fit interrupted after iteration " + std::to_string(iter + 1));
    if (params.tol > 0 && rec.shift <= tol_absolute) {
      run.stop_reason = StopReason::Tolerance;
      break;
    }
  }
  run.inertia = problem.assign();
  check_inertia(run.inertia);
  return run;
}

}  // namespace fkm::detail
