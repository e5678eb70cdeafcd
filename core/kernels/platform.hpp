// Platform config for the device kernels shared by the CUDA and HIP backends: the warp
// (wavefront) width, the function-space qualifiers and the few intrinsics the kernels use.
// Everything platform-specific lives here, so core/kernels/*.hpp never name CUDA or HIP.
#pragma once
#include <cstdint>

#if defined(__HIPCC__)
#include <hip/hip_runtime.h>
#elif defined(__CUDACC__)
#include <cuda_runtime.h>
#endif

// Function-space qualifiers: the one place a macro is unavoidable (they are keywords).
#if defined(__CUDACC__) || defined(__HIPCC__)
#define FKM_HD __host__ __device__
#define FKM_DEVICE __device__
#define FKM_FORCEINLINE __forceinline__
#else
#define FKM_HD
#define FKM_DEVICE
#define FKM_FORCEINLINE inline
#endif

namespace fkm::kernels {

/// Lanes per warp (CUDA) or wavefront (HIP: 64 on CDNA, 32 on RDNA).
#if defined(__HIPCC__) && defined(__AMDGCN_WAVEFRONT_SIZE)
inline constexpr int kWarpSize = __AMDGCN_WAVEFRONT_SIZE;
#elif defined(__HIPCC__)
inline constexpr int kWarpSize = 64;
#else
inline constexpr int kWarpSize = 32;
#endif

#if defined(__CUDACC__) || defined(__HIPCC__)

/// Value of `v` held by lane (this lane ^ mask).
template <class T>
FKM_DEVICE FKM_FORCEINLINE T shuffle_xor(T v, int mask) {
#if defined(__HIPCC__)
  return __shfl_xor(v, mask, kWarpSize);
#else
  return __shfl_xor_sync(0xffffffffu, v, mask, kWarpSize);
#endif
}

/// Value of `v` held by lane `src` of this warp.
template <class T>
FKM_DEVICE FKM_FORCEINLINE T shuffle(T v, int src) {
#if defined(__HIPCC__)
  return __shfl(v, src, kWarpSize);
#else
  return __shfl_sync(0xffffffffu, v, src, kWarpSize);
#endif
}

/// Value of `v` held by lane (this lane - delta); lanes below delta get their own value.
template <class T>
FKM_DEVICE FKM_FORCEINLINE T shuffle_up(T v, unsigned delta) {
#if defined(__HIPCC__)
  return __shfl_up(v, delta, kWarpSize);
#else
  return __shfl_up_sync(0xffffffffu, v, delta, kWarpSize);
#endif
}

/// *p = max(*p, v), atomically (HIP 5.2 has no atomicMax for signed 64-bit).
FKM_DEVICE FKM_FORCEINLINE void atomic_max(long long* p, long long v) {
#if defined(__HIPCC__)
  __hip_atomic_fetch_max(p, v, __ATOMIC_RELAXED, __HIP_MEMORY_SCOPE_AGENT);
#else
  atomicMax(p, v);
#endif
}

FKM_DEVICE FKM_FORCEINLINE int lane_id() { return int(threadIdx.x) % kWarpSize; }
FKM_DEVICE FKM_FORCEINLINE int warp_id() { return int(threadIdx.x) / kWarpSize; }

#endif

}  // namespace fkm::kernels
