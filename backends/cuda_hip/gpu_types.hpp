// The 16-bit float types of the CUDA and HIP backends and the few device conversions the
// kernels use, one spelling for both platforms.
#pragma once
#include <cstdint>
#include <type_traits>

#if defined(__HIP__)
#include <hip/hip_bfloat16.h>
#include <hip/hip_fp16.h>
#else
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#endif

namespace fkm::gpu {

#if defined(__HIP__)
using half = __half;
using bfloat16 = hip_bfloat16;

__host__ __device__ inline float to_float(half v) { return __half2float(v); }
__host__ __device__ inline float to_float(bfloat16 v) { return float(v); }
/// Nearest 16-bit value of v. HIP 5.2 has no direct double conversions, so this rounds through
/// fp32; callers that split a value into terms subtract the term actually stored, so the split
/// stays exact either way.
template <class T>
__device__ inline T from_double(double v) {
  if constexpr (std::is_same_v<T, half>) return __float2half(float(v));
  else return bfloat16(float(v));
}
#else
using half = __half;
using bfloat16 = __nv_bfloat16;

__host__ __device__ inline float to_float(half v) { return __half2float(v); }
__host__ __device__ inline float to_float(bfloat16 v) { return __bfloat162float(v); }
/// Nearest 16-bit value of v (one rounding).
template <class T>
__device__ inline T from_double(double v) {
  if constexpr (std::is_same_v<T, half>) return __double2half(v);
  else return __double2bfloat16(v);
}
#endif

/// v rounded to the nearest tf32 (10 mantissa bits, ties away from zero), kept as fp32 bits.
__device__ inline float round_to_tf32(float v) {
#if defined(__CUDA_ARCH__)
  std::uint32_t t32;
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(t32) : "f"(v));
  return __uint_as_float(t32);
#else
  // Portable: add half of the last kept unit to the magnitude bits, then drop 13 bits.
  const std::uint32_t bits = __float_as_uint(v);
  if ((bits & 0x7f800000u) == 0x7f800000u) return v;  // inf, nan: unchanged
  return __uint_as_float((bits + 0x1000u) & 0xffffe000u);
#endif
}

}  // namespace fkm::gpu
