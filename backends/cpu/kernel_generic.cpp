// The score and row kernels compiled for the baseline instruction set of the target.
#include "kernels.hpp"
#include "row_kernels.hpp"
#include "score_kernel.hpp"

namespace fkm::cpu {
KernelTable<float> generic_kernels_f32() { return {&argmin_block<float>, &argmin2_block<float>, &scores_block<float>}; }
KernelTable<double> generic_kernels_f64() { return {&argmin_block<double>, &argmin2_block<double>, &scores_block<double>}; }
FloatRowKernels generic_float_row_kernels() {
  return {&l2_distance_tile<float>, &l2_distance_row<float>, &accumulate_rows<float>, &cluster_sums<float>};
}
}  // namespace fkm::cpu
