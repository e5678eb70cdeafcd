// BatchedKMeans: its pieces agree with each other and with KMeans on each problem (predict =
// the fit's labels, score = -inertia, set_centroids models), and the progress callback sees
// every problem's iterations in order and can stop the batch.
#include <utility>

#include "support.hpp"

namespace {
constexpr std::int64_t kProblems = 3, kN = 83, kD = 7, kK = 5;

std::vector<float> batch_data() {
  std::vector<float> x;
  for (std::int64_t b = 0; b < kProblems; ++b)
    for (double v : fkm_test::blob_data(kN, kD, kK, 5.0, 20 + b)) x.push_back(float(v));
  return x;
}
}  // namespace

TEST_CASE("batched api: predict and score agree with the fit, problem by problem", "[batched][api]") {
  const auto x = batch_data();
  const auto X = fkm::host_batched_view(x.data(), kProblems, kN, kD);
  const auto w = fkm_test::random_weights(kProblems * kN, 8, 4);
  const auto W = fkm::host_batched_vector(w.data(), kProblems, kN);
  for (const auto backend : fkm_test::backends_with_reference()) {
    INFO("backend " << fkm_test::describe(backend));
    fkm::KMeansParams p;
    p.k = kK;
    p.seed = 9;
    p.backend = backend;
    fkm::BatchedKMeans km(p);
    CHECK_FALSE(km.fitted());
    fkm::BatchedFitOptions o;
    o.weights = W;
    const auto& results = km.fit(X, o);
    REQUIRE(km.fitted());
    REQUIRE(results.size() == std::size_t(kProblems));
    const auto labels = km.predict(X);
    REQUIRE(labels.size() == std::size_t(kProblems * kN));
    const auto scores = km.score(X, W);
    REQUIRE(scores.size() == std::size_t(kProblems));
    for (std::int64_t b = 0; b < kProblems; ++b) {
      INFO("problem " << b);
      const auto& r = results[std::size_t(b)];
      CHECK(r.backend == fkm::to_string(backend));
      CHECK(std::vector<std::int32_t>(labels.begin() + b * kN, labels.begin() + (b + 1) * kN) == r.labels);
      CHECK(scores[std::size_t(b)] == Approx(-r.inertia).epsilon(1e-12));
      // The same through a KMeans holding problem b's centroids.
      fkm::KMeans one(p);
      one.set_centroids(r.centroids, kK, kD);
      CHECK(one.score(X.problem(b), W.problem(b)) == scores[std::size_t(b)]);
    }

    // Models from set_centroids predict what KMeans predicts with the same centroids; a stride-0
    // view repeats one problem's data for every model.
    std::vector<double> all_centroids;
    for (const auto& r : results) all_centroids.insert(all_centroids.end(), r.centroids.begin(), r.centroids.end());
    fkm::BatchedKMeans loaded(p);
    loaded.set_centroids(all_centroids, kProblems, kK, kD);
    CHECK(loaded.predict(X) == labels);
    const auto same_rows = fkm::host_batched_view(x.data(), kProblems, kN, kD, kD, 0);
    const auto repeated = loaded.predict(same_rows);
    for (std::int64_t b = 0; b < kProblems; ++b) {
      fkm::KMeans one(p);
      one.set_centroids(results[std::size_t(b)].centroids, kK, kD);
      CHECK(std::vector<std::int32_t>(repeated.begin() + b * kN, repeated.begin() + (b + 1) * kN) ==
            one.predict(X.problem(0)));
    }
  }
}

TEST_CASE("batched api: the progress callback names each problem, in order, and can stop the batch", "[batched][api]") {
  const auto x = batch_data();
  const auto X = fkm::host_batched_view(x.data(), kProblems, kN, kD);
  fkm::KMeansParams p;
  p.k = kK;
  p.max_iter = 4;
  p.tol = 0;
  p.n_init = 2;
  int plain_calls = 0;
  p.on_iteration = [&](int, int, const fkm::IterationRecord&) { return ++plain_calls > 0; };
  std::vector<std::pair<std::int64_t, int>> seen;  // (problem, run * max_iter + iteration)
  fkm::BatchedFitOptions o;
  o.on_iteration = [&](std::int64_t problem, int run, int iter, const fkm::IterationRecord& rec) {
    CHECK(rec.inertia > 0);
    seen.emplace_back(problem, run * 4 + iter);
    return true;
  };
  const auto results = fkm::fit_batched(X, p, o);
  REQUIRE(seen.size() == std::size_t(kProblems * 2 * 4));
  CHECK(plain_calls == int(seen.size()));  // params.on_iteration runs too, as in a fit alone
  for (std::size_t i = 0; i < seen.size(); ++i) {
    CHECK(seen[i].first == std::int64_t(i / 8));
    CHECK(seen[i].second == int(i % 8));
  }

  // Stopping in problem 1 stops the batch with Error(Interrupted) naming it.
  o.on_iteration = [](std::int64_t problem, int, int iter, const fkm::IterationRecord&) {
    return !(problem == 1 && iter == 2);
  };
  fkm_test::check_error([&] { fkm::fit_batched(X, p, o); }, fkm::ErrorCode::Interrupted,
                        "problem 1: fit interrupted after iteration 3");
  // So does params.on_iteration.
  o.on_iteration = nullptr;
  p.on_iteration = [](int, int iter, const fkm::IterationRecord&) { return iter < 1; };
  fkm_test::check_error([&] { fkm::fit_batched(X, p, o); }, fkm::ErrorCode::Interrupted,
                        "problem 0: fit interrupted after iteration 2");
}
