// Data of extreme magnitude: valid floating-point values whose squares leave the range of a
// backend's fast arithmetic (fp32 squares overflow above ~1.8e19 and underflow below ~1e-23).
// Every backend must give the reference's labels, as it does for ordinary data.
#include "support.hpp"

TEST_CASE("magnitudes: data around 1e20, 1e30, 1e-25, 1e-35 and 1e-39 (fp32 subnormals) cluster as the reference does", "[oracle][magnitudes]") {
  const std::int64_t n = 400, d = 7, k = 5;
  const auto base = fkm_test::blob_data(n, d, k, 6.0, 17);
  for (const double magnitude : {1e20, 1e30, 1e-25, 1e-35, 1e-39}) {
    for (const fkm::DType dtype : {fkm::DType::F32, fkm::DType::BF16}) {
      std::vector<double> values(base);
      for (double& v : values) v *= magnitude;
      const auto data = fkm_test::as_dtype(values, n, d, dtype);
      std::vector<double> init(data.exact.begin(), data.exact.begin() + k * d);
      fkm::KMeansParams p;
      p.k = k;
      p.init = fkm::Init::Given;
      p.initial_centroids = fkm::host_view(init.data(), k, d);
      p.max_iter = 5;
      p.tol = 0;
      p.backend = fkm::BackendKind::Reference;
      const auto ref = fkm::fit(data.view(), p);
      for (const auto backend : fkm_test::backends_under_test()) {
        for (const fkm::Pruning pruning : {fkm::Pruning::Off, fkm::Pruning::Hamerly}) {
          INFO("backend " << fkm_test::describe(backend) << ", magnitude " << magnitude << ", " << fkm::to_string(dtype)
                          << ", pruning " << fkm::to_string(pruning));
          p.backend = backend;
          p.pruning = pruning;
          const auto got = fkm::fit(data.view(), p);
          fkm_test::check_labels_near_ties(data, got.centroids, k, got.labels, fkm::Metric::L2);
          CHECK(got.labels == ref.labels);
          CHECK(std::abs(got.inertia - ref.inertia) <= 1e-4 * std::abs(ref.inertia));
        }
      }
    }
  }
}
