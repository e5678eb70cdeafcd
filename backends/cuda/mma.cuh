// The CUDA-only side of the tile abstraction: warp-level tensor-core instructions (sm_80+).
//   ldmatrix.x4   four 8x8 16-bit matrices (8 rows of 16 bytes each) from shared memory;
//   mma.sync      m16n8k16 fp16/bf16 and m16n8k8 tf32, fp32 accumulation.
// Every kernel that uses these has a portable fallback: the SIMT kernel of core/kernels/assign.hpp.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "../../core/kernels/assign.hpp"

namespace fkm::cuda {

/// r[q] = the fragment of matrix q; lanes 8q..8q+7 give the row addresses of matrix q.
__device__ __forceinline__ void ldmatrix_x4(std::uint32_t (&r)[4], const void* smem_row) {
  const unsigned a = unsigned(__cvta_generic_to_shared(smem_row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(a));
}

/// fp32 bits rounded to the nearest tf32 (kept in a 32-bit register).
__device__ __forceinline__ std::uint32_t to_tf32(std::uint32_t bits) {
  std::uint32_t out;
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(out) : "f"(__uint_as_float(bits)));
  return out;
}

/// Tensor-core operand formats: T is the storage type of the data in shared memory. Each mma
/// step consumes 32 bytes of a row (16 halves or 8 floats), so the same ldmatrix addressing
/// serves every format.
template <class T>
struct MmaFormat;

/// The value the tensor cores multiply for a stored fp32 point: its tf32 rounding (prepare_a).
struct ReadsTf32 {
  __device__ __forceinline__ float operator()(float v) const { return __uint_as_float(to_tf32(__float_as_uint(v))); }
};

template <>
struct MmaFormat<__half> {
  using Reads = kernels::ReadsExact;
  __device__ __forceinline__ static void prepare_a(std::uint32_t (&)[4]) {}
  __device__ __forceinline__ static void mma(float (&d)[4], const std::uint32_t (&a)[4], std::uint32_t b0, std::uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
  /// d = a * b (a zero accumulator: the first k-step of a tile needs no zeroing of d).
  __device__ __forceinline__ static void mma_zero(float (&d)[4], const std::uint32_t (&a)[4], std::uint32_t b0, std::uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%10,%10,%10};\n"
        : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1), "f"(0.f));
  }
};

template <>
struct MmaFormat<__nv_bfloat16> {
  using Reads = kernels::ReadsExact;
  __device__ __forceinline__ static void prepare_a(std::uint32_t (&)[4]) {}
  __device__ __forceinline__ static void mma(float (&d)[4], const std::uint32_t (&a)[4], std::uint32_t b0, std::uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
  /// d = a * b (a zero accumulator: the first k-step of a tile needs no zeroing of d).
  __device__ __forceinline__ static void mma_zero(float (&d)[4], const std::uint32_t (&a)[4], std::uint32_t b0, std::uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%10,%10,%10};\n"
        : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1), "f"(0.f));
  }
};

/// fp32 data on tf32 tensor cores (precision = fast): the points are rounded as they are read;
/// the centroids are stored already rounded.
template <>
struct MmaFormat<float> {
  using Reads = ReadsTf32;
  __device__ __forceinline__ static void prepare_a(std::uint32_t (&a)[4]) {
    for (int q = 0; q < 4; ++q) a[q] = to_tf32(a[q]);
  }
  __device__ __forceinline__ static void mma(float (&d)[4], const std::uint32_t (&a)[4], std::uint32_t b0, std::uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
  /// d = a * b (a zero accumulator: the first k-step of a tile needs no zeroing of d).
  __device__ __forceinline__ static void mma_zero(float (&d)[4], const std::uint32_t (&a)[4], std::uint32_t b0, std::uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%10,%10,%10};\n"
        : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1), "f"(0.f));
  }
};

}  // namespace fkm::cuda
