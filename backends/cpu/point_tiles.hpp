// Rows packed for the CPU score kernel. A tile holds R = kMicroRows rows; within it, features go
// in groups of G = kDepthGroup: [tiles][D/G][R][G] (D padded with zeros to a multiple of G). One
// group is then R contiguous runs of G values, so packing is a plain vector copy of row
// segments, and the micro-kernel, unrolled by G, reads x[r][f] at a constant offset r*G + f%G.
// Packing also converts the storage type (fp16/bf16/fp32/fp64) to the compute type, exactly
// (fp16 and bf16 values are fp32 values), so the exact distances can read the packed rows while
// they are still in cache. For data far from the origin (L2) the backend passes a shift (the
// data mean, as scikit-learn centres its data), subtracted here in the compute type: the scores
// then keep their precision, and the exact distances read the stored rows instead.
// Rows past `rows` in the last tile, and features past d, are zero.
#pragma once
#include <cstdint>
#include <type_traits>

#include "fkm/half.hpp"

namespace fkm::cpu {

constexpr int kMicroRows = 6;
constexpr int kDepthGroup = 8;

inline double widen(float v) { return v; }
inline double widen(double v) { return v; }
inline double widen(half v) { return to_float(v); }
inline double widen(bfloat16 v) { return to_float(v); }

/// A stored value in the compute type (exact: fp16/bf16 values are fp32 values); no round trip
/// through double when the types already agree.
template <class T, class S>
inline T to_compute(S v) {
  if constexpr (std::is_same_v<S, T>)
    return v;
  else
    return T(widen(v));
}

inline std::int64_t tiles_of(std::int64_t rows) { return (rows + kMicroRows - 1) / kMicroRows; }
/// d rounded up to whole feature groups: the depth of packed tiles and panels.
inline std::int64_t padded_depth(std::int64_t d) { return (d + kDepthGroup - 1) / kDepthGroup * kDepthGroup; }
/// Values in one packed tile.
inline std::int64_t tile_size(std::int64_t d) { return padded_depth(d) * kMicroRows; }
/// Offset of (feature f, row r) inside a tile.
inline std::int64_t tile_offset(std::int64_t f, int r) {
  return (f / kDepthGroup) * (kDepthGroup * kMicroRows) + r * kDepthGroup + f % kDepthGroup;
}

/// Packs rows[0..count) (row_at(r): a pointer to row r's d stored values) into
/// tiles_of(count) * tile_size(d) values at out. shift: d values in the compute type, or null;
/// scale: a power of two the shifted values are multiplied by (Panels::pack says why).
template <class T, class S, class RowAt>
void pack_rows_from(RowAt&& row_at, std::int64_t count, std::int64_t d, const T* shift, T scale, T* out) {
  const std::int64_t tiles = tiles_of(count), dp = padded_depth(d);
  for (std::int64_t t = 0; t < tiles; ++t) {
    T* tile = out + t * tile_size(d);
    for (int r = 0; r < kMicroRows; ++r) {
      const std::int64_t i = t * kMicroRows + r;
      const S* row = i < count ? row_at(i) : nullptr;
      for (std::int64_t g = 0; g < dp; g += kDepthGroup) {
        T* o = tile + g * kMicroRows + r * kDepthGroup;
        if (!row) {
          for (int j = 0; j < kDepthGroup; ++j) o[j] = T(0);
          continue;
        }
        const S* seg = row + g;
        if (g + kDepthGroup <= d) {  // a whole group: a plain (vectorisable) copy
          T v[kDepthGroup];
          for (int j = 0; j < kDepthGroup; ++j) v[j] = to_compute<T>(seg[j]);
          if (shift)
            for (int j = 0; j < kDepthGroup; ++j) v[j] -= shift[g + j];
          if (scale != T(1))
            for (int j = 0; j < kDepthGroup; ++j) v[j] *= scale;
          for (int j = 0; j < kDepthGroup; ++j) o[j] = v[j];
          continue;
        }
        const int n = int(d - g);
        for (int j = 0; j < n; ++j) o[j] = (shift ? to_compute<T>(seg[j]) - shift[g + j] : to_compute<T>(seg[j])) * scale;
        for (int j = n; j < kDepthGroup; ++j) o[j] = T(0);
      }
    }
  }
}

/// Rows x[0..rows) (row i at x + i * stride) packed: tiles_of(rows) * tile_size(d) values.
template <class T, class S>
void pack_rows(const S* x, std::int64_t stride, std::int64_t rows, std::int64_t d, const T* shift, T* out,
               T scale = T(1)) {
  pack_rows_from<T, S>([&](std::int64_t i) { return x + i * stride; }, rows, d, shift, scale, out);
}

/// Rows x + idx[r] * stride for r < count packed, in that order (the pruned assignment's rows).
template <class T, class S>
void pack_rows_gather(const S* x, std::int64_t stride, const std::int64_t* idx, std::int64_t count, std::int64_t d,
                      const T* shift, T* out, T scale = T(1)) {
  pack_rows_from<T, S>([&](std::int64_t r) { return x + idx[r] * stride; }, count, d, shift, scale, out);
}

}  // namespace fkm::cpu
