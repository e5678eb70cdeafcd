// Stopping: tol = 0 runs exactly max_iter iterations; tol > 0 stops once the centroid shift is
// at most tol * mean per-feature variance (scikit-learn's definition), and says so.
#include "support.hpp"

TEST_CASE("convergence: tol = 0 runs exactly max_iter iterations", "[convergence]") {
  const std::int64_t n = 300, d = 4, k = 6;
  const auto x = fkm_test::blob_data(n, d, k, 30.0, 2);  // converges in a few iterations
  for (const auto backend : fkm_test::backends_under_test()) {
    INFO("backend " << fkm_test::describe(backend));
    fkm::KMeansParams p;
    p.k = k;
    p.tol = 0;
    p.max_iter = 17;
    p.backend = backend;
    const auto r = fkm::fit(fkm::host_view(x.data(), n, d), p);
    CHECK(r.n_iter == 17);
    CHECK(r.history.size() == 17);
    CHECK(r.stop_reason == fkm::StopReason::MaxIter);
    CHECK_FALSE(r.converged);
  }
}

TEST_CASE("convergence: tol is relative to the mean per-feature variance", "[convergence]") {
  const std::int64_t n = 400, d = 3, k = 5;
  const auto x = fkm_test::blob_data(n, d, k, 8.0, 12);
  double mean_var = 0;
  for (std::int64_t f = 0; f < d; ++f) {
    double m = 0, v = 0;
    for (std::int64_t i = 0; i < n; ++i) m += x[i * d + f];
    m /= n;
    for (std::int64_t i = 0; i < n; ++i) v += (x[i * d + f] - m) * (x[i * d + f] - m);
    mean_var += v / n;
  }
  mean_var /= d;
  auto backends = fkm_test::backends_under_test();
  backends.push_back(fkm::BackendKind::Reference);
  for (const auto backend : backends) {
    INFO("backend " << fkm_test::describe(backend));
    fkm::KMeansParams p;
    p.k = k;
    p.tol = 1e-3;
    p.max_iter = 300;
    p.backend = backend;
    const auto r = fkm::fit(fkm::host_view(x.data(), n, d), p);
    CHECK(r.tol_absolute == Approx(1e-3 * mean_var).epsilon(1e-12));
    CHECK(r.converged);
    CHECK(r.stop_reason == fkm::StopReason::Tolerance);
    CHECK(r.n_iter < 300);
    CHECK(r.history.back().shift <= r.tol_absolute);
    for (std::size_t i = 0; i + 1 < r.history.size(); ++i) CHECK(r.history[i].shift > r.tol_absolute);
    // Lloyd never increases the inertia.
    for (std::size_t i = 0; i + 1 < r.history.size(); ++i)
      CHECK(r.history[i + 1].inertia <= r.history[i].inertia * (1 + 1e-12));
    CHECK(r.inertia <= r.history.back().inertia * (1 + 1e-12));
  }
}

TEST_CASE("convergence: a progress callback sees every iteration and can stop the fit", "[convergence]") {
  const std::int64_t n = 200, d = 2, k = 3;
  const auto x = fkm_test::uniform_data(n, d, 3);
  fkm::KMeansParams p;
  p.k = k;
  p.tol = 0;
  p.max_iter = 10;
  int calls = 0;
  p.on_iteration = [&](int run, int iter, const fkm::IterationRecord& rec) {
    CHECK(run == 0);
    CHECK(iter == calls);
    CHECK(rec.inertia > 0);
    ++calls;
    return iter < 3;  // stop after the 4th iteration
  };
  fkm_test::check_error([&] { fkm::fit(fkm::host_view(x.data(), n, d), p); }, fkm::ErrorCode::Interrupted,
                        "interrupted after iteration 4");
  CHECK(calls == 4);
}
