// Run-time choice of the CPU kernels: the best instruction set this CPU has (and this build
// compiled), optionally capped by FKM_CPU_KERNELS. Every choice gives the same labels up to
// near-ties, and the same exact distances and update sums bit for bit (row_kernels.hpp).
#include "kernels.hpp"

#include <cstdlib>
#include <cstring>

namespace fkm::cpu {

bool cpu_supports(KernelIsa isa) {
  switch (isa) {
    case KernelIsa::Generic: return true;
#if defined(FKM_CPU_HAVE_AVX2) && (defined(__x86_64__) || defined(__i386__))
    case KernelIsa::Avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case KernelIsa::Avx512:
      return cpu_supports(KernelIsa::Avx2) && __builtin_cpu_supports("avx512f");
#else
    case KernelIsa::Avx2:
    case KernelIsa::Avx512: return false;
#endif
  }
  return false;
}

KernelIsa kernel_isa_in_use() {
  static const KernelIsa chosen = [] {
    KernelIsa cap = KernelIsa::Avx512;
    if (const char* v = std::getenv("FKM_CPU_KERNELS")) {
      if (std::strcmp(v, "generic") == 0) cap = KernelIsa::Generic;
      else if (std::strcmp(v, "avx2") == 0) cap = KernelIsa::Avx2;
    }
    for (KernelIsa isa : {KernelIsa::Avx512, KernelIsa::Avx2})
      if (int(isa) <= int(cap) && cpu_supports(isa)) return isa;
    return KernelIsa::Generic;
  }();
  return chosen;
}

std::string kernel_isa() {
  switch (kernel_isa_in_use()) {
    case KernelIsa::Avx512: return "avx512f";
    case KernelIsa::Avx2: return "avx2+fma";
    case KernelIsa::Generic: break;
  }
  return "generic";
}

FloatRowKernels float_row_kernels() {
#ifdef FKM_CPU_HAVE_AVX2
  if (kernel_isa_in_use() != KernelIsa::Generic) return avx2_float_row_kernels();
#endif
  return generic_float_row_kernels();
}

template <>
KernelTable<float> kernels_for<float>() {
#ifdef FKM_CPU_HAVE_AVX2
  if (kernel_isa_in_use() == KernelIsa::Avx512) return avx512_kernels_f32();
  if (kernel_isa_in_use() == KernelIsa::Avx2) return avx2_kernels_f32();
#endif
  return generic_kernels_f32();
}
template <>
KernelTable<double> kernels_for<double>() {
#ifdef FKM_CPU_HAVE_AVX2
  if (kernel_isa_in_use() == KernelIsa::Avx512) return avx512_kernels_f64();
  if (kernel_isa_in_use() == KernelIsa::Avx2) return avx2_kernels_f64();
#endif
  return generic_kernels_f64();
}

}  // namespace fkm::cpu
