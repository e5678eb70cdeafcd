// The CPU FlashAssign kernel: scores s_ij = bias_j + scale * <x_i, c_j> for a block of rows
// against centroids packed in panels, with the argmin fused in (no N x K matrix).
//
//   centroid panel p: [D x W] (W = 64 bytes of T: 16 floats or 8 doubles), d-major, so one
//   d-step of the micro-kernel is R broadcasts of x and W-wide fused multiply-adds;
//   micro-kernel:     [R = 6 rows] x [W cols] accumulators in registers (the BLIS AVX2 shape);
//   block:            rows of one block stay in L2 while every panel (L1) streams past them.
//
// This header is compiled once per instruction set (kernel_generic.cpp, kernel_avx2.cpp), so
// everything here has internal linkage (anonymous namespace): no ODR clash between the copies.
#pragma once
#include <cstdint>
#include <limits>

#include "panels.hpp"

namespace fkm::cpu {
namespace {

constexpr int kMicroRows = 6;

/// acc[r][c] = <x_r, panel column c> for R rows (row r at x + r * stride).
template <class T, int R>
inline void micro_kernel(const T* x, std::int64_t stride, const T* panel, std::int64_t d, T (&acc)[kMicroRows][Panels<T>::W]) {
  constexpr int W = Panels<T>::W;
  T a[R][W];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < W; ++c) a[r][c] = T(0);
  for (std::int64_t f = 0; f < d; ++f) {
    const T* cf = panel + f * W;
    for (int r = 0; r < R; ++r) {
      const T xv = x[r * stride + f];
#pragma omp simd
      for (int c = 0; c < W; ++c) a[r][c] += xv * cf[c];
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < W; ++c) acc[r][c] = a[r][c];
}

/// Runs the micro-kernel over `rows` rows (any count) for one panel and hands each
/// (row, panel) result to epilogue(row, acc_row).
template <class T, class Epilogue>
inline void for_rows(const T* x, std::int64_t stride, std::int64_t rows, const T* panel, std::int64_t d, Epilogue&& epi) {
  T acc[kMicroRows][Panels<T>::W];
  std::int64_t r0 = 0;
  for (; r0 + kMicroRows <= rows; r0 += kMicroRows) {
    micro_kernel<T, kMicroRows>(x + r0 * stride, stride, panel, d, acc);
    for (int r = 0; r < kMicroRows; ++r) epi(r0 + r, acc[r]);
  }
  for (; r0 < rows; ++r0) {
    micro_kernel<T, 1>(x + r0 * stride, stride, panel, d, acc);
    epi(r0, acc[0]);
  }
}

/// FlashAssign on one block: best score and its centroid index per row; ties to the lower index.
template <class T>
void argmin_block(const T* x, std::int64_t stride, std::int64_t rows, const Panels<T>& P, std::int32_t* label, T* best) {
  constexpr int W = Panels<T>::W;
  for (std::int64_t r = 0; r < rows; ++r) {
    best[r] = std::numeric_limits<T>::infinity();
    label[r] = 0;
  }
  for (std::int64_t p = 0; p < P.panels; ++p) {
    const T* bias = P.bias.data() + p * W;
    const T scale = P.scale;
    const std::int32_t base = std::int32_t(p * W);
    for_rows(x, stride, rows, P.panel(p), P.d, [&](std::int64_t r, const T* acc) {
      T b = best[r];
      std::int32_t l = label[r];
      for (int c = 0; c < W; ++c) {
        const T s = bias[c] + scale * acc[c];
        if (s < b) {
          b = s;
          l = base + c;
        }
      }
      best[r] = b;
      label[r] = l;
    });
  }
}

/// All scores of one block: out[r * P.padded_k() + j].
template <class T>
void scores_block(const T* x, std::int64_t stride, std::int64_t rows, const Panels<T>& P, T* out) {
  constexpr int W = Panels<T>::W;
  const std::int64_t ld = P.padded_k();
  for (std::int64_t p = 0; p < P.panels; ++p) {
    const T* bias = P.bias.data() + p * W;
    for_rows(x, stride, rows, P.panel(p), P.d, [&](std::int64_t r, const T* acc) {
      for (int c = 0; c < W; ++c) out[r * ld + p * W + c] = bias[c] + P.scale * acc[c];
    });
  }
}

}  // namespace

}  // namespace fkm::cpu
