// Initial centroids: k-means++, random, k-means|| — each written once against the Problem
// primitives, so every backend (and the distributed layer) runs the same algorithm.
#pragma once
#include <cstdint>
#include <vector>

#include "fkm/backend.hpp"
#include "fkm/params.hpp"

namespace fkm::detail {

/// K x D fp64 initial centroids for `problem` with the method of `params` and this run's seed.
/// Uses (and overwrites) the problem's per-point distances and labels.
std::vector<double> initial_centroids(Problem& problem, const KMeansParams& params, std::uint64_t seed);

}  // namespace fkm::detail
