// Run-time choice of the score kernels for this CPU.
#pragma once
#include <cstdint>
#include <string>

#include "panels.hpp"

namespace fkm::cpu {

/// The kernels of one instruction set (score_kernel.hpp): for a block of `rows` rows at x with
/// `stride` elements between rows.
template <class T>
struct KernelTable {
  /// best score and its centroid index per row (ties to the lower index)
  void (*argmin)(const T* x, std::int64_t stride, std::int64_t rows, const Panels<T>& P, std::int32_t* label, T* best);
  /// every score: out[r * P.padded_k() + j]
  void (*scores)(const T* x, std::int64_t stride, std::int64_t rows, const Panels<T>& P, T* out);
};

KernelTable<float> generic_kernels_f32();
KernelTable<double> generic_kernels_f64();
#ifdef FKM_CPU_HAVE_AVX2
KernelTable<float> avx2_kernels_f32();
KernelTable<double> avx2_kernels_f64();
#endif

/// "avx2+fma" or "generic": the kernels kernels_for() returns on this CPU.
std::string kernel_isa();
template <class T>
KernelTable<T> kernels_for();

}  // namespace fkm::cpu
