// Empty clusters: the default reseeds each at the point farthest from its own centroid
// (largest first to the lowest empty index, distinct points, zero-weight points never chosen);
// KeepOld leaves it where it was.
#include "support.hpp"

namespace {
std::vector<fkm::BackendKind> all_backends() {
  auto b = fkm_test::backends_under_test();
  b.insert(b.begin(), fkm::BackendKind::Reference);
  return b;
}

fkm::KMeansResult one_iteration(fkm::BackendKind backend, const std::vector<double>& x, const std::vector<double>& init,
                                fkm::EmptyClusterPolicy policy, const std::vector<double>* w = nullptr) {
  fkm::KMeansParams p;
  p.k = std::int64_t(init.size());
  p.init = fkm::Init::Given;
  p.initial_centroids = fkm::host_view(init.data(), p.k, 1);
  p.max_iter = 1;
  p.tol = 0;
  p.empty_clusters = policy;
  p.backend = backend;
  const std::int64_t n = std::int64_t(x.size());
  return fkm::fit(fkm::host_view(x.data(), n, 1), p, w ? fkm::host_vector(w->data(), n) : fkm::VectorView{});
}
}  // namespace

TEST_CASE("empty clusters: reseeded at the farthest points, largest first", "[empty]") {
  // Centres 0, 0.1, 0.2, 10: the zeros go to centre 0, centres 1 and 2 are empty; centre 3 gets
  // {10, 10, 13, 20} with distances {0, 0, 9, 100}: 20 goes to centre 1, 13 to centre 2.
  const std::vector<double> x = {0, 0, 0, 10, 10, 13, 20};
  const std::vector<double> init = {0, 0.1, 0.2, 10};
  for (const auto backend : all_backends()) {
    INFO("backend " << fkm_test::describe(backend));
    const auto r = one_iteration(backend, x, init, fkm::EmptyClusterPolicy::ReseedFarthest);
    CHECK(r.centroids == std::vector<double>{0, 20, 13, 13.25});
    CHECK(r.history[0].n_empty == 2);
    const auto keep = one_iteration(backend, x, init, fkm::EmptyClusterPolicy::KeepOld);
    CHECK(keep.centroids == std::vector<double>{0, 0.1, 0.2, 13.25});
    CHECK(keep.history[0].n_empty == 2);
  }
}

TEST_CASE("empty clusters: zero-weight points are never chosen", "[empty]") {
  const std::vector<double> x = {0, 0, 0, 10, 10, 13, 20};
  const std::vector<double> w = {1, 1, 1, 1, 1, 1, 0};  // 20 has weight 0
  const std::vector<double> init = {0, 0.1, 10};
  for (const auto backend : all_backends()) {
    INFO("backend " << fkm_test::describe(backend));
    const auto r = one_iteration(backend, x, init, fkm::EmptyClusterPolicy::ReseedFarthest, &w);
    // centre 2 gets {10, 10, 13} (20 has no weight): mean 11; centre 1 reseeded at 13 (distance 9).
    CHECK(r.centroids == std::vector<double>{0, 13, 11});
  }
}

TEST_CASE("empty clusters: all-equal points force empties and the fit still finishes", "[empty]") {
  const std::int64_t n = 50, d = 3, k = 4;
  std::vector<double> x(n * d, 2.5);
  for (const auto backend : all_backends()) {
    INFO("backend " << fkm_test::describe(backend));
    fkm::KMeansParams p;
    p.k = k;
    p.backend = backend;
    p.max_iter = 5;
    const auto r = fkm::fit(fkm::host_view(x.data(), n, d), p);
    CHECK(r.inertia == 0.0);
    for (double c : r.centroids) CHECK(c == 2.5);
    for (auto l : r.labels) CHECK(l == 0);  // ties go to the lowest index
    CHECK(r.history[0].n_empty == k - 1);
  }
}
