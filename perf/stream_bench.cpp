// fkm_stream_bench: out-of-core fits beside resident ones, on one data set in host memory.
//   fkm_stream_bench --n N --d D --ks K1,K2,... [--cap BYTES] [--iters 5] [--chunk-rows R]
//                    [--precision exact|fast] [--also-staged 1] [--json OUT]
// Data: N x D fp16 blobs, generated on the host (several threads). For each K: a resident fit
// (no cap) and a streamed one (max_device_bytes = cap, or stream_chunk_rows = R), both init =
// random, tol = 0, the same seed; their labels and centroids are compared bit for bit. Reported
// per fit: the median ms per Lloyd iteration (wall time of the library's iteration records,
// the first iteration excluded), and for the streamed fit the transfer floor
// N * D * 2 bytes / (pinned host-to-device bandwidth measured here with 256 MiB copies) and the
// achieved fraction floor / ms. The streamed fit copies the rows from the caller's memory
// page-locked in place when it can; --also-staged 1 adds a third fit through the staging buffers
// (FKM_CUDA_STREAM_STAGING=1). Speed only: it asserts nothing.
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fkm/fkm.hpp"

namespace {

double pinned_h2d_gbps(std::size_t bytes) {
  void* host = nullptr;
  void* dev = nullptr;
  if (cudaMallocHost(&host, bytes) != cudaSuccess || cudaMalloc(&dev, bytes) != cudaSuccess) return 0;
  std::memset(host, 1, bytes);
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  float best = 0;
  for (int rep = 0; rep < 6; ++rep) {
    cudaEventRecord(a);
    cudaMemcpyAsync(dev, host, bytes, cudaMemcpyHostToDevice);
    cudaEventRecord(b);
    cudaEventSynchronize(b);
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    if (rep > 0 && (best == 0 || ms < best)) best = ms;
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  cudaFree(dev);
  cudaFreeHost(host);
  return double(bytes) / (best * 1e-3) / 1e9;
}

/// 64-bit mix (splitmix64's finaliser): well-spread bits from a counter.
inline std::uint64_t mix(std::uint64_t v) {
  v ^= v >> 30;
  v *= 0xbf58476d1ce4e5b9ull;
  v ^= v >> 27;
  v *= 0x94d049bb133111ebull;
  return v ^ (v >> 31);
}
inline float unit(std::uint64_t v) { return float(mix(v) >> 40) / float(1 << 24); }  // [0, 1)

/// N x D fp16 values: uniform noise in [-1, 1) around 1024 blob centres uniform in [-4, 4)
/// (continuous values, so exact distance ties are as rare as in real data), filled by several
/// threads (deterministic).
std::vector<fkm::half> make_data(std::int64_t n, std::int64_t d) {
  std::vector<fkm::half> x(std::size_t(n * d));
  const int threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (std::int64_t i = t; i < n; i += threads) {
        const std::uint64_t blob = mix(std::uint64_t(i)) % 1024;
        for (std::int64_t f = 0; f < d; ++f) {
          const float centre = 8.0f * unit((blob << 20) + std::uint64_t(f)) - 4.0f;
          const float noise = 2.0f * unit((std::uint64_t(i) << 12) ^ (std::uint64_t(f) + 0x5bd1e995ull * std::uint64_t(i))) - 1.0f;
          x[std::size_t(i * d + f)] = fkm::to_half(centre + noise);
        }
      }
    });
  for (auto& th : pool) th.join();
  return x;
}

double median_ms(const fkm::KMeansResult& r) {
  std::vector<double> ms;
  for (std::size_t i = 1; i < r.history.size(); ++i) ms.push_back(1e3 * r.history[i].seconds);
  if (ms.empty() && !r.history.empty()) ms.push_back(1e3 * r.history[0].seconds);
  std::sort(ms.begin(), ms.end());
  return ms.empty() ? 0 : ms[ms.size() / 2];
}

std::vector<std::int64_t> parse_list(const std::string& s) {
  std::vector<std::int64_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::atoll(item.c_str()));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t n = 1 << 20, d = 128, cap = 4LL << 30, chunk_rows = 0;
  int iters = 5;
  bool also_staged = false;
  std::string ks = "64", json, precision = "exact";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--n") n = std::atoll(v.c_str());
    else if (a == "--d") d = std::atoll(v.c_str());
    else if (a == "--ks") ks = v;
    else if (a == "--cap") cap = fkm::parse_memory_size(v);
    else if (a == "--iters") iters = std::atoi(v.c_str());
    else if (a == "--chunk-rows") chunk_rows = std::atoll(v.c_str());
    else if (a == "--precision") precision = v;
    else if (a == "--json") json = v;
    else if (a == "--also-staged") also_staged = v == "1";
    else {
      std::fprintf(stderr, "fkm_stream_bench: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  const double bw = pinned_h2d_gbps(256u << 20);
  std::fprintf(stderr, "device %s, pinned H2D %.2f GB/s; generating %lld x %lld fp16 (%.2f GB)\n", prop.name, bw,
               (long long)n, (long long)d, double(n * d * 2) / 1e9);
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<fkm::half> x = make_data(n, d);
  std::fprintf(stderr, "generated in %.1f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  const fkm::MatrixView view = fkm::host_view(x.data(), n, d);
  const double floor_ms = double(n * d * 2) / (bw * 1e9) * 1e3;

  std::ostringstream out;
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  out << "{\n  \"device\": \"" << prop.name << "\",\n  \"date\": \"" << date << "\",\n  \"n\": " << n << ",\n  \"d\": " << d
      << ",\n  \"dtype\": \"float16\",\n  \"precision\": \"" << precision << "\",\n  \"pinned_h2d_gbps\": " << bw
      << ",\n  \"transfer_floor_ms\": " << floor_ms << ",\n  \"configs\": [";
  bool first = true;
  for (const std::int64_t k : parse_list(ks)) {
    fkm::KMeansParams p;
    p.k = k;
    p.init = fkm::Init::Random;
    p.max_iter = iters + 1;
    p.tol = 0;
    p.seed = 1;
    p.precision = fkm::parse_precision(precision);
    p.backend = fkm::BackendKind::Cuda;
    auto timed_fit = [&](const fkm::KMeansParams& q, double* seconds) {
      const auto s = std::chrono::steady_clock::now();
      fkm::KMeansResult r = fkm::fit(view, q);
      *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - s).count();
      return r;
    };
    double s_res = 0, s_str = 0;
    const fkm::KMeansResult resident = timed_fit(p, &s_res);
    fkm::KMeansParams q = p;
    if (chunk_rows > 0) q.stream_chunk_rows = chunk_rows;
    else q.max_device_bytes = cap;
    const fkm::KMeansResult streamed = timed_fit(q, &s_str);
    // the same through the staging buffers (the path of rows not in the device layout)
    double s_stg = 0;
    ::setenv("FKM_CUDA_STREAM_STAGING", "1", 1);
    const fkm::KMeansResult staged = also_staged ? timed_fit(q, &s_stg) : fkm::KMeansResult{};
    ::unsetenv("FKM_CUDA_STREAM_STAGING");
    const double ms_stg = also_staged ? median_ms(staged) : 0;
    const bool same_staged = !also_staged || (staged.labels == resident.labels &&
                                              std::memcmp(resident.centroids.data(), staged.centroids.data(),
                                                          resident.centroids.size() * sizeof(double)) == 0);
    const bool same = resident.labels == streamed.labels &&
                      std::memcmp(resident.centroids.data(), streamed.centroids.data(),
                                  resident.centroids.size() * sizeof(double)) == 0 &&
                      std::memcmp(&resident.inertia, &streamed.inertia, sizeof(double)) == 0;
    const double ms_res = median_ms(resident), ms_str = median_ms(streamed);
    const auto& pl = streamed.placement;
    std::fprintf(stderr,
                 "K=%lld: resident %.2f ms/iter; streamed %.2f ms/iter (%s, chunk %lld rows x %lld chunks, %d buffers); "
                 "transfer floor %.2f ms -> %.1f%% of the pinned bandwidth (%.2f GB/s achieved); streamed/resident %.2fx; "
                 "bitwise equal: %s; fit wall %.1f s / %.1f s; transfer: %s\n",
                 (long long)k, ms_res, ms_str, pl.streamed ? "streamed" : "NOT streamed", (long long)pl.chunk_rows,
                 (long long)pl.chunks, pl.buffers, floor_ms, 100 * floor_ms / ms_str, double(n * d * 2) / (ms_str * 1e6),
                 ms_str / ms_res, same ? "yes" : "NO", s_res, s_str, pl.transfer.c_str());
    if (also_staged)
      std::fprintf(stderr,
                   "K=%lld staged: %.2f ms/iter -> %.1f%% of the pinned bandwidth (%.2f GB/s); bitwise equal: %s; fit wall %.1f s\n",
                   (long long)k, ms_stg, 100 * floor_ms / ms_stg, double(n * d * 2) / (ms_stg * 1e6), same_staged ? "yes" : "NO",
                   s_stg);
    out << (first ? "\n" : ",\n") << "    {\"k\": " << k << ", \"resident_ms_per_iter\": " << ms_res
        << ", \"streamed_ms_per_iter\": " << ms_str << ", \"streamed\": " << (pl.streamed ? "true" : "false")
        << ", \"cap_bytes\": " << (chunk_rows > 0 ? 0 : cap) << ", \"chunk_rows\": " << pl.chunk_rows
        << ", \"chunks\": " << pl.chunks << ", \"buffers\": " << pl.buffers << ", \"chunk_choice\": \"" << pl.chunk_choice
        << "\", \"library_h2d_gbps\": " << pl.h2d_bytes_per_second / 1e9
        << ", \"modelled_assign_rows_per_s\": " << pl.assign_rows_per_second << ", \"transfer_floor_ms\": " << floor_ms
        << ", \"fraction_of_pinned_bw\": " << floor_ms / ms_str << ", \"achieved_gbps\": " << double(n * d * 2) / (ms_str * 1e6)
        << ", \"bitwise_equal\": " << (same ? "true" : "false") << ", \"transfer\": \"" << pl.transfer << "\""
        << ", \"staged_ms_per_iter\": " << ms_stg << ", \"staged_fraction_of_pinned_bw\": " << (ms_stg > 0 ? floor_ms / ms_stg : 0)
        << ", \"staged_bitwise_equal\": " << (same_staged ? "true" : "false") << ", \"fit_seconds_staged\": " << s_stg
        << ", \"fit_seconds_resident\": " << s_res
        << ", \"fit_seconds_streamed\": " << s_str << "}";
    first = false;
  }
  out << "\n  ]\n}\n";
  if (!json.empty()) std::ofstream(json) << out.str();
  std::printf("%s", out.str().c_str());
  return 0;
}
