// Answers known without any backend: a case worked by hand, and well-separated blobs.
#include <map>
#include <set>

#include "support.hpp"

namespace {
std::vector<fkm::BackendKind> all_backends() {
  auto b = fkm_test::backends_under_test();
  b.insert(b.begin(), fkm::BackendKind::Reference);
  return b;
}
}  // namespace

TEST_CASE("known answer: a 1-D case worked by hand", "[known]") {
  // x = {0, 1, 10, 11}, init {0, 1}:
  //   iteration 1: labels {0, 1, 1, 1} -> centroids {0, 22/3}
  //   iteration 2: labels {0, 0, 1, 1} -> centroids {0.5, 10.5}
  //   iteration 3: labels unchanged, shift 0 -> converged; inertia 4 * 0.25 = 1.
  const std::vector<double> x = {0, 1, 10, 11};
  const std::vector<double> init = {0, 1};
  for (const auto backend : all_backends()) {
    INFO("backend " << fkm_test::describe(backend));
    fkm::KMeansParams p;
    p.k = 2;
    p.init = fkm::Init::Given;
    p.initial_centroids = fkm::host_view(init.data(), 2, 1);
    p.backend = backend;
    const auto r = fkm::fit(fkm::host_view(x.data(), 4, 1), p);
    CHECK(r.centroids == std::vector<double>{0.5, 10.5});
    CHECK(r.labels == std::vector<std::int32_t>{0, 0, 1, 1});
    CHECK(r.inertia == 1.0);
    CHECK(r.n_iter == 3);
    CHECK(r.converged);
    CHECK(r.stop_reason == fkm::StopReason::Tolerance);
    REQUIRE(r.history.size() == 3);
    CHECK(r.history[0].inertia == Approx(0 + 0 + 81 + 100));
    CHECK(r.history[0].shift == Approx(22.0 / 3 * 22.0 / 3 - 2 * 22.0 / 3 + 1));  // (22/3 - 1)^2
    CHECK(r.history[2].shift == 0.0);
  }
}

TEST_CASE("known answer: well-separated blobs are recovered exactly", "[known]") {
  const std::int64_t n = 1201, d = 5, k = 7;
  const auto x = fkm_test::blob_data(n, d, k, 50.0, 21);  // blob i % k, spread 1, centres 50 apart
  std::vector<float> xf(x.begin(), x.end());
  for (const auto backend : all_backends()) {
    for (const fkm::Init init : {fkm::Init::KMeansPlusPlus, fkm::Init::KMeansParallel}) {
      INFO("backend " << fkm_test::describe(backend) << ", init " << fkm::to_string(init));
      fkm::KMeansParams p;
      p.k = k;
      p.init = init;
      p.n_init = 3;
      p.seed = 2;
      p.backend = backend;
      const auto r = fkm::fit(fkm::host_view(xf.data(), n, d), p);
      // The found partition is the blob partition: a bijection between labels and blobs.
      std::map<std::int32_t, std::int64_t> blob_of_label;
      std::set<std::int64_t> blobs;
      for (std::int64_t i = 0; i < n; ++i) {
        auto [it, fresh] = blob_of_label.emplace(r.labels[i], i % k);
        REQUIRE(it->second == i % k);
        blobs.insert(i % k);
      }
      CHECK(blob_of_label.size() == std::size_t(k));
      CHECK(r.converged);
    }
  }
}

TEST_CASE("known answer: K = N puts every distinct point in its own cluster", "[known]") {
  const std::int64_t n = 23, d = 4;
  const auto x = fkm_test::uniform_data(n, d, 3);
  for (const auto backend : all_backends()) {
    for (const fkm::Init init : {fkm::Init::KMeansPlusPlus, fkm::Init::Random, fkm::Init::KMeansParallel}) {
      INFO("backend " << fkm_test::describe(backend) << ", init " << fkm::to_string(init));
      fkm::KMeansParams p;
      p.k = n;
      p.init = init;
      p.backend = backend;
      const auto r = fkm::fit(fkm::host_view(x.data(), n, d), p);
      CHECK(r.inertia == 0.0);
      CHECK(std::set<std::int32_t>(r.labels.begin(), r.labels.end()).size() == std::size_t(n));
    }
  }
}

TEST_CASE("known answer: K = 1 gives the weighted mean", "[known]") {
  const std::int64_t n = 97, d = 3;
  const auto x = fkm_test::uniform_data(n, d, 8);
  const auto w = fkm_test::random_weights(n, 9, 5);
  std::vector<double> mean(d, 0.0);
  double wsum = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    wsum += w[i];
    for (std::int64_t f = 0; f < d; ++f) mean[f] += w[i] * x[i * d + f];
  }
  for (auto& m : mean) m /= wsum;
  for (const auto backend : all_backends()) {
    INFO("backend " << fkm_test::describe(backend));
    fkm::KMeansParams p;
    p.k = 1;
    p.backend = backend;
    const auto r = fkm::fit(fkm::host_view(x.data(), n, d), p, fkm::host_vector(w.data(), n));
    fkm_test::check_close(r.centroids, mean, 1e-12, "weighted mean");
  }
}
