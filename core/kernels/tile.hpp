// The tile/warp abstraction shared by the GPU backends (DESIGN.md §2):
//   * warp (wavefront) reductions: sum, and argmin-with-index with ties to the lower index;
//   * block reductions in a fixed order (deterministic results run to run);
//   * 16-byte global -> shared copies that are asynchronous where the chip has them (cp.async,
//     sm_80+) and plain loads/stores elsewhere (the portable fallback, also used by the SIMT
//     kernels so it is compiled and tested on every platform).
// Warp width comes from platform.hpp; nothing here assumes 32 lanes.
#pragma once
#include <cstdint>

#include "platform.hpp"

namespace fkm::kernels {

#if defined(__CUDACC__) || defined(__HIPCC__)

/// A stored value (fp16/bf16 through float, fp32, fp64) widened to fp64.
template <class T>
FKM_DEVICE FKM_FORCEINLINE double widen_to_double(T v) {
  if constexpr (sizeof(T) == 8) return v;
  else return double(float(v));
}

/// Sum of v over all lanes of the warp, every lane gets it. Fixed butterfly order.
template <class T>
FKM_DEVICE FKM_FORCEINLINE T warp_sum(T v) {
  for (int m = kWarpSize / 2; m > 0; m /= 2) v += shuffle_xor(v, m);
  return v;
}

/// (value, index) pair of a running argmin.
template <class S>
struct ArgMin {
  S value;
  std::int32_t index;
};

/// The better of two candidates: the smaller value, ties to the lower index.
template <class S>
FKM_DEVICE FKM_FORCEINLINE ArgMin<S> better(ArgMin<S> a, ArgMin<S> b) {
  return (b.value < a.value || (b.value == a.value && b.index < a.index)) ? b : a;
}

/// Argmin over groups of `Width` consecutive lanes (a power of two dividing the warp width);
/// every lane of a group gets the group's result.
template <int Width, class S>
FKM_DEVICE FKM_FORCEINLINE ArgMin<S> group_argmin(ArgMin<S> a) {
  static_assert((Width & (Width - 1)) == 0 && Width <= kWarpSize, "group width: a power of two within a warp");
  for (int m = Width / 2; m > 0; m /= 2) {
    ArgMin<S> o{shuffle_xor(a.value, m), shuffle_xor(a.index, m)};
    a = better(a, o);
  }
  return a;
}

/// Sum of v over the block (blockDim.x threads, a multiple of the warp width), in a fixed order;
/// the result is valid in thread 0. `scratch` holds one T per warp.
template <class T>
FKM_DEVICE FKM_FORCEINLINE T block_sum(T v, T* scratch) {
  v = warp_sum(v);
  const int warps = int(blockDim.x) / kWarpSize;
  __syncthreads();
  if (lane_id() == 0) scratch[warp_id()] = v;
  __syncthreads();
  T total = T(0);
  if (threadIdx.x == 0)
    for (int w = 0; w < warps; ++w) total += scratch[w];
  return total;
}

/// Maximum of v over the block (blockDim.x threads, a multiple of the warp width), returned to
/// every thread. `scratch` holds one T per warp.
template <class T>
FKM_DEVICE FKM_FORCEINLINE T block_max(T v, T* scratch) {
  for (int m = kWarpSize / 2; m > 0; m /= 2) {
    const T o = shuffle_xor(v, m);
    v = o > v ? o : v;
  }
  const int warps = int(blockDim.x) / kWarpSize;
  __syncthreads();
  if (lane_id() == 0) scratch[warp_id()] = v;
  __syncthreads();
  T r = scratch[0];
  for (int w = 1; w < warps; ++w) r = scratch[w] > r ? scratch[w] : r;
  return r;
}

// ---- global -> shared copies ------------------------------------------------------------------

/// True where 16-byte asynchronous copies exist (NVIDIA sm_80 and newer).
FKM_DEVICE FKM_FORCEINLINE constexpr bool has_async_copy() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  return true;
#else
  return false;
#endif
}

/// Copies `valid` bytes (0..16, a multiple of 2) from src to the 16-byte aligned dst and zero
/// fills the rest of the 16 bytes. Async<true> uses cp.async where available (complete it with
/// copy_commit()/copy_wait<N>()); Async<false> is the portable synchronous copy.
template <bool Async>
FKM_DEVICE FKM_FORCEINLINE void copy_16(void* dst, const void* src, int valid) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  if constexpr (Async) {
    const unsigned saddr = unsigned(__cvta_generic_to_shared(dst));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(saddr), "l"(src), "r"(valid));
    return;
  }
#endif
  if (valid == 16) {
    *static_cast<uint4*>(dst) = *static_cast<const uint4*>(src);
    return;
  }
  auto* d = static_cast<std::uint16_t*>(dst);
  const auto* s = static_cast<const std::uint16_t*>(src);
  for (int e = 0; e < 8; ++e) d[e] = 2 * e < valid ? s[e] : std::uint16_t(0);
}

/// Closes the group of asynchronous copies issued so far (no-op for synchronous copies).
template <bool Async>
FKM_DEVICE FKM_FORCEINLINE void copy_commit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  if constexpr (Async) asm volatile("cp.async.commit_group;\n" ::);
#endif
}

/// Waits until at most `Pending` committed groups are still in flight.
template <bool Async, int Pending>
FKM_DEVICE FKM_FORCEINLINE void copy_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  if constexpr (Async) asm volatile("cp.async.wait_group %0;\n" ::"n"(Pending));
#endif
}

#endif  // device compiler

}  // namespace fkm::kernels
