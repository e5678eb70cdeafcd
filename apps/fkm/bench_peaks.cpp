#include "bench_peaks.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
// GCC 12's AVX-512 reduction intrinsics start from an undefined register (a known false positive).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace fkm::cli {
namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

/// Runs f(t) on `threads` threads at once; the wall time of the slowest.
template <class F>
double timed_on_threads(int threads, F&& f) {
  std::vector<std::thread> pool;
  const double t0 = now();
  for (int t = 0; t < threads; ++t) pool.emplace_back([&f, t] { f(t); });
  for (auto& th : pool) th.join();
  return now() - t0;
}

/// Keeps a result alive so the compiler cannot drop the loop that made it.
volatile float g_sink;
void keep(float v) { g_sink = v; }

float chains_portable(std::int64_t steps) {  // 8 chains of 8 lanes the compiler may vectorise
  float a[64];
  for (int i = 0; i < 64; ++i) a[i] = float(i);
  for (std::int64_t s = 0; s < steps; ++s)
    for (int i = 0; i < 64; ++i) a[i] = a[i] * 0.999999f + 1e-7f;
  float t = 0;
  for (float v : a) t += v;
  return t;
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) float chains_avx2(std::int64_t steps) {
  __m256 a[12];
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(float(i));
  for (std::int64_t s = 0; s < steps; ++s)
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
  __m256 t = a[0];
  for (int i = 1; i < 12; ++i) t = _mm256_add_ps(t, a[i]);
  alignas(32) float out[8];
  _mm256_store_ps(out, t);
  return out[0];
}

__attribute__((target("avx512f"))) float chains_avx512(std::int64_t steps) {
  __m512 a[24];
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (int i = 0; i < 24; ++i) a[i] = _mm512_set1_ps(float(i));
  for (std::int64_t s = 0; s < steps; ++s)
#pragma GCC unroll 24
    for (int i = 0; i < 24; ++i) a[i] = _mm512_fmadd_ps(a[i], m, c);
  __m512 t = a[0];
  for (int i = 1; i < 24; ++i) t = _mm512_add_ps(t, a[i]);
  return _mm512_reduce_add_ps(t);
}
#endif

/// Best of `repeats` timings of `chains` on every thread; flop per step and thread given.
double fma_rate(int threads, int repeats, float (*chains)(std::int64_t), double flop_per_step, std::int64_t steps) {
  double best = 0;
  for (int rep = 0; rep < repeats; ++rep) {
    const double dt = timed_on_threads(threads, [&](int) { keep(chains(steps)); });
    best = std::max(best, flop_per_step * double(steps) * threads / dt);
  }
  return best;
}

}  // namespace

HostPeaks measure_host_peaks(int threads, int repeats) {
  if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
  HostPeaks p;
  p.isa = "portable C++";
  p.flops = fma_rate(threads, repeats, chains_portable, 2.0 * 64, 2000000);
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    const double r = fma_rate(threads, repeats, chains_avx2, 2.0 * 8 * 12, 5000000);
    if (r > p.flops) p.flops = r, p.isa = "AVX2+FMA";
  }
  if (__builtin_cpu_supports("avx512f")) {
    const double r = fma_rate(threads, repeats, chains_avx512, 2.0 * 16 * 24, 2500000);
    if (r > p.flops) p.flops = r, p.isa = "AVX-512F";
  }
#endif
  // Streaming read: every thread sums its own share of a buffer larger than any cache.
  const std::int64_t n = std::int64_t(64) << 20;  // floats: 256 MiB
  std::vector<float> buf(std::size_t(n), 1.0f);
  double best = 0;
  for (int rep = 0; rep < repeats; ++rep) {
    const double dt = timed_on_threads(threads, [&](int t) {
      const std::int64_t a = n * t / threads, b = n * (t + 1) / threads;
      float s[16] = {};
      for (std::int64_t i = a; i + 16 <= b; i += 16)
        for (int j = 0; j < 16; ++j) s[j] += buf[std::size_t(i + j)];
      float total = 0;
      for (float v : s) total += v;
      keep(total);
    });
    best = std::max(best, double(n) * sizeof(float) / dt);
  }
  p.bytes_per_second = best;
  return p;
}

}  // namespace fkm::cli
