// Types shared by the Kokkos backend's kernels: the execution and memory space, device-callable
// element widening (fp16 / bf16 / fp32 / fp64 storage), math that differs between Kokkos 3.4 and
// 4.x, and the counter-based RNG of core/src/rng.hpp in device-callable form.
//
// Everything here is written to the API common to Kokkos 3.4 (Debian's libtrilinos-kokkos-dev)
// and Kokkos 4.x; where the two differ the switch is on KOKKOS_VERSION and says why.
#pragma once
#include <Kokkos_Core.hpp>
#include <cstdint>

#include "fkm/view.hpp"

namespace fkm::kokkos {

using Index = std::int64_t;
/// The backend runs on Kokkos' default execution space: whatever Kokkos was built for
/// (Serial, OpenMP, Threads, Cuda, HIP, SYCL). Every kernel is written for any of them.
using ExecSpace = Kokkos::DefaultExecutionSpace;
using MemSpace = ExecSpace::memory_space;
using TeamMember = Kokkos::TeamPolicy<ExecSpace>::member_type;
using Range = Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<Index>>;

template <class T>
using DeviceVector = Kokkos::View<T*, MemSpace>;
/// Row-major on every space, so a K x D block of centroids is one contiguous host array.
template <class T>
using DeviceMatrix = Kokkos::View<T**, Kokkos::LayoutRight, MemSpace>;
template <class T>
using HostVector = Kokkos::View<T*, Kokkos::HostSpace>;
template <class T>
using HostMatrix = Kokkos::View<T**, Kokkos::LayoutRight, Kokkos::HostSpace>;
template <class T>
using ScratchVector = Kokkos::View<T*, ExecSpace::scratch_memory_space, Kokkos::MemoryUnmanaged>;

/// True when kernels may read host memory (Serial, OpenMP, Threads): caller arrays in host
/// memory are then viewed in place instead of copied.
constexpr bool kernels_read_host = Kokkos::SpaceAccessibility<ExecSpace, Kokkos::HostSpace>::accessible;

/// An uninitialised device allocation (its contents are written before being read).
template <class View, class... Extents>
View uninitialised(const char* label, Extents... n) {
  return View(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)), n...);
}

// ---- device math -------------------------------------------------------------------------
KOKKOS_INLINE_FUNCTION double device_sqrt(double v) {
#if KOKKOS_VERSION >= 30700
  return Kokkos::sqrt(v);  // Kokkos 3.7 moved the math functions out of Experimental
#else
  return Kokkos::Experimental::sqrt(v);
#endif
}

/// acc + a * b for the fp32 score kernel (flash_assign.hpp). On a GPU it is one fused
/// multiply-add (one instruction, one rounding): the backend's GPU sources are compiled without
/// contraction (backends/kokkos/CMakeLists.txt: --fmad=false / -ffp-contract=off) so that its
/// fp64 arithmetic is the reference's operation by operation, and this is the one place that
/// asks for the fused form back. On the host it is a multiply and an add (the host compilers
/// contract nothing in ISO C++ mode, and a fused multiply-add without -mfma is a library call).
/// Only the fp32 scores change, i.e. labels at near-ties: the tests' tolerance for them.
KOKKOS_INLINE_FUNCTION float multiply_add(float a, float b, float acc) {
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
  return fmaf(a, b, acc);
#else
  return acc + a * b;
#endif
}
/// fp64 scores stay a multiply and an add everywhere: the same bits on host and GPU spaces.
KOKKOS_INLINE_FUNCTION double multiply_add(double a, double b, double acc) { return acc + a * b; }

/// NaN and +-Inf are the values for which v - v is not 0 (no isfinite needed on the device).
KOKKOS_INLINE_FUNCTION bool is_finite(double v) { return v - v == 0.0; }

KOKKOS_INLINE_FUNCTION float float_from_bits(std::uint32_t u) {
  // Type punning through a union: documented to work by GCC, Clang and NVCC, and (unlike
  // memcpy / std::bit_cast) callable in device code on every Kokkos 3.4 and 4.x backend.
  union {
    std::uint32_t u;
    float f;
  } pun{u};
  return pun.f;
}

// ---- element storage ---------------------------------------------------------------------
/// How a dtype is stored in a view over the caller's memory, and how it is widened.
/// `compute` is the type of the assignment kernel's dot products: fp64 data in fp64, the rest
/// in fp32 (as the CPU backend; labels are then exact up to near-ties, see docs/backends.md).
template <DType DT>
struct Storage;

template <>
struct Storage<DType::F32> {
  using type = float;
  using compute = float;
  KOKKOS_INLINE_FUNCTION static float widen(float v) { return v; }
};
template <>
struct Storage<DType::F64> {
  using type = double;
  using compute = double;
  KOKKOS_INLINE_FUNCTION static double widen(double v) { return v; }
};
template <>
struct Storage<DType::F16> {
  using type = std::uint16_t;  // the bits of an fkm::half
  using compute = float;
  /// Exact binary16 -> binary32 (same results as fkm::to_float(half)).
  KOKKOS_INLINE_FUNCTION static float widen(std::uint16_t h) {
    const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
    const std::uint32_t exp = (h >> 10) & 0x1fu;
    std::uint32_t man = h & 0x3ffu;
    if (exp == 0x1f) return float_from_bits(sign | 0x7f800000u | (man << 13));
    if (exp != 0) return float_from_bits(sign | ((exp + (127 - 15)) << 23) | (man << 13));
    if (man == 0) return float_from_bits(sign);
    int e = -1;  // subnormal: shift the mantissa up to its leading 1
    do {
      man <<= 1;
      ++e;
    } while ((man & 0x400u) == 0);
    return float_from_bits(sign | (std::uint32_t(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13));
  }
};
template <>
struct Storage<DType::BF16> {
  using type = std::uint16_t;  // the bits of an fkm::bfloat16
  using compute = float;
  KOKKOS_INLINE_FUNCTION static float widen(std::uint16_t b) { return float_from_bits(std::uint32_t(b) << 16); }
};

/// The data X as kernels see it: a flat view of the caller's rows (or of a device copy), row i
/// starting at element i * stride. `scale` is 1/||x_i|| for the cosine metric (else empty).
template <DType DT>
struct Rows {
  using S = typename Storage<DT>::type;
  using T = typename Storage<DT>::compute;
  Kokkos::View<const S*, MemSpace> data;
  Index n = 0, d = 0, stride = 0;

  KOKKOS_INLINE_FUNCTION T at(Index i, Index f) const { return T(Storage<DT>::widen(data(i * stride + f))); }
  KOKKOS_INLINE_FUNCTION double at64(Index i, Index f) const { return double(Storage<DT>::widen(data(i * stride + f))); }
};

// ---- counter-based RNG: the arithmetic of core/src/rng.hpp, callable on the device ----------
// (rng.hpp's constexpr functions are host-only for NVCC without --expt-relaxed-constexpr.)
KOKKOS_INLINE_FUNCTION constexpr std::uint64_t device_mix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
KOKKOS_INLINE_FUNCTION constexpr double device_uniform01(std::uint64_t seed, std::uint64_t i) {
  return double(device_mix64(seed ^ device_mix64(i)) >> 11) * 0x1.0p-53;
}

}  // namespace fkm::kokkos
