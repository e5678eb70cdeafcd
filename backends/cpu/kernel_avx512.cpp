// The double score kernels compiled with AVX-512F (this file gets -mavx512f -mfma); chosen at
// run time only on CPUs that have it. A panel of 8 doubles is one zmm register, so the portable
// loop nest of score_kernel.hpp vectorises as it stands. The float kernels are in
// kernel_avx512_f32.cpp.
#include "kernels.hpp"
#include "score_kernel.hpp"

namespace fkm::cpu {
KernelTable<double> avx512_kernels_f64() { return {&argmin_block<double>, &argmin2_block<double>, &scores_block<double>}; }
}  // namespace fkm::cpu
