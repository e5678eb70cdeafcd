// Determinism: the same data, options and seed give identical bits; so do 1 and 2 threads.
#include <cstring>

#include "support.hpp"

namespace {
bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}
}  // namespace

TEST_CASE("determinism: repeated fits are bitwise identical", "[determinism]") {
  const std::int64_t n = 2003, d = 19, k = 23;
  const auto data = fkm_test::as_dtype(fkm_test::blob_data(n, d, 15, 2.0, 31), n, d, fkm::DType::F32);
  const auto w = fkm_test::random_weights(n, 4, 9);
  auto backends = fkm_test::backends_under_test();
  backends.push_back(fkm::BackendKind::Reference);
  for (const auto backend : backends) {
    for (const fkm::Init init : {fkm::Init::KMeansPlusPlus, fkm::Init::Random, fkm::Init::KMeansParallel}) {
      INFO("backend " << fkm_test::describe(backend) << ", init " << fkm::to_string(init));
      fkm::KMeansParams p;
      p.k = k;
      p.init = init;
      p.seed = 77;
      p.n_init = 2;
      p.max_iter = 15;
      p.backend = backend;
      const auto a = fkm::fit(data.view(), p, fkm::host_vector(w.data(), n));
      const auto b = fkm::fit(data.view(), p, fkm::host_vector(w.data(), n));
      CHECK(same_bits(a.centroids, b.centroids));
      CHECK(a.labels == b.labels);
      CHECK(std::memcmp(&a.inertia, &b.inertia, sizeof(double)) == 0);
    }
  }
}

TEST_CASE("determinism: the CPU backend gives identical bits for 1, 2 and 3 threads", "[determinism][cpu]") {
  bool have_cpu = false;
  for (auto b : fkm_test::backends_under_test()) have_cpu |= b == fkm::BackendKind::Cpu;
  if (!have_cpu) return;
  const std::int64_t n = 30011, d = 21, k = 40;  // several assignment and scan blocks
  for (const fkm::DType dtype : {fkm::DType::F32, fkm::DType::F64, fkm::DType::BF16}) {
    for (const fkm::Metric metric : {fkm::Metric::L2, fkm::Metric::Cosine}) {
      const auto data = fkm_test::as_dtype(fkm_test::blob_data(n, d, 30, 1.5, 5), n, d, dtype);
      fkm::KMeansParams p;
      p.k = k;
      p.metric = metric;
      p.init = fkm::Init::KMeansParallel;
      p.seed = 3;
      p.max_iter = 6;
      p.backend = fkm::BackendKind::Cpu;
      p.num_threads = 1;
      const auto one = fkm::fit(data.view(), p);
      for (int threads : {2, 3}) {
        INFO(fkm::to_string(dtype) << ", " << fkm::to_string(metric) << ", " << threads << " threads");
        p.num_threads = threads;
        const auto many = fkm::fit(data.view(), p);
        CHECK(same_bits(one.initial_centroids, many.initial_centroids));
        CHECK(same_bits(one.centroids, many.centroids));
        CHECK(one.labels == many.labels);
        CHECK(std::memcmp(&one.inertia, &many.inertia, sizeof(double)) == 0);
      }
    }
  }
}
