#include "kernels.hpp"

namespace fkm::cpu {
namespace {
bool has_avx2_fma() {
#if defined(FKM_CPU_HAVE_AVX2) && (defined(__x86_64__) || defined(__i386__))
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
#else
  return false;
#endif
}
}  // namespace

std::string kernel_isa() { return has_avx2_fma() ? "avx2+fma" : "generic"; }

FloatRowKernels float_row_kernels() {
#ifdef FKM_CPU_HAVE_AVX2
  if (has_avx2_fma()) return avx2_float_row_kernels();
#endif
  return generic_float_row_kernels();
}

template <>
KernelTable<float> kernels_for<float>() {
#ifdef FKM_CPU_HAVE_AVX2
  if (has_avx2_fma()) return avx2_kernels_f32();
#endif
  return generic_kernels_f32();
}
template <>
KernelTable<double> kernels_for<double>() {
#ifdef FKM_CPU_HAVE_AVX2
  if (has_avx2_fma()) return avx2_kernels_f64();
#endif
  return generic_kernels_f64();
}

}  // namespace fkm::cpu
