// fkm_bench: times Lloyd iterations of a GPU backend with CUDA events and writes JSON.
//   fkm_bench --n N --d D --k K [--batch B] [--dtype f16|bf16|f32] [--precision exact|fast]
//             [--backend cuda|kokkos] [--data FILE] [--iters 10] [--warmup 3]
//             [--matrix-tflops R] [--hbm-gbps BW] [--name NAME] [--json OUT]
// --backend kokkos times the Kokkos backend on the same device data (a build with
// FKM_ENABLE_KOKKOS against a Kokkos-Cuda; it has no precision modes: --precision is ignored).
// Data: FILE holds B*N*D raw values of the dtype (the peer script writes it, so every
// implementation sees the same numbers), else a deterministic random set generated on the GPU.
// One iteration = assign + accumulate + update (the host reads back its scalars each time);
// batched problems run one after another. Reported: median ms/iter, the assign share,
// TFLOP/s (2*B*N*K*D per iteration), GB/s (one read of the data) and the roofline floor
// max(2*B*N*K*D / matrix rate, B*N*D*bytes / memory bandwidth).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_profiler_api.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "fkm/fkm.hpp"

namespace {

void cuda_ok(cudaError_t s, const char* what) {
  if (s != cudaSuccess) {
    std::fprintf(stderr, "fkm_bench: %s: %s\n", what, cudaGetErrorString(s));
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

/// Blobs: point i belongs to blob hash(i) % blobs; value = blob centre + uniform noise.
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

struct Args {
  long long n = 1 << 20, d = 128, k = 1024, batch = 1;
  std::string dtype = "f16", precision = "exact", backend = "cuda", data, name, json;
  int iters = 10, warmup = 3;
  double matrix_tflops = 0, hbm_gbps = 0;
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
    else if (k == "--backend") a.backend = v;
    else if (k == "--data") a.data = v;
    else if (k == "--iters") a.iters = std::atoi(v.c_str());
    else if (k == "--warmup") a.warmup = std::atoi(v.c_str());
    else if (k == "--matrix-tflops") a.matrix_tflops = std::atof(v.c_str());
    else if (k == "--hbm-gbps") a.hbm_gbps = std::atof(v.c_str());
    else if (k == "--name") a.name = v;
    else if (k == "--json") a.json = v;
    else {
      std::fprintf(stderr, "fkm_bench: unknown option %s\n", k.c_str());
      std::exit(2);
    }
  }
  return a;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : (v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]));
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
      std::fprintf(stderr, "fkm_bench: %s holds %zu bytes, expected %zu\n", a.data.c_str(), done, total);
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
  cuda_ok(cudaDeviceSynchronize(), "data");

  if (a.backend != "cuda" && a.backend != "kokkos") {
    std::fprintf(stderr, "fkm_bench: --backend must be cuda or kokkos (got %s)\n", a.backend.c_str());
    return 2;
  }
  const fkm::BackendKind kind = a.backend == "kokkos" ? fkm::BackendKind::Kokkos : fkm::BackendKind::Cuda;
  const fkm::Backend* found = nullptr;
  try {
    found = &fkm::select_backend(kind, fkm::MemorySpace::Device);
  } catch (const fkm::Error& e) {
    std::fprintf(stderr, "fkm_bench: %s\n", e.what());
    return 2;
  }
  const fkm::Backend& backend = *found;
  std::vector<std::unique_ptr<fkm::Problem>> problems;
  for (long long b = 0; b < a.batch; ++b) {
    fkm::ProblemSpec spec;
    spec.x = fkm::MatrixView{static_cast<const char*>(x) + std::size_t(b * per) * es, a.n, a.d, a.d, dtype,
                             fkm::MemorySpace::Device, 0};
    spec.precision = a.precision == "fast" ? fkm::Precision::Fast : fkm::Precision::Exact;
    problems.push_back(backend.bind(spec));
    // initial centroids: K evenly spaced points
    std::vector<std::int64_t> idx(a.k);
    for (long long j = 0; j < a.k; ++j) idx[j] = j * (a.n / a.k);
    std::vector<double> c(a.k * a.d);
    problems.back()->gather_rows(idx.data(), a.k, c.data());
    problems.back()->set_centroids(c.data(), a.k);
  }

  cudaEvent_t e0, e1, e2;
  cuda_ok(cudaEventCreate(&e0), "event");
  cuda_ok(cudaEventCreate(&e1), "event");
  cuda_ok(cudaEventCreate(&e2), "event");
  std::vector<double> iter_ms, assign_ms;
  for (int it = 0; it < a.warmup + a.iters; ++it) {
    // the timed iterations are what a profiler started with --profile-from-start off sees
    if (it == a.warmup) cuda_ok(cudaProfilerStart(), "profiler start");
    float t_assign = 0, t_all = 0;
    for (auto& p : problems) {
      // (Kokkos runs on its own stream: the device is idle here, and each step below has read
      // its results back, so events on the default stream bound the whole step either way.)
      cuda_ok(cudaDeviceSynchronize(), "sync");
      cuda_ok(cudaEventRecord(e0), "record");
      p->assign();
      cuda_ok(cudaEventRecord(e1), "record");
      p->accumulate();
      p->update();
      cuda_ok(cudaEventRecord(e2), "record");
      cuda_ok(cudaEventSynchronize(e2), "sync");
      float ta = 0, tt = 0;
      cuda_ok(cudaEventElapsedTime(&ta, e0, e1), "elapsed");
      cuda_ok(cudaEventElapsedTime(&tt, e0, e2), "elapsed");
      t_assign += ta;
      t_all += tt;
    }
    if (it >= a.warmup) {
      iter_ms.push_back(t_all);
      assign_ms.push_back(t_assign);
    }
  }
  cuda_ok(cudaProfilerStop(), "profiler stop");
  const double ms = median(iter_ms), ms_assign = median(assign_ms);
  const double flops = 2.0 * double(a.batch) * double(a.n) * double(a.k) * double(a.d);
  const double bytes = double(a.batch) * double(per) * double(es);
  const double floor_ms = std::max(a.matrix_tflops > 0 ? flops / (a.matrix_tflops * 1e12) * 1e3 : 0.0,
                                   a.hbm_gbps > 0 ? bytes / (a.hbm_gbps * 1e9) * 1e3 : 0.0);
  cudaDeviceProp prop{};
  cuda_ok(cudaGetDeviceProperties(&prop, 0), "properties");
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  char buf[2048];
  std::snprintf(buf, sizeof buf,
                "{\"name\": \"%s\", \"impl\": \"fkm\", \"backend\": \"%s\", \"device\": \"%s\", \"date\": \"%s\", \"batch\": %lld, \"n\": %lld, "
                "\"d\": %lld, \"k\": %lld, \"dtype\": \"%s\", \"precision\": \"%s\", \"iters\": %d, \"ms_per_iter\": %.5f, "
                "\"ms_assign\": %.5f, \"tflops\": %.3f, \"gbps\": %.2f, \"floor_ms\": %.5f, \"over_floor\": %.3f, "
                "\"matrix_tflops\": %.1f, \"hbm_gbps\": %.1f, \"device_name\": \"%s\"}",
                a.name.c_str(), a.backend.c_str(), problems[0]->device_name().c_str(), date, a.batch, a.n, a.d, a.k, a.dtype.c_str(),
                a.precision.c_str(), a.iters, ms, ms_assign, flops / (ms * 1e-3) / 1e12, bytes / (ms * 1e-3) / 1e9, floor_ms,
                floor_ms > 0 ? ms / floor_ms : 0.0, a.matrix_tflops, a.hbm_gbps, prop.name);
  std::printf("%s\n", buf);
  if (!a.json.empty()) std::ofstream(a.json) << buf << "\n";
  problems.clear();
  cudaFree(x);
  return 0;
}
