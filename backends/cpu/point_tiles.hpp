// Rows packed for the CPU score kernel: [tiles][D][R] with R = kMicroRows rows per tile, so one
// feature step of the micro-kernel reads R consecutive values. Packing also converts the
// storage type (fp16/bf16/fp32/fp64) to the compute type and, for L2, subtracts the shift (the
// data mean, as scikit-learn centres its data): the scores keep their precision when the data
// sit far from the origin. Rows past `rows` in the last tile are zero.
#pragma once
#include <cstdint>

#include "fkm/half.hpp"

namespace fkm::cpu {

constexpr int kMicroRows = 6;

inline double widen(float v) { return v; }
inline double widen(double v) { return v; }
inline double widen(half v) { return to_float(v); }
inline double widen(bfloat16 v) { return to_float(v); }

inline std::int64_t tiles_of(std::int64_t rows) { return (rows + kMicroRows - 1) / kMicroRows; }

/// out: tiles_of(rows) * d * kMicroRows values. shift: d values or null.
template <class T, class S>
void pack_rows(const S* x, std::int64_t stride, std::int64_t rows, std::int64_t d, const double* shift, T* out) {
  const std::int64_t tiles = tiles_of(rows);
  for (std::int64_t t = 0; t < tiles; ++t) {
    T* tile = out + t * d * kMicroRows;
    for (int r = 0; r < kMicroRows; ++r) {
      const std::int64_t i = t * kMicroRows + r;
      if (i >= rows) {
        for (std::int64_t f = 0; f < d; ++f) tile[f * kMicroRows + r] = T(0);
        continue;
      }
      const S* row = x + i * stride;
      if (shift) {
        for (std::int64_t f = 0; f < d; ++f) tile[f * kMicroRows + r] = T(widen(row[f]) - shift[f]);
      } else {
        for (std::int64_t f = 0; f < d; ++f) tile[f * kMicroRows + r] = T(widen(row[f]));
      }
    }
  }
}

}  // namespace fkm::cpu
