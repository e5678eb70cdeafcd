// The ProblemSpec a fit binds, from its params: one place, so a new option reaches every
// caller (KMeans::fit, predict/transform, fit_distributed) the same way.
#pragma once
#include <cstdint>

#include "fkm/backend.hpp"

namespace fkm::detail {

inline ProblemSpec problem_spec(const KMeansParams& p, const MatrixView& x, const VectorView& w,
                                std::int64_t row_offset = 0) {
  ProblemSpec spec;
  spec.x = x;
  spec.weights = w;
  spec.metric = p.metric;
  spec.precision = p.precision;
  spec.pruning = p.pruning;
  spec.num_threads = p.num_threads;
  spec.max_device_bytes = p.max_device_bytes;
  spec.stream_chunk_rows = p.stream_chunk_rows;
  spec.k = p.k;
  spec.row_offset = row_offset;
  return spec;
}

}  // namespace fkm::detail
