// The score kernels compiled for the baseline instruction set of the target.
#include "kernels.hpp"
#include "score_kernel.hpp"

namespace fkm::cpu {
KernelTable<float> generic_kernels_f32() { return {&argmin_block<float>, &scores_block<float>}; }
KernelTable<double> generic_kernels_f64() { return {&argmin_block<double>, &scores_block<double>}; }
}  // namespace fkm::cpu
