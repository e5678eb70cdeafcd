// predict() with given centroids far larger than the data: the scores are dominated by ||c||^2,
// whose squares leave fp32's range long before the data's do (a backend that scales its fast
// arithmetic by the data alone, or not at all, overflows: every score +inf, every label 0).
// Every backend must give the reference's labels: the nearest centroid is the one of least
// norm, here the last one.
#include <algorithm>
#include <cmath>

#include "support.hpp"

TEST_CASE("predict: centroids 1e6, 1e15 and 1e20 times larger than the data label as the reference does",
          "[oracle][magnitudes]") {
  const std::int64_t n = 500, d = 9, k = 6;
  const auto values = fkm_test::uniform_data(n, d, 21);
  const auto directions = fkm_test::uniform_data(k, d, 22);
  for (const double factor : {1e6, 1e15, 1e20}) {
    // norms factor * (1.5 - 0.1 j) * |direction|: decreasing in j by far more than any <x, c>
    std::vector<double> centroids(k * d);
    for (std::int64_t j = 0; j < k; ++j) {
      double norm = 0;
      for (std::int64_t f = 0; f < d; ++f) norm += directions[j * d + f] * directions[j * d + f];
      for (std::int64_t f = 0; f < d; ++f)
        centroids[j * d + f] = factor * (1.5 - 0.1 * double(j)) * directions[j * d + f] / std::sqrt(norm);
    }
    for (const fkm::DType dtype : {fkm::DType::F32, fkm::DType::BF16, fkm::DType::F16}) {
      const auto data = fkm_test::as_dtype(values, n, d, dtype);
      fkm::KMeansParams p;
      p.backend = fkm::BackendKind::Reference;
      fkm::KMeans reference(p);
      reference.set_centroids(centroids, k, d);
      const auto want = reference.predict(data.view());
      REQUIRE(std::count(want.begin(), want.end(), std::int32_t(k - 1)) == n);
      for (const auto backend : fkm_test::backends_under_test()) {
        for (const fkm::Precision precision : {fkm::Precision::Exact, fkm::Precision::Fast}) {
          INFO("backend " << fkm_test::describe(backend) << ", centroids x " << factor << ", " << fkm::to_string(dtype)
                          << ", precision " << fkm::to_string(precision));
          p.backend = backend;
          p.precision = precision;
          fkm::KMeans model(p);
          model.set_centroids(centroids, k, d);
          CHECK(model.predict(data.view()) == want);
        }
      }
    }
  }
}
