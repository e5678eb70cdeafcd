// Centroids packed for the CPU score kernel: [panels][Dp][W] (Dp = D padded with zero features
// to whole groups, as the packed rows are: point_tiles.hpp), plus a per-centroid bias.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "aligned.hpp"
#include "fkm/params.hpp"
#include "point_tiles.hpp"

namespace fkm::cpu {

template <class T>
struct Panels {
  static constexpr int W = 64 / int(sizeof(T));  ///< centroids per panel: one 64-byte line of T
  std::int64_t k = 0, d = 0, depth = 0, panels = 0;  ///< depth: padded_depth(d)
  AlignedVector<T> packed;  ///< panels * depth * W
  AlignedVector<T> bias;    ///< panels * W: ||c - shift||^2 for L2, 0 otherwise; +inf for padding columns
  T scale = T(-2);          ///< -2 for L2 (||c||^2 - 2<x,c>), -1 for inner product and cosine

  std::int64_t padded_k() const { return panels * W; }
  const T* panel(std::int64_t p) const { return packed.data() + p * depth * W; }

  /// Pack m centroids (m x d fp64, already normalised for cosine). shift (L2 only, may be
  /// null): subtracted from every centroid, as it is from every packed row (point_tiles.hpp);
  /// then both are multiplied by `value_scale`, a power of two (exact) that keeps the scores of
  /// data of extreme magnitude inside the compute type's range.
  void pack(const double* c, std::int64_t m, std::int64_t dim, Metric metric, const double* shift,
            double value_scale = 1) {
    k = m;
    d = dim;
    depth = padded_depth(dim);
    panels = (m + W - 1) / W;
    packed.assign(panels * depth * W, T(0));
    bias.assign(panels * W, std::numeric_limits<T>::infinity());
    scale = metric == Metric::L2 ? T(-2) : T(-1);
    for (std::int64_t j = 0; j < m; ++j) {
      const std::int64_t p = j / W, col = j % W;
      double norm2 = 0;
      for (std::int64_t f = 0; f < d; ++f) {
        const T v = T((shift && metric == Metric::L2 ? c[j * d + f] - shift[f] : c[j * d + f]) * value_scale);
        packed[(p * depth + f) * W + col] = v;
        norm2 += double(v) * double(v);
      }
      bias[j] = metric == Metric::L2 ? T(norm2) : T(0);
    }
  }
};

}  // namespace fkm::cpu
