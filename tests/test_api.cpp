// The API's pieces agree with each other: predict = fit's labels, transform's argmin = labels,
// score = -inertia; results carry their metadata; backends list themselves.
#include "support.hpp"

TEST_CASE("api: predict, transform and score agree with fit", "[api]") {
  const std::int64_t n = 257, d = 11, k = 9;
  const auto x = fkm_test::blob_data(n, d, k, 6.0, 17);
  std::vector<float> xf(x.begin(), x.end());
  auto backends = fkm_test::backends_under_test();
  backends.push_back(fkm::BackendKind::Reference);
  for (const auto backend : backends) {
    INFO("backend " << fkm_test::describe(backend));
    fkm::KMeansParams p;
    p.k = k;
    p.seed = 3;
    p.backend = backend;
    fkm::KMeans km(p);
    const auto& r = km.fit(fkm::host_view(xf.data(), n, d));
    CHECK(r.n == n);
    CHECK(r.d == d);
    CHECK(r.k == k);
    CHECK(r.backend == fkm::to_string(backend));
    CHECK_FALSE(r.device.empty());
    CHECK(r.seconds_total >= r.seconds_init);
    CHECK(km.predict(fkm::host_view(xf.data(), n, d)) == r.labels);
    const auto t = km.transform(fkm::host_view(xf.data(), n, d));
    REQUIRE(t.size() == std::size_t(n * k));
    double inertia = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      std::int64_t best = 0;
      for (std::int64_t j = 1; j < k; ++j)
        if (t[i * k + j] < t[i * k + best]) best = j;
      CHECK(best == r.labels[i]);
      inertia += t[i * k + best];
    }
    CHECK(inertia == Approx(r.inertia).epsilon(1e-12));
    CHECK(km.score(fkm::host_view(xf.data(), n, d)) == Approx(-r.inertia).epsilon(1e-12));
  }
}

TEST_CASE("api: strided views read only their columns", "[api]") {
  const std::int64_t n = 120, d = 5, stride = 8;
  auto wide = fkm_test::uniform_data(n, stride, 2);
  std::vector<double> tight(n * d);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t f = 0; f < d; ++f) tight[i * d + f] = wide[i * stride + f];
  auto backends = fkm_test::backends_under_test();
  backends.push_back(fkm::BackendKind::Reference);
  for (const auto backend : backends) {
    INFO("backend " << fkm_test::describe(backend));
    fkm::KMeansParams p;
    p.k = 4;
    p.backend = backend;
    const auto a = fkm::fit(fkm::host_view(wide.data(), n, d, stride), p);
    const auto b = fkm::fit(fkm::host_view(tight.data(), n, d), p);
    CHECK(a.centroids == b.centroids);
    CHECK(a.labels == b.labels);
  }
}

TEST_CASE("api: every backend is listed with its CMake option, and auto picks a compiled one", "[api]") {
  const auto all = fkm::list_backends();
  CHECK(all.size() == 5);
  for (const auto& b : all) {
    CHECK_FALSE(b.cmake_option.empty());
    if (b.kind == fkm::BackendKind::Reference) CHECK(b.compiled);
  }
  const fkm::Backend& chosen = fkm::select_backend(fkm::BackendKind::Auto);
  CHECK_FALSE(chosen.devices().empty());
  CHECK(std::string(fkm::version()).find('.') != std::string::npos);
}
