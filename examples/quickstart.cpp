#include <cstdio>
#include <random>
#include <vector>

#include <fkm/fkm.hpp>

int main() {
  // 10,000 points in 8 dimensions, row-major fp32 (any float type works: half, bfloat16, double).
  const std::int64_t n = 10000, d = 8;
  std::vector<float> x(n * d);
  std::mt19937 gen(0);
  std::normal_distribution<float> noise(0.f, 1.f);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t f = 0; f < d; ++f) x[i * d + f] = noise(gen) + 10.f * float(i % 4);

  fkm::KMeansParams params;
  params.k = 4;
  params.seed = 42;  // same seed, same data -> bitwise identical result
  try {
    fkm::KMeans km(params);
    const fkm::KMeansResult& r = km.fit(fkm::host_view(x.data(), n, d));
    std::printf("%s: %d iterations, inertia %.1f, converged: %s\n", r.backend.c_str(), r.n_iter, r.inertia,
                r.converged ? "yes" : "no");
    std::vector<std::int32_t> labels = km.predict(fkm::host_view(x.data(), 5, d));  // first 5 points
    std::printf("first labels: %d %d %d %d %d\n", labels[0], labels[1], labels[2], labels[3], labels[4]);
  } catch (const fkm::Error& e) {  // bad input or options: the message names the problem
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
