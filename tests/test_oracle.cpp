// Every backend against the fp64 reference: same data, same initial centroids, same iterations.
// Awkward sizes, every dtype, every metric, with and without (zero) weights.
#include "support.hpp"

namespace {

struct Shape {
  std::int64_t n, d, k;
};

// N, D, K not multiples of any tile; D = 1; D > 2048; K = 1; K = N.
// (Cosine with D = 1 is left out: every point normalises to +-1, so every assignment is a tie.)
const Shape kShapes[] = {{597, 43, 37}, {200, 1, 5}, {61, 2049, 7}, {150, 17, 1}, {41, 6, 41}, {1000, 3, 13}};

fkm::KMeansParams fixed_run(std::int64_t k, fkm::Metric metric, const std::vector<double>& init, std::int64_t d) {
  fkm::KMeansParams p;
  p.k = k;
  p.metric = metric;
  p.max_iter = 4;
  p.tol = 0;
  p.init = fkm::Init::Given;
  p.initial_centroids = fkm::host_view(init.data(), k, d);
  return p;
}

double centroid_tolerance(fkm::DType t) { return t == fkm::DType::F64 ? 1e-9 : 1e-4; }

}  // namespace

TEST_CASE("oracle: fit from given centroids matches the reference", "[oracle]") {
  const auto backends = fkm_test::backends_under_test();
  // A genuine near-tie (distance gap below the arithmetic's error bound) may send one point to
  // the other centroid; from then on the two trajectories legitimately differ. Such runs are
  // counted, their labels still checked against the fp64 nearest centroid, and they must stay rare.
  int runs = 0, diverged = 0;
  for (const Shape s : kShapes) {
    for (const fkm::DType dtype : {fkm::DType::F32, fkm::DType::F64, fkm::DType::F16, fkm::DType::BF16}) {
      for (const fkm::Metric metric : {fkm::Metric::L2, fkm::Metric::Cosine, fkm::Metric::InnerProduct}) {
        if (metric == fkm::Metric::Cosine && s.d == 1) continue;
        for (const bool weighted : {false, true}) {
          const auto values = fkm_test::blob_data(s.n, s.d, std::max<std::int64_t>(1, s.k / 2), 3.0, 7 + s.n);
          const auto data = fkm_test::as_dtype(values, s.n, s.d, dtype);
          const auto w = fkm_test::random_weights(s.n, 11, s.k == s.n ? 0 : 7);
          const fkm::VectorView wv = weighted ? fkm::host_vector(w.data(), s.n) : fkm::VectorView{};
          // Initial centroids: the first k distinct rows (exact stored values).
          std::vector<double> init(data.exact.begin(), data.exact.begin() + s.k * s.d);
          auto p = fixed_run(s.k, metric, init, s.d);
          p.backend = fkm::BackendKind::Reference;
          const auto ref = fkm::fit(data.view(), p, wv);
          for (const auto backend : backends) {
            INFO("backend " << fkm_test::describe(backend) << ", n=" << s.n << " d=" << s.d << " k=" << s.k << ", "
                            << fkm::to_string(dtype) << ", metric " << fkm::to_string(metric)
                            << (weighted ? ", weighted" : ""));
            p.backend = backend;
            const auto got = fkm::fit(data.view(), p, wv);
            CHECK(got.n_iter == ref.n_iter);
            fkm_test::check_labels_near_ties(data, got.centroids, s.k, got.labels, metric);
            ++runs;
            if (got.labels != ref.labels) {
              ++diverged;
              continue;
            }
            fkm_test::check_close(got.centroids, ref.centroids, centroid_tolerance(dtype), "centroids");
            const double scale = std::abs(ref.inertia) + 1e-12 * s.n;
            CHECK(std::abs(got.inertia - ref.inertia) <= centroid_tolerance(dtype) * scale + 1e-9);
            REQUIRE(got.history.size() == ref.history.size());
          }
        }
      }
    }
  }
  INFO(diverged << " of " << runs << " runs diverged from the reference at a near-tie");
  CHECK(diverged * 20 <= runs);
}

TEST_CASE("oracle: predict and transform match the reference for the same centroids", "[oracle]") {
  for (const fkm::DType dtype : {fkm::DType::F32, fkm::DType::F64, fkm::DType::F16}) {
    for (const fkm::Metric metric : {fkm::Metric::L2, fkm::Metric::Cosine, fkm::Metric::InnerProduct}) {
      const std::int64_t n = 333, d = 29, k = 19;
      const auto data = fkm_test::as_dtype(fkm_test::uniform_data(n, d, 5), n, d, dtype);
      const auto centroids = fkm_test::uniform_data(k, d, 6);
      fkm::KMeansParams p;
      p.metric = metric;
      p.backend = fkm::BackendKind::Reference;
      fkm::KMeans ref(p);
      ref.set_centroids(centroids, k, d);
      const auto ref_t = ref.transform(data.view());
      for (const auto backend : fkm_test::backends_under_test()) {
        INFO("backend " << fkm_test::describe(backend) << ", " << fkm::to_string(dtype) << ", " << fkm::to_string(metric));
        p.backend = backend;
        fkm::KMeans km(p);
        km.set_centroids(centroids, k, d);
        fkm_test::check_labels_near_ties(data, centroids, k, km.predict(data.view()), metric);
        // Distances are computed exactly (fp64 from the stored values) by every backend.
        fkm_test::check_close(km.transform(data.view()), ref_t, dtype == fkm::DType::F64 ? 1e-12 : 1e-6, "transform");
        CHECK(km.score(data.view()) == Approx(ref.score(data.view())).epsilon(1e-9));
      }
    }
  }
}

TEST_CASE("oracle: every init method gives the reference's centroids on well-separated blobs", "[oracle][init]") {
  const std::int64_t n = 503, d = 9, k = 11;
  const auto values = fkm_test::blob_data(n, d, k, 20.0, 3);
  const auto data = fkm_test::as_dtype(values, n, d, fkm::DType::F32);
  for (const fkm::Init init : {fkm::Init::KMeansPlusPlus, fkm::Init::Random, fkm::Init::KMeansParallel}) {
    fkm::KMeansParams p;
    p.k = k;
    p.init = init;
    p.n_init = 2;
    p.seed = 5;
    p.backend = fkm::BackendKind::Reference;
    const auto ref = fkm::fit(data.view(), p);
    for (const auto backend : fkm_test::backends_under_test()) {
      INFO("backend " << fkm_test::describe(backend) << ", init " << fkm::to_string(init));
      p.backend = backend;
      const auto got = fkm::fit(data.view(), p);
      CHECK(got.inertia == Approx(ref.inertia).epsilon(1e-6));
      fkm_test::check_close(got.centroids, ref.centroids, 1e-5, "centroids");
    }
  }
}
