// The double score kernels compiled with AVX2 + FMA (this file gets -mavx2 -mfma); chosen at
// run time only on CPUs that have both. The float kernels are in kernel_avx2_f32.cpp.
#include "kernels.hpp"
#include "score_kernel.hpp"

namespace fkm::cpu {
KernelTable<double> avx2_kernels_f64() { return {&argmin_block<double>, &argmin2_block<double>, &scores_block<double>}; }
}  // namespace fkm::cpu
