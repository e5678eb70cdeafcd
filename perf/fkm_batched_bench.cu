// fkm_batched_bench: fkm::fit_batched on the CUDA backend, the batched path (one launch per
// phase over all problems, backends/cuda/cuda_batched.cuh) beside the default loop (problems
// one after another: FKM_CUDA_BATCHED=loop), in one process on the same device data.
//   fkm_batched_bench --batch B --n N --d D --k K [--dtype f16|bf16|f32] [--precision exact|fast]
//                     [--data FILE] [--iters 20] [--matrix-tflops R] [--hbm-gbps BW] [--json OUT]
//                     [--once 1]   (one batched fit of 5 + iters iterations, nothing printed:
//                                   for FKM_CUDA_TIMING=1, the batched path's phase times)
// Data: FILE holds B*N*D raw values of the dtype (perf/batched_peer.py writes it, so
// flash-kmeans sees the same numbers), else blobs generated on the GPU. Every problem starts
// from K evenly spaced points of its own (Init::Given), tol = 0: a fixed number of iterations.
// ms/iter = (T(5 + iters) - T(5)) / iters for whole fit_batched calls (so binding, the value
// checks and the final assign cancel out), median of 5 (a whole call's allocations and host
// work vary by milliseconds from call to call: the median of 3 differences of 10 iterations
// swung by 1.5x between two runs of the same build). Also checked: both ways give the same
// results bit for bit (labels, centroids, inertia of every problem). Printed: ms/iter of each,
// their ratio, TFLOP/s, and the floor max(2*B*N*K*D / matrix rate, B*N*D*bytes / bandwidth).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include "fkm/fkm.hpp"

namespace {

void cuda_ok(cudaError_t s, const char* what) {
  if (s != cudaSuccess) {
    std::fprintf(stderr, "fkm_batched_bench: %s: %s\n", what, cudaGetErrorString(s));
    std::exit(1);
  }
}

__device__ unsigned hash32(unsigned long long v) {
  v ^= v >> 33;
  v *= 0xff51afd7ed558ccdull;
  v ^= v >> 33;
  v *= 0xc4ceb9fe1a85ec53ull;
  v ^= v >> 33;
  return unsigned(v);
}

/// perf/fkm_bench.cu's blobs: point i belongs to blob hash(i) % blobs.
template <class T>
__global__ void generate(T* x, long long n, long long d, int blobs, unsigned long long seed) {
  const long long stride = (long long)gridDim.x * blockDim.x;
  for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < n * d; e += stride) {
    const long long i = e / d, f = e % d;
    const unsigned b = hash32(seed ^ (unsigned long long)i) % unsigned(blobs);
    const float centre = float(hash32(seed * 31 + b * 1000003ull + f) % 2001) / 1000.f - 1.f;
    const float noise = float(hash32(seed * 17 + (unsigned long long)e) % 2001) / 1000.f - 1.f;
    x[e] = T(2.f * centre + 0.5f * noise);
  }
}

/// out[(b * k + j) * d + f] = x[b][j * (n / k)][f] as float: K evenly spaced points per problem.
template <class T>
__global__ void spaced_rows(const T* x, long long problems, long long n, long long d, long long k, float* out) {
  const long long stride = (long long)gridDim.x * blockDim.x;
  for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < problems * k * d; e += stride) {
    const long long b = e / (k * d), j = (e / d) % k, f = e % d;
    out[e] = float(x[(b * n + j * (n / k)) * d + f]);
  }
}

struct Args {
  long long n = 74256, d = 128, k = 1000, batch = 32;
  std::string dtype = "f16", precision = "exact", data, json;
  int iters = 20;
  bool once = false;
  double matrix_tflops = 743, hbm_gbps = 4270;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--n") a.n = std::atoll(v.c_str());
    else if (k == "--d") a.d = std::atoll(v.c_str());
    else if (k == "--k") a.k = std::atoll(v.c_str());
    else if (k == "--batch") a.batch = std::atoll(v.c_str());
    else if (k == "--dtype") a.dtype = v;
    else if (k == "--precision") a.precision = v;
    else if (k == "--data") a.data = v;
    else if (k == "--iters") a.iters = std::atoi(v.c_str());
    else if (k == "--matrix-tflops") a.matrix_tflops = std::atof(v.c_str());
    else if (k == "--hbm-gbps") a.hbm_gbps = std::atof(v.c_str());
    else if (k == "--json") a.json = v;
    else if (k == "--once") a.once = v == "1";
    else {
      std::fprintf(stderr, "fkm_batched_bench: unknown option %s\n", k.c_str());
      std::exit(2);
    }
  }
  return a;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

bool same(const std::vector<fkm::KMeansResult>& a, const std::vector<fkm::KMeansResult>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].labels != b[i].labels || a[i].centroids.size() != b[i].centroids.size() || a[i].n_iter != b[i].n_iter)
      return false;
    if (std::memcmp(a[i].centroids.data(), b[i].centroids.data(), a[i].centroids.size() * sizeof(double)) != 0) return false;
    if (std::memcmp(&a[i].inertia, &b[i].inertia, sizeof(double)) != 0) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  const fkm::DType dtype = a.dtype == "f32" ? fkm::DType::F32 : (a.dtype == "bf16" ? fkm::DType::BF16 : fkm::DType::F16);
  const std::size_t es = fkm::size_of(dtype);
  const long long per = a.n * a.d;
  void* x = nullptr;
  cuda_ok(cudaMalloc(&x, std::size_t(a.batch * per) * es), "cudaMalloc data");
  if (!a.data.empty()) {
    std::ifstream in(a.data, std::ios::binary);
    std::vector<char> chunk(std::size_t(1) << 28);
    std::size_t done = 0, total = std::size_t(a.batch * per) * es;
    while (done < total && in) {
      const std::size_t want = std::min(chunk.size(), total - done);
      in.read(chunk.data(), std::streamsize(want));
      const std::size_t got = std::size_t(in.gcount());
      cuda_ok(cudaMemcpy(static_cast<char*>(x) + done, chunk.data(), got, cudaMemcpyHostToDevice), "upload data");
      done += got;
    }
    if (done != total) {
      std::fprintf(stderr, "fkm_batched_bench: %s holds %zu bytes, expected %zu\n", a.data.c_str(), done, total);
      return 2;
    }
  } else {
    const int blobs = int(std::max<long long>(2, a.k));
    if (dtype == fkm::DType::F32) generate<float><<<4096, 256>>>(static_cast<float*>(x), a.batch * a.n, a.d, blobs, 42);
    else if (dtype == fkm::DType::BF16)
      generate<__nv_bfloat16><<<4096, 256>>>(static_cast<__nv_bfloat16*>(x), a.batch * a.n, a.d, blobs, 42);
    else generate<__half><<<4096, 256>>>(static_cast<__half*>(x), a.batch * a.n, a.d, blobs, 42);
    cuda_ok(cudaGetLastError(), "generate");
  }
  float* c0_d = nullptr;
  cuda_ok(cudaMalloc(&c0_d, std::size_t(a.batch * a.k * a.d) * sizeof(float)), "cudaMalloc centroids");
  if (dtype == fkm::DType::F32) spaced_rows<<<1024, 256>>>(static_cast<const float*>(x), a.batch, a.n, a.d, a.k, c0_d);
  else if (dtype == fkm::DType::BF16)
    spaced_rows<<<1024, 256>>>(static_cast<const __nv_bfloat16*>(x), a.batch, a.n, a.d, a.k, c0_d);
  else spaced_rows<<<1024, 256>>>(static_cast<const __half*>(x), a.batch, a.n, a.d, a.k, c0_d);
  cuda_ok(cudaGetLastError(), "spaced_rows");
  std::vector<float> c0(std::size_t(a.batch * a.k * a.d));
  cuda_ok(cudaMemcpy(c0.data(), c0_d, c0.size() * sizeof(float), cudaMemcpyDeviceToHost), "copy centroids");

  fkm::BatchedMatrixView X{x, a.batch, a.n, a.d, a.d, per, dtype, fkm::MemorySpace::Device, 0};
  fkm::BatchedFitOptions options;
  options.initial_centroids = fkm::host_batched_view(c0.data(), a.batch, a.k, a.d);
  fkm::KMeansParams p;
  p.k = a.k;
  p.init = fkm::Init::Given;
  p.tol = 0;
  p.backend = fkm::BackendKind::Cuda;
  p.precision = a.precision == "fast" ? fkm::Precision::Fast : fkm::Precision::Exact;

  auto fit = [&](bool loop, int iters, std::vector<fkm::KMeansResult>* keep) {
    if (loop) setenv("FKM_CUDA_BATCHED", "loop", 1);
    else unsetenv("FKM_CUDA_BATCHED");
    p.max_iter = iters;
    const auto t0 = std::chrono::steady_clock::now();
    auto r = fkm::fit_batched(X, p, options);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (keep) *keep = std::move(r);
    return s;
  };
  // ms per iteration: whole calls of 5 + iters and of 5 iterations, median of 5 differences
  auto ms_per_iter = [&](bool loop, std::vector<fkm::KMeansResult>* keep) {
    fit(loop, 2, nullptr);  // warm-up (kernel attributes, allocator)
    std::vector<double> v;
    for (int rep = 0; rep < 5; ++rep) {
      const double t_long = fit(loop, 5 + a.iters, rep == 0 ? keep : nullptr), t_short = fit(loop, 5, nullptr);
      v.push_back((t_long - t_short) / a.iters * 1e3);
    }
    return median(v);
  };
  if (a.once) {
    fit(false, 5 + a.iters, nullptr);
    return 0;
  }
  std::vector<fkm::KMeansResult> batched, looped;
  const double ms_batched = ms_per_iter(false, &batched);
  const double ms_loop = ms_per_iter(true, &looped);
  const bool identical = same(batched, looped);

  const double flops = 2.0 * double(a.batch) * double(a.n) * double(a.k) * double(a.d);
  const double bytes = double(a.batch) * double(per) * double(es);
  const double floor_ms = std::max(flops / (a.matrix_tflops * 1e12), bytes / (a.hbm_gbps * 1e9)) * 1e3;
  cudaDeviceProp prop{};
  cuda_ok(cudaGetDeviceProperties(&prop, 0), "properties");
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  char buf[2048];
  std::snprintf(buf, sizeof buf,
                "{\"impl\": \"fkm fit_batched\", \"device\": \"%s\", \"date\": \"%s\", \"batch\": %lld, \"n\": %lld, "
                "\"d\": %lld, \"k\": %lld, \"dtype\": \"%s\", \"precision\": \"%s\", \"iters\": %d, "
                "\"ms_per_iter_batched\": %.4f, \"ms_per_iter_loop\": %.4f, \"loop_over_batched\": %.3f, "
                "\"tflops_batched\": %.2f, \"floor_ms\": %.4f, \"batched_over_floor\": %.3f, \"identical\": %s, "
                "\"matrix_tflops\": %.1f, \"hbm_gbps\": %.1f}",
                prop.name, date, a.batch, a.n, a.d, a.k, a.dtype.c_str(), a.precision.c_str(), a.iters, ms_batched, ms_loop,
                ms_loop / ms_batched, flops / (ms_batched * 1e-3) / 1e12, floor_ms, ms_batched / floor_ms,
                identical ? "true" : "false", a.matrix_tflops, a.hbm_gbps);
  std::printf("%s\n", buf);
  if (!a.json.empty()) std::ofstream(a.json) << buf << "\n";
  cudaFree(c0_d);
  cudaFree(x);
  return identical ? 0 : 3;
}
