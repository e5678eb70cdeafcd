// Reading elements of a dtype-tagged host view as a wider type.
#pragma once
#include <cstdint>

#include "fkm/half.hpp"
#include "fkm/view.hpp"

namespace fkm::detail {

template <class Out>
inline Out element_as(const void* base, DType t, std::int64_t i) {
  switch (t) {
    case DType::F32: return Out(static_cast<const float*>(base)[i]);
    case DType::F64: return Out(static_cast<const double*>(base)[i]);
    case DType::F16: return Out(to_float(static_cast<const half*>(base)[i]));
    case DType::BF16: return Out(to_float(static_cast<const bfloat16*>(base)[i]));
  }
  return Out(0);
}

/// Row i of a host matrix view, widened to Out (cols values).
template <class Out>
inline void load_row(const MatrixView& v, std::int64_t i, Out* out) {
  const std::int64_t base = i * v.row_stride;
  for (std::int64_t j = 0; j < v.cols; ++j) out[j] = element_as<Out>(v.data, v.dtype, base + j);
}

/// Weight i of a host vector view (1 when the view is empty).
inline double weight_at(const VectorView& w, std::int64_t i) {
  return w.data ? element_as<double>(w.data, w.dtype, i) : 1.0;
}

}  // namespace fkm::detail
