// The score kernels compiled with AVX2 + FMA (this file gets -mavx2 -mfma); chosen at run time
// only on CPUs that have both.
#include "kernels.hpp"
#include "score_kernel.hpp"

namespace fkm::cpu {
KernelTable<float> avx2_kernels_f32() { return {&argmin_block<float>, &scores_block<float>}; }
KernelTable<double> avx2_kernels_f64() { return {&argmin_block<double>, &scores_block<double>}; }
}  // namespace fkm::cpu
