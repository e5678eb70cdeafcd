// The n_init restarts around the Lloyd loop, shared by KMeans::fit (kmeans.cpp) and
// fit_distributed (backends/distributed/fit_distributed.cpp), so that both choose, seed and keep
// restarts the same way.
#pragma once
#include <cstdint>

#include "fkm/backend.hpp"
#include "fkm/kmeans.hpp"

namespace fkm::detail {

/// For each restart (one for Init::Given, else params.n_init): initial centroids seeded by
/// mix64(params.seed) + run, then run_lloyd; keeps the lowest inertia (ties keep the earlier
/// restart). Fills every field of the result but n, backend, device and seconds_total, which
/// the caller knows. `label_rows`: the number of labels get_labels writes (the local rows of a
/// distributed problem, else problem.n()).
KMeansResult run_restarts(Problem& problem, const KMeansParams& params, double tol_absolute, std::int64_t label_rows);

}  // namespace fkm::detail
