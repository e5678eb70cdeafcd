// The portable CPU FlashAssign kernel: scores s_ij = bias_j + scale * <x_i, c_j> for a block of
// packed rows against centroids packed in panels, with the argmin fused in (no N x K matrix).
//
//   rows:         [tiles][Dp/G][R][G] (point_tiles.hpp), R = 6 rows, G = 8 features a group
//   centroids:    panel p = [Dp x W] (W = 64 bytes of T: 16 floats or 8 doubles), d-major
//   micro-kernel: [R x W] accumulators; one feature step = R broadcasts and R x W multiply-adds
//   loop nest:    for panel p, for depth chunk (panel chunk in L1), for tile (block in L2)
// The dot products are summed in feature order whatever the chunking, so the blocking changes
// no result. kernel_avx2_f32.cpp is the hand-vectorised float version of the same loop nest.
//
// This header is compiled once per instruction set (kernel_generic.cpp, kernel_avx2.cpp), so
// everything here has internal linkage (anonymous namespace): no ODR clash between the copies.
#pragma once
#include <algorithm>
#include <cstdint>
#include <limits>

#include "kernels.hpp"

namespace fkm::cpu {
namespace {

/// For each (panel, tile): the R x W dot products, handed to finish(p, t, acc) once all
/// features are summed. Partial sums wait in ws.partial between depth chunks.
template <class T, class Finish>
void for_each_tile(const T* tiles, std::int64_t rows, const Panels<T>& P, std::int64_t chunk, KernelWorkspace<T>& ws,
                   Finish&& finish) {
  constexpr int W = Panels<T>::W, R = kMicroRows, G = kDepthGroup;
  const std::int64_t d = P.depth, ntiles = tiles_of(rows), tsize = tile_size(P.d);
  for (std::int64_t p = 0; p < P.panels; ++p) {
    for (std::int64_t f0 = 0; f0 < d; f0 += chunk) {
      const std::int64_t len = std::min(chunk, d - f0);
      const bool first = f0 == 0, last = f0 + len >= d;
      const T* pc = P.panel(p) + f0 * W;
      for (std::int64_t t = 0; t < ntiles; ++t) {
        const T* xt = tiles + t * tsize + f0 * R;
        T* carried = ws.partial.data() + t * R * W;
        T a[R][W];
        for (int r = 0; r < R; ++r)
          for (int c = 0; c < W; ++c) a[r][c] = first ? T(0) : carried[r * W + c];
        for (std::int64_t g = 0; g < len; g += G)
          for (int j = 0; j < G; ++j)
            for (int r = 0; r < R; ++r) {
              const T xv = xt[g * R + r * G + j];
#pragma omp simd
              for (int c = 0; c < W; ++c) a[r][c] += xv * pc[(g + j) * W + c];
            }
        if (last) {
          finish(p, t, a);
        } else {
          for (int r = 0; r < R; ++r)
            for (int c = 0; c < W; ++c) carried[r * W + c] = a[r][c];
        }
      }
    }
  }
}

/// FlashAssign on one block: best score and its centroid index per row, ties to the lower index;
/// with second (argmin2), also each row's second-best score: the least score of every other
/// centroid (+inf when there is none).
template <bool kSecond, class T>
void argmin_rows(const T* tiles, std::int64_t rows, const Panels<T>& P, std::int64_t chunk, KernelWorkspace<T>& ws,
                 std::int32_t* label, T* best, T* second) {
  constexpr int W = Panels<T>::W, R = kMicroRows;
  for (std::int64_t r = 0; r < rows; ++r) {
    best[r] = std::numeric_limits<T>::infinity();
    if (kSecond) second[r] = best[r];
    label[r] = 0;
  }
  for_each_tile(tiles, rows, P, chunk, ws, [&](std::int64_t p, std::int64_t t, const T (&a)[R][W]) {
    const T* bias = P.bias.data() + p * W;
    const std::int32_t base = std::int32_t(p * W);
    for (int r = 0; r < R; ++r) {
      const std::int64_t i = t * R + r;
      if (i >= rows) break;
      T b = best[i], s2 = kSecond ? second[i] : b;
      std::int32_t l = label[i];
      for (int c = 0; c < W; ++c) {
        const T s = bias[c] + P.scale * a[r][c];
        if (kSecond) s2 = std::min(s2, std::max(b, s));
        if (s < b) {
          b = s;
          l = base + c;
        }
      }
      best[i] = b;
      if (kSecond) second[i] = s2;
      label[i] = l;
    }
  });
}

template <class T>
void argmin_block(const T* tiles, std::int64_t rows, const Panels<T>& P, std::int64_t chunk, KernelWorkspace<T>& ws,
                  std::int32_t* label, T* best) {
  argmin_rows<false>(tiles, rows, P, chunk, ws, label, best, static_cast<T*>(nullptr));
}

template <class T>
void argmin2_block(const T* tiles, std::int64_t rows, const Panels<T>& P, std::int64_t chunk, KernelWorkspace<T>& ws,
                   std::int32_t* label, T* best, T* second) {
  argmin_rows<true>(tiles, rows, P, chunk, ws, label, best, second);
}

/// All scores of one block: out[r * P.padded_k() + j].
template <class T>
void scores_block(const T* tiles, std::int64_t rows, const Panels<T>& P, std::int64_t chunk, KernelWorkspace<T>& ws,
                  T* out) {
  constexpr int W = Panels<T>::W, R = kMicroRows;
  const std::int64_t ld = P.padded_k();
  for_each_tile(tiles, rows, P, chunk, ws, [&](std::int64_t p, std::int64_t t, const T (&a)[R][W]) {
    const T* bias = P.bias.data() + p * W;
    for (int r = 0; r < R; ++r) {
      const std::int64_t i = t * R + r;
      if (i >= rows) break;
      for (int c = 0; c < W; ++c) out[i * ld + p * W + c] = bias[c] + P.scale * a[r][c];
    }
  });
}

}  // namespace
}  // namespace fkm::cpu
