// Host side of the Hopper FlashAssign (assign_wgmma.cuh): whether it can run here, the TMA
// tensor maps it reads through, and the choice of its tile shape. CUDA only (HIP builds run
// the mma-free paths and never include this).
#pragma once
#include <cuda.h>
#include <cuda_runtime.h>
#include <cudaTypedefs.h>

#include <climits>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <type_traits>

#include "fkm/error.hpp"
#include "../cuda_hip/gpu_types.hpp"
#include "assign_wgmma.cuh"

namespace fkm::cuda {

/// The driver's cuTensorMapEncodeTiled, fetched through the runtime (fkm links only cudart).
inline PFN_cuTensorMapEncodeTiled_v12000 tensor_map_encoder() {
  static PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void* p = nullptr;
    cudaDriverEntryPointQueryResult found{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000, cudaEnableDefault, &found) != cudaSuccess ||
        found != cudaDriverEntryPointSuccess)
      p = nullptr;
    (void)cudaGetLastError();
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(p);
  }();
  return fn;
}

template <class T>
constexpr CUtensorMapDataType tensor_map_type() {
  if constexpr (std::is_same_v<T, gpu::half>) return CU_TENSOR_MAP_DATA_TYPE_FLOAT16;
  else if constexpr (std::is_same_v<T, gpu::bfloat16>) return CU_TENSOR_MAP_DATA_TYPE_BFLOAT16;
  else return CU_TENSOR_MAP_DATA_TYPE_FLOAT32;
}

/// A TMA map of `mats` matrices of rows x cols values of T (row and matrix pitch in bytes, both
/// multiples of 16), read in [box_rows x 128-byte] boxes, 128-byte swizzled; what lies past the
/// last row or column reads as zero.
template <class T>
CUtensorMap box_map(const void* base, std::int64_t cols, std::int64_t rows, std::int64_t mats, std::int64_t row_bytes,
                    std::int64_t mat_bytes, int box_rows) {
  CUtensorMap map{};
  const cuuint64_t dims[3] = {cuuint64_t(cols), cuuint64_t(rows), cuuint64_t(mats)};
  const cuuint64_t strides[2] = {cuuint64_t(row_bytes), cuuint64_t(mat_bytes)};
  const cuuint32_t box[3] = {cuuint32_t(kBoxBytes / sizeof(T)), cuuint32_t(box_rows), 1};
  const cuuint32_t unit[3] = {1, 1, 1};
  const CUresult rc = tensor_map_encoder()(&map, tensor_map_type<T>(), 3, const_cast<void*>(base), dims, strides, box, unit,
                                           CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                                           CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (rc != CUDA_SUCCESS)
    throw Error(ErrorCode::Internal, "cuda: cuTensorMapEncodeTiled failed (" + std::to_string(int(rc)) + ") for a " +
                                         std::to_string(rows) + " x " + std::to_string(cols) + " operand");
  return map;
}

/// Whether the code this build runs on device `dev` has the sm_90a wgmma kernels (wgmma_probe,
/// once per device). Any failure says no: the mma.sync kernel then runs, which is always right.
inline bool wgmma_compiled_for(int dev) {
  static std::mutex lock;
  static std::map<int, bool> known;
  const std::lock_guard<std::mutex> hold(lock);
  const auto it = known.find(dev);
  if (it != known.end()) return it->second;
  int* flag = nullptr;
  int has = 0;
  bool ok = cudaMalloc(reinterpret_cast<void**>(&flag), sizeof(int)) == cudaSuccess;
  if (ok) {
    wgmma_probe<<<1, 1>>>(flag);
    ok = cudaGetLastError() == cudaSuccess && cudaMemcpy(&has, flag, sizeof has, cudaMemcpyDeviceToHost) == cudaSuccess;
    (void)cudaFree(flag);
  }
  (void)cudaGetLastError();
  return known[dev] = ok && has == 1;
}

/// Whether the wgmma kernels run on the current device: an sm_90 device whose code in this
/// build has them (an sm_90a target; plain sm_90 code has empty bodies), a driver with TMA
/// maps, and FKM_CUDA_WGMMA not 0 (the mma.sync kernel then runs everywhere: tests and
/// side-by-side timings).
inline bool wgmma_runs() {
  static const bool allowed = [] {
    const char* v = std::getenv("FKM_CUDA_WGMMA");
    return !(v && std::string(v) == "0");
  }();
  if (!allowed || !tensor_map_encoder()) return false;
  int dev = 0, major = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  return major == 9 && wgmma_compiled_for(dev);
}

/// Whether a pass over n rows against kpad centroid rows takes the wgmma kernel: more than one
/// centroid tile (with one, the mma.sync kernel's four blocks an SM and its points read back
/// from shared memory finish sooner), TMA's 32-bit coordinates, and a device where it runs.
inline bool wgmma_takes(std::int64_t n, std::int64_t kpad) {
  return kpad > kMmaBN && n > 0 && n <= INT32_MAX - kWgmmaBM && kpad <= INT32_MAX && wgmma_runs();
}

/// Calls f(std::bool_constant<RESIDENT>) for the points' placement: resident in shared memory
/// when their boxes fit (kWgmmaResidentBytes), else streamed. The caller instantiates its
/// kernel (one problem, or a batch) with it. (Tiles of 64 centroids measured 1.1-1.3x slower
/// than 128 at every K > 64 of the suite, H200 2026-12-02: there is one width.)
template <class T, class F>
void with_wgmma_placement(std::int64_t dpad, F&& f) {
  if ((dpad * std::int64_t(sizeof(T)) / kBoxBytes) * kWgmmaBM * kBoxBytes <= kWgmmaResidentBytes) f(std::true_type{});
  else f(std::false_type{});
}

}  // namespace fkm::cuda
