// fkm_demo: clusters a synthetic data set of well-separated Gaussian blobs on the best backend
// compiled in, then says what it found and how fast.
//   fkm_demo [n=1000000] [d=64] [k=256] [iterations=20]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "fkm/fkm.hpp"

int main(int argc, char** argv) {
  const std::int64_t n = argc > 1 ? std::atoll(argv[1]) : 1000000;
  const std::int64_t d = argc > 2 ? std::atoll(argv[2]) : 64;
  const std::int64_t k = argc > 3 ? std::atoll(argv[3]) : 256;
  const int iters = argc > 4 ? std::atoi(argv[4]) : 20;
  if (n <= 0 || d <= 0 || k <= 0 || k > n || iters <= 0) {
    std::fprintf(stderr, "usage: fkm_demo [n>0] [d>0] [0<k<=n] [iterations>0]\n");
    return 2;
  }

  // k blob centres in [-10, 10]^d; points = centre + N(0, 1) noise; truth[i] = its blob.
  std::printf("fkm %s demo: %lld points, %lld dimensions, %lld blobs (fp32)\n", fkm::version(), (long long)n,
              (long long)d, (long long)k);
  std::mt19937_64 gen(42);
  std::uniform_real_distribution<float> centre(-10.f, 10.f);
  std::normal_distribution<float> noise(0.f, 1.f);
  std::vector<float> centres(k * d), x(n * d);
  std::vector<std::int32_t> truth(n);
  for (auto& c : centres) c = centre(gen);
  for (std::int64_t i = 0; i < n; ++i) {
    truth[i] = std::int32_t(i % k);
    for (std::int64_t f = 0; f < d; ++f) x[i * d + f] = centres[truth[i] * d + f] + noise(gen);
  }

  fkm::KMeansParams params;
  params.k = k;
  params.max_iter = iters;
  params.tol = 0;  // a fixed number of iterations, so the timing means something
  params.seed = 1;
  params.init = fkm::Init::KMeansParallel;  // k-means||: a few passes over the data instead of k
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const fkm::KMeansResult r = fkm::fit(fkm::host_view(x.data(), n, d), params);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    // How well were the blobs recovered? Each found cluster votes for its majority blob.
    std::vector<std::int64_t> votes(k * k, 0);
    for (std::int64_t i = 0; i < n; ++i) ++votes[std::int64_t(r.labels[i]) * k + truth[i]];
    std::int64_t agree = 0;
    for (std::int64_t c = 0; c < k; ++c) {
      std::int64_t best = 0;
      for (std::int64_t b = 0; b < k; ++b) best = std::max(best, votes[c * k + b]);
      agree += best;
    }
    double iter_seconds = 0;
    for (const auto& h : r.history) iter_seconds += h.seconds;
    std::printf("backend:    %s on %s\n", r.backend.c_str(), r.device.c_str());
    std::printf("init:       k-means|| in %.3f s\n", r.seconds_init);
    std::printf("lloyd:      %d iterations, %.2f ms per iteration (%.1f GFLOP/s in the assignment)\n", r.n_iter,
                1e3 * iter_seconds / r.n_iter, 2.0 * n * k * d * r.n_iter / iter_seconds * 1e-9);
    std::printf("inertia:    %.6g (%.4f per point and dimension; the noise variance is 1)\n", r.inertia,
                r.inertia / double(n) / double(d));
    std::printf("recovered:  %.2f%% of points are in the cluster of their blob's majority\n", 100.0 * agree / n);
    std::printf("total:      %.3f s\n", wall);
  } catch (const fkm::Error& e) {
    std::fprintf(stderr, "fkm_demo: error: %s\n", e.what());
    return 2;
  }
  return 0;
}
