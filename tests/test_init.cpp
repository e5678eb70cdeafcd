// Initialisation: centres are distinct data points of positive weight, reproducible from the
// seed, and k-means++ / k-means|| seed clustered data better than random.
#include <set>

#include "support.hpp"

namespace {
std::vector<fkm::BackendKind> all_backends() {
  auto b = fkm_test::backends_under_test();
  b.insert(b.begin(), fkm::BackendKind::Reference);
  return b;
}

/// Index of the data row equal to c, or -1.
std::int64_t row_of(const std::vector<double>& x, std::int64_t n, std::int64_t d, const double* c) {
  for (std::int64_t i = 0; i < n; ++i) {
    bool same = true;
    for (std::int64_t f = 0; f < d && same; ++f) same = x[i * d + f] == c[f];
    if (same) return i;
  }
  return -1;
}

fkm::KMeansResult run(fkm::BackendKind backend, fkm::Init init, std::int64_t k, const std::vector<double>& x,
                      std::int64_t n, std::int64_t d, const std::vector<double>* w, std::uint64_t seed) {
  fkm::KMeansParams p;
  p.k = k;
  p.init = init;
  p.max_iter = 1;
  p.seed = seed;
  p.backend = backend;
  return fkm::fit(fkm::host_view(x.data(), n, d), p, w ? fkm::host_vector(w->data(), n) : fkm::VectorView{});
}
}  // namespace

TEST_CASE("init: centres are distinct data points of positive weight", "[init]") {
  const std::int64_t n = 211, d = 7, k = 25;
  const auto x = fkm_test::blob_data(n, d, 9, 5.0, 4);
  const auto w = fkm_test::random_weights(n, 5, 3);  // every third point has weight 0
  for (const auto backend : all_backends()) {
    for (const fkm::Init init : {fkm::Init::KMeansPlusPlus, fkm::Init::Random, fkm::Init::KMeansParallel}) {
      INFO("backend " << fkm_test::describe(backend) << ", init " << fkm::to_string(init));
      const auto r = run(backend, init, k, x, n, d, &w, 13);
      REQUIRE(r.initial_centroids.size() == std::size_t(k * d));
      std::set<std::int64_t> rows;
      for (std::int64_t j = 0; j < k; ++j) {
        const std::int64_t i = row_of(x, n, d, &r.initial_centroids[j * d]);
        INFO("centre " << j);
        REQUIRE(i >= 0);
        CHECK(w[i] > 0);
        rows.insert(i);
      }
      CHECK(rows.size() == std::size_t(k));
    }
  }
}

TEST_CASE("init: the seed decides, and different seeds differ", "[init]") {
  const std::int64_t n = 300, d = 4, k = 10;
  const auto x = fkm_test::blob_data(n, d, 10, 4.0, 6);
  for (const auto backend : all_backends()) {
    for (const fkm::Init init : {fkm::Init::KMeansPlusPlus, fkm::Init::Random, fkm::Init::KMeansParallel}) {
      INFO("backend " << fkm_test::describe(backend) << ", init " << fkm::to_string(init));
      const auto a = run(backend, init, k, x, n, d, nullptr, 1);
      const auto b = run(backend, init, k, x, n, d, nullptr, 1);
      const auto c = run(backend, init, k, x, n, d, nullptr, 2);
      CHECK(a.initial_centroids == b.initial_centroids);
      CHECK(a.initial_centroids != c.initial_centroids);
    }
  }
}

TEST_CASE("init: k-means++ and k-means|| seed blobs better than random on average", "[init]") {
  const std::int64_t n = 900, d = 3, k = 30;
  const auto x = fkm_test::blob_data(n, d, k, 30.0, 8);
  auto mean_first_inertia = [&](fkm::Init init) {
    double s = 0;
    for (std::uint64_t seed = 0; seed < 8; ++seed)
      s += run(fkm::BackendKind::Reference, init, k, x, n, d, nullptr, seed).history[0].inertia;
    return s / 8;
  };
  const double random = mean_first_inertia(fkm::Init::Random);
  CHECK(mean_first_inertia(fkm::Init::KMeansPlusPlus) < 0.5 * random);
  CHECK(mean_first_inertia(fkm::Init::KMeansParallel) < 0.5 * random);
}

TEST_CASE("init: n_init keeps the restart with the lowest inertia", "[init]") {
  const std::int64_t n = 400, d = 2, k = 12;
  const auto x = fkm_test::blob_data(n, d, k, 10.0, 9);
  for (const auto backend : all_backends()) {
    INFO("backend " << fkm_test::describe(backend));
    fkm::KMeansParams p;
    p.k = k;
    p.init = fkm::Init::Random;
    p.seed = 4;
    p.backend = backend;
    p.n_init = 5;
    const auto best = fkm::fit(fkm::host_view(x.data(), n, d), p);
    CHECK(best.best_init >= 0);
    CHECK(best.best_init < 5);
    p.n_init = 1;
    const auto single = fkm::fit(fkm::host_view(x.data(), n, d), p);  // restart 0 alone
    CHECK(best.inertia <= single.inertia);
    if (best.best_init == 0) CHECK(best.centroids == single.centroids);
  }
}
