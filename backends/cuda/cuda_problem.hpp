// The CUDA Problem: one data set bound to one GPU. See cuda_problem.cu.
#pragma once
#include <memory>

#include "fkm/backend.hpp"

namespace fkm::cuda {

/// Binds `spec` (host or device views of fp16/bf16/fp32/fp64 data) to CUDA device `device`.
std::unique_ptr<Problem> make_cuda_problem(const ProblemSpec& spec, int device);

}  // namespace fkm::cuda
