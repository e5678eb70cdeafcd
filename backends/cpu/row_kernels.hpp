// Per-row kernels around the score kernel: packing a block of rows, the exact distance of each
// row to its chosen centroid, and the per-cluster sums of the update. Portable versions for every
// storage type S; kernel_avx2_f32.cpp has AVX2 versions for float data that give the same bits.
//
// Compiled into TUs of different instruction sets (cpu_backend.cpp, kernel_generic.cpp,
// kernel_avx2_f32.cpp), so everything here has internal linkage (anonymous namespace): with
// external linkage the linker keeps one instantiation of each template for the whole program,
// which silently ran the baseline-ISA sums where the AVX2 ones were meant, and could run AVX2 code
// on a CPU without it.
#pragma once
#include <cstdint>

#include "point_tiles.hpp"

namespace fkm::cpu {
namespace {

/// Squared L2 distance in fp64 between one packed row (x = tile + r * G, point_tiles.hpp: its
/// group g starts at x + g * R) and a centroid padded with zeros to dp = padded_depth(d)
/// features. Packed values are the stored values exactly (fp16/bf16 widen exactly to fp32), so
/// this is the distance of the data as stored. Summed in a fixed 8-way order: lane j takes the
/// features f = j (mod 8) in increasing f, then ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7)).
/// Products and sums are separately rounded (no fused multiply-add; padding adds +0), so every
/// instruction set gives the same bits.
template <class T>
double l2_distance_packed(const T* x, const double* c, std::int64_t dp) {
  static_assert(kDepthGroup == 8, "the 8-way order is one lane per feature of a group");
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (std::int64_t g = 0; g < dp; g += kDepthGroup, x += kDepthGroup * kMicroRows)
    for (int j = 0; j < kDepthGroup; ++j) {
      const double t = double(x[j]) - c[g + j];
      const double sq = t * t;
      lane[j] += sq;
    }
  return ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
}

/// l2_distance_packed of the first `rows` rows of one packed tile (row r against c[r]).
template <class T>
void l2_distance_tile(const T* tile, const double* const* c, std::int64_t dp, int rows, double* out) {
  for (int r = 0; r < rows; ++r) out[r] = l2_distance_packed(tile + r * kDepthGroup, c[r], dp);
}

/// The same distance and the same bits, from a stored row (d features) and an unpadded centroid.
template <class S>
double l2_distance_row(const S* x, const double* c, std::int64_t d) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (std::int64_t f = 0; f < d; ++f) {
    const double t = widen(x[f]) - c[f];
    const double sq = t * t;
    lane[f % 8] += sq;
  }
  return ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
}

/// sums[label_i * d + f] += w_i * x_if for f in [f0, f1), i in index order (the reference's
/// order); w == nullptr means every weight is 1 (then the product is skipped: 1 * x == x).
/// Rows with zero weight are skipped.
template <class S>
void accumulate_rows(const S* x, std::int64_t stride, std::int64_t n, const std::int32_t* labels, const double* w,
                     std::int64_t f0, std::int64_t f1, std::int64_t d, double* sums) {
  for (std::int64_t i = 0; i < n; ++i) {
    const S* row = x + i * stride;
    double* sum = sums + std::int64_t(labels[i]) * d;
    if (!w) {
      for (std::int64_t f = f0; f < f1; ++f) sum[f] += widen(row[f]);
    } else if (w[i] != 0) {
      const double wi = w[i];
      for (std::int64_t f = f0; f < f1; ++f) {
        const double p = wi * widen(row[f]);
        sum[f] += p;
      }
    }
  }
}

}  // namespace
}  // namespace fkm::cpu

namespace fkm::cpu {
namespace {

/// One cluster of the sort-inverse update: sum += w_i * x_i over its rows idx[0..m) (ascending),
/// in index order (the reference's order, and accumulate_rows' bits; w == nullptr: every weight
/// is 1; rows of zero weight add nothing). The sum row stays in L1 for the whole cluster.
template <class S, int kAhead = 4>
void cluster_sums(const S* x, std::int64_t stride, const std::int64_t* idx, std::int64_t m, const double* w,
                  std::int64_t d, double* sum) {
  for (std::int64_t t = 0; t < m; ++t) {
    const std::int64_t i = idx[t];
    if (t + kAhead < m) {  // the rows of a cluster are scattered: fetch the one kAhead rows ahead
      const char* next = reinterpret_cast<const char*>(x + idx[t + kAhead] * stride);
      for (std::int64_t b = 0; b < d * std::int64_t(sizeof(S)); b += 64) __builtin_prefetch(next + b);
    }
    const S* row = x + i * stride;
    if (!w) {
      for (std::int64_t f = 0; f < d; ++f) sum[f] += widen(row[f]);
    } else if (w[i] != 0) {
      const double wi = w[i];
      for (std::int64_t f = 0; f < d; ++f) {
        const double p = wi * widen(row[f]);
        sum[f] += p;
      }
    }
  }
}

}  // namespace
}  // namespace fkm::cpu
