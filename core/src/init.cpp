// Initialisation algorithms. The per-point work runs on the backend (Problem primitives); the
// host does only the sequential choices, with a counter-based RNG, so a seed gives the same
// choices on every backend that computes the same potentials.
#include "init.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "convert.hpp"
#include "fkm/error.hpp"
#include "reference_problem.hpp"
#include "rng.hpp"
#include "validate.hpp"

namespace fkm::detail {
namespace {

/// Draw `count` distinct points (by index) with probability proportional to the weight
/// (by_weight) or to w_i * dist_i; skips indices already in `taken`.
std::vector<std::int64_t> draw_distinct(const Problem& p, std::int64_t count, bool by_weight, double total, Rng& rng,
                                        std::unordered_set<std::int64_t>& taken) {
  std::vector<std::int64_t> out;
  std::vector<double> targets;
  std::vector<std::int64_t> idx;
  // Rejection of duplicates; bounded so that pathological weights cannot make it spin forever.
  for (int attempt = 0; attempt < 64 && std::int64_t(out.size()) < count; ++attempt) {
    const std::int64_t need = count - std::int64_t(out.size());
    targets.resize(need);
    for (auto& t : targets) t = rng.uniform() * total;
    idx.resize(need);
    p.sample(targets.data(), need, by_weight, idx.data());
    for (std::int64_t i : idx)
      if (std::int64_t(out.size()) < count && taken.insert(i).second) out.push_back(i);
  }
  if (std::int64_t(out.size()) < count) {
    // Fall back to the deterministic farthest points not yet taken.
    for (std::int64_t i : p.farthest_points(count + std::int64_t(taken.size())))
      if (std::int64_t(out.size()) < count && taken.insert(i).second) out.push_back(i);
  }
  return out;
}

std::vector<double> gather(const Problem& p, const std::vector<std::int64_t>& idx) {
  std::vector<double> rows(idx.size() * p.d());
  if (!idx.empty()) p.gather_rows(idx.data(), std::int64_t(idx.size()), rows.data());
  return rows;
}

std::vector<double> init_random(Problem& p, std::int64_t k, Rng& rng) {
  std::unordered_set<std::int64_t> taken;
  p.update_nearest(nullptr, 0, true, 0);  // every dist = +inf: the fallback ranks by index
  auto idx = draw_distinct(p, k, /*by_weight=*/true, p.total_weight(), rng, taken);
  return gather(p, idx);
}

// Greedy k-means++ (Arthur & Vassilvitskii; the greedy variant of scikit-learn's
// _kmeans_plusplus): each step draws 2 + floor(ln k) candidates with probability proportional
// to w * D^2 and keeps the one that lowers the potential most.
std::vector<double> init_kmeans_plusplus(Problem& p, std::int64_t k, Rng& rng) {
  const std::int64_t d = p.d();
  const std::int64_t trials = 2 + std::int64_t(std::log(double(k)));
  std::vector<double> centres(k * d);
  std::int64_t first = 0;
  const double t0 = rng.uniform() * p.total_weight();
  p.sample(&t0, 1, /*by_weight=*/true, &first);
  p.gather_rows(&first, 1, centres.data());
  double potential = p.update_nearest(centres.data(), 1, true, 0);
  check_inertia(potential);  // sampling in proportion to infinite distances is meaningless

  std::vector<double> targets(trials), pots(trials), cand(trials * d);
  std::vector<std::int64_t> ids(trials);
  for (std::int64_t c = 1; c < k; ++c) {
    for (auto& t : targets) t = rng.uniform() * potential;
    p.sample(targets.data(), trials, /*by_weight=*/false, ids.data());
    p.gather_rows(ids.data(), trials, cand.data());
    p.potentials(cand.data(), trials, pots.data());
    const std::int64_t best = std::min_element(pots.begin(), pots.end()) - pots.begin();
    std::copy_n(cand.begin() + best * d, d, centres.begin() + c * d);
    potential = p.update_nearest(centres.data() + c * d, 1, false, c);
  }
  return centres;
}

// k-means|| (Bahmani et al. 2012): oversampling rounds draw each point independently with
// probability l * w * D^2 / potential; the candidates, weighted by the points nearest to them,
// are reduced to k centres by weighted k-means++ on the host (reference backend, fp64).
std::vector<double> init_kmeans_parallel(Problem& p, const KMeansParams& prm, Rng& rng) {
  const std::int64_t k = prm.k, d = p.d();
  std::unordered_set<std::int64_t> taken;
  std::vector<std::int64_t> chosen;
  std::int64_t first = 0;
  const double t0 = rng.uniform() * p.total_weight();
  p.sample(&t0, 1, /*by_weight=*/true, &first);
  chosen.push_back(first);
  taken.insert(first);
  std::vector<double> cand = gather(p, chosen);
  double potential = p.update_nearest(cand.data(), 1, true, 0);
  check_inertia(potential);  // sampling in proportion to infinite distances is meaningless
  const double l = prm.kmeans_parallel_oversampling * double(k);
  for (int round = 0; round < prm.kmeans_parallel_rounds && potential > 0; ++round) {
    std::vector<std::int64_t> fresh;
    for (std::int64_t i : p.sample_independent(l, potential, rng.next_seed()))
      if (taken.insert(i).second) fresh.push_back(i);
    if (fresh.empty()) continue;
    const auto rows = gather(p, fresh);
    potential = p.update_nearest(rows.data(), std::int64_t(fresh.size()), false, std::int64_t(chosen.size()));
    chosen.insert(chosen.end(), fresh.begin(), fresh.end());
    cand.insert(cand.end(), rows.begin(), rows.end());
  }
  if (std::int64_t(chosen.size()) < k) {  // too few candidates (tiny or degenerate data): top up
    const auto extra = draw_distinct(p, k - std::int64_t(chosen.size()), true, p.total_weight(), rng, taken);
    const auto rows = gather(p, extra);
    p.update_nearest(rows.data(), std::int64_t(extra.size()), false, std::int64_t(chosen.size()));
    chosen.insert(chosen.end(), extra.begin(), extra.end());
    cand.insert(cand.end(), rows.begin(), rows.end());
  }
  const std::int64_t m = std::int64_t(chosen.size());
  std::vector<double> weights(m);
  p.label_weights(m, weights.data());  // labels were kept by update_nearest: no extra pass
  // A candidate nobody is nearest to (a duplicate) keeps a tiny weight so it stays selectable.
  for (auto& w : weights) w = std::max(w, 1e-300);
  auto host = make_reference_problem(host_view(cand.data(), m, d), host_vector(weights.data(), m), prm.metric);
  return init_kmeans_plusplus(*host, k, rng);
}

std::vector<double> init_given(const KMeansParams& prm) {
  const MatrixView& v = prm.initial_centroids;
  std::vector<double> c(v.rows * v.cols);
  for (std::int64_t i = 0; i < v.rows; ++i) load_row(v, i, c.data() + i * v.cols);
  return c;
}

}  // namespace

std::vector<double> initial_centroids(Problem& problem, const KMeansParams& params, std::uint64_t seed) {
  Rng rng(seed);
  switch (params.init) {
    case Init::Random: return init_random(problem, params.k, rng);
    case Init::KMeansPlusPlus: return init_kmeans_plusplus(problem, params.k, rng);
    case Init::KMeansParallel: return init_kmeans_parallel(problem, params, rng);
    case Init::Given: return init_given(params);
  }
  throw Error(ErrorCode::InvalidArgument, "unknown init method");
}

}  // namespace fkm::detail
