#include "restarts.hpp"

#include <chrono>
#include <utility>
#include <vector>

#include "init.hpp"
#include "lloyd.hpp"
#include "rng.hpp"
#include "stopwatch.hpp"

namespace fkm::detail {

KMeansResult run_restarts(Problem& problem, const KMeansParams& params, double tol_absolute, std::int64_t label_rows) {
  const std::int64_t k = params.k, d = problem.d();
  const int runs = params.init == Init::Given ? 1 : params.n_init;
  KMeansResult best;
  for (int run = 0; run < runs; ++run) {
    const auto t_init = std::chrono::steady_clock::now();
    const auto c0 = initial_centroids(problem, params, mix64(params.seed) + std::uint64_t(run));
    problem.set_centroids(c0.data(), k);
    std::vector<double> initial(k * d);
    problem.get_centroids(initial.data());  // as the backend holds them (unit rows for cosine)
    const double seconds_init = seconds_since(t_init);

    LloydRun lloyd = run_lloyd(problem, params, tol_absolute, run);
    if (run > 0 && !(lloyd.inertia < best.inertia)) continue;  // ties keep the earlier run
    best.inertia = lloyd.inertia;
    best.n_iter = lloyd.n_iter;
    best.stop_reason = lloyd.stop_reason;
    best.converged = lloyd.stop_reason == StopReason::Tolerance;
    best.history = std::move(lloyd.history);
    best.best_init = run;
    best.seconds_init = seconds_init;
    best.initial_centroids = std::move(initial);
    best.centroids.resize(k * d);
    problem.get_centroids(best.centroids.data());
    best.labels.resize(label_rows);
    problem.get_labels(best.labels.data());
  }
  best.d = d;
  best.k = k;
  best.tol_absolute = tol_absolute;
  return best;
}

}  // namespace fkm::detail
