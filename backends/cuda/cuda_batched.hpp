// Batched problems on the CUDA backend: Backend::fit_batch with one launch per phase over all
// problems (cuda_batched.cuh; docs/cuda.md, "Batched problems").
#pragma once
#include <vector>

#include "fkm/backend.hpp"

namespace fkm::cuda {

/// Fits the batch as backend.fit_batch must (fkm/backend.hpp): every problem's result bitwise
/// that of fitting it alone. Runs backend's default loop (Backend::fit_batch) where the batch
/// cannot run together (cuda_batched.cuh lists when).
std::vector<KMeansResult> fit_batch_on_gpu(const Backend& backend, const BatchedMatrixView& x, const KMeansParams& params,
                                           const BatchedFitOptions& options);

}  // namespace fkm::cuda
