// The float score kernels hand-vectorised for AVX2 + FMA (this file gets -mavx2 -mfma; chosen at
// run time only on CPUs that have both). Same loop nest as score_kernel.hpp:
//
//   micro-kernel: [6 rows x 16 centroids] = 12 ymm accumulators kept in registers; one feature
//                 step = 2 panel loads, 6 broadcasts, 12 FMAs (2 + 1 registers left over)
//   argmin:       per row, a running (min, index) per lane ([rows][8] in the workspace), updated
//                 with compares and blends after each panel (argmin2: and the second-least score
//                 per lane); the 8 lanes are reduced once at the end of the block. Ties go to the lower index: within a lane, columns arrive in
//                 increasing order and only a strictly smaller score replaces the minimum.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <limits>

#include "kernels.hpp"
#include "lane_reduce.hpp"
#include "row_kernels.hpp"

namespace fkm::cpu {
namespace {

constexpr int R = kMicroRows;
constexpr int W = Panels<float>::W;  // 16 = 2 ymm
static_assert(W == 16, "the AVX2 float kernel is written for 16-wide panels");

struct Accumulators {
  __m256 v[R][2];
};

constexpr int G = kDepthGroup;

/// acc += x[r][f] * panel[f][c] for f < len (a multiple of G): one feature group per trip, fully
/// unrolled, so every broadcast has a constant offset.
__attribute__((always_inline)) inline void multiply_add(const float* xt, const float* pc, std::int64_t len,
                                                        Accumulators& acc) {
  for (std::int64_t g = 0; g < len; g += G, xt += G * R, pc += G * W) {
#pragma GCC unroll 8
    for (int j = 0; j < G; ++j) {
      const __m256 b0 = _mm256_load_ps(pc + j * W), b1 = _mm256_load_ps(pc + j * W + 8);
#pragma GCC unroll 6
      for (int r = 0; r < R; ++r) {
        const __m256 x = _mm256_broadcast_ss(xt + r * G + j);
        acc.v[r][0] = _mm256_fmadd_ps(x, b0, acc.v[r][0]);
        acc.v[r][1] = _mm256_fmadd_ps(x, b1, acc.v[r][1]);
      }
    }
  }
}

template <class Finish>
void for_each_tile(const float* tiles, std::int64_t rows, const Panels<float>& P, std::int64_t chunk,
                   KernelWorkspace<float>& ws, Finish&& finish) {
  const std::int64_t d = P.depth, ntiles = tiles_of(rows), tsize = tile_size(P.d);
  for (std::int64_t p = 0; p < P.panels; ++p) {
    for (std::int64_t f0 = 0; f0 < d; f0 += chunk) {
      const std::int64_t len = std::min(chunk, d - f0);
      const bool first = f0 == 0, last = f0 + len >= d;
      const float* pc = P.panel(p) + f0 * W;
      for (std::int64_t t = 0; t < ntiles; ++t) {
        const float* xt = tiles + t * tsize + f0 * R;
        float* carried = ws.partial.data() + t * R * W;
        Accumulators acc;
#pragma GCC unroll 6
        for (int r = 0; r < R; ++r) {
          acc.v[r][0] = first ? _mm256_setzero_ps() : _mm256_load_ps(carried + r * W);
          acc.v[r][1] = first ? _mm256_setzero_ps() : _mm256_load_ps(carried + r * W + 8);
        }
        multiply_add(xt, pc, len, acc);
        if (last) {
          finish(p, t, acc);
        } else {
#pragma GCC unroll 6
          for (int r = 0; r < R; ++r) {
            _mm256_store_ps(carried + r * W, acc.v[r][0]);
            _mm256_store_ps(carried + r * W + 8, acc.v[r][1]);
          }
        }
      }
    }
  }
}

/// The argmin (and with kSecond, each row's second-best score) of one block.
template <bool kSecond>
void argmin_lanes(const float* tiles, std::int64_t rows, const Panels<float>& P, std::int64_t chunk,
                  KernelWorkspace<float>& ws, std::int32_t* label, float* best, float* second) {
  constexpr int L = 8;  // lanes
  float* lane_best = ws.lane_best.data();
  float* lane_second = ws.lane_second.data();
  std::int32_t* lane_label = ws.lane_label.data();
  const __m256 inf = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  for (std::int64_t i = 0; i < rows; ++i) {
    _mm256_store_ps(lane_best + i * L, inf);
    if (kSecond) _mm256_store_ps(lane_second + i * L, inf);
    _mm256_store_si256(reinterpret_cast<__m256i*>(lane_label + i * L), _mm256_setzero_si256());
  }
  const __m256 scale = _mm256_set1_ps(P.scale);
  const __m256i lane_ids = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for_each_tile(tiles, rows, P, chunk, ws, [&](std::int64_t p, std::int64_t t, const Accumulators& acc) __attribute__((always_inline)) {
    const __m256 bias0 = _mm256_load_ps(P.bias.data() + p * W), bias1 = _mm256_load_ps(P.bias.data() + p * W + 8);
    const __m256 id0 = _mm256_castsi256_ps(_mm256_add_epi32(lane_ids, _mm256_set1_epi32(std::int32_t(p * W))));
    const __m256 id1 = _mm256_castsi256_ps(_mm256_add_epi32(lane_ids, _mm256_set1_epi32(std::int32_t(p * W + L))));
    const int valid = int(std::min<std::int64_t>(R, rows - t * R));
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {  // constant trip count: the accumulators stay in registers
      if (r >= valid) break;
      const __m256 s0 = _mm256_fmadd_ps(scale, acc.v[r][0], bias0);
      const __m256 s1 = _mm256_fmadd_ps(scale, acc.v[r][1], bias1);
      // columns c and c + 8 of this panel: the higher one wins only when strictly smaller
      const __m256 hi = _mm256_cmp_ps(s1, s0, _CMP_LT_OQ);
      const __m256 s = _mm256_blendv_ps(s0, s1, hi);
      const __m256 id = _mm256_blendv_ps(id0, id1, hi);
      float* bp = lane_best + (t * R + r) * L;
      float* lp = reinterpret_cast<float*>(lane_label + (t * R + r) * L);
      const __m256 b = _mm256_load_ps(bp);
      if (kSecond) {  // the second least of {b, second, s0, s1}: min(second, max(b, winner), loser)
        float* sp = lane_second + (t * R + r) * L;
        const __m256 loser = _mm256_blendv_ps(s1, s0, hi);
        _mm256_store_ps(sp, _mm256_min_ps(_mm256_load_ps(sp), _mm256_min_ps(loser, _mm256_max_ps(b, s))));
      }
      const __m256 better = _mm256_cmp_ps(s, b, _CMP_LT_OQ);
      _mm256_store_ps(bp, _mm256_blendv_ps(b, s, better));
      _mm256_store_ps(lp, _mm256_blendv_ps(_mm256_load_ps(lp), id, better));
    }
  });
  reduce_lanes(lane_best, lane_label, kSecond ? lane_second : nullptr, L, rows, label, best, second);
}

void argmin_block(const float* tiles, std::int64_t rows, const Panels<float>& P, std::int64_t chunk,
                  KernelWorkspace<float>& ws, std::int32_t* label, float* best) {
  argmin_lanes<false>(tiles, rows, P, chunk, ws, label, best, nullptr);
}

void argmin2_block(const float* tiles, std::int64_t rows, const Panels<float>& P, std::int64_t chunk,
                   KernelWorkspace<float>& ws, std::int32_t* label, float* best, float* second) {
  argmin_lanes<true>(tiles, rows, P, chunk, ws, label, best, second);
}

void scores_block(const float* tiles, std::int64_t rows, const Panels<float>& P, std::int64_t chunk,
                  KernelWorkspace<float>& ws, float* out) {
  const std::int64_t ld = P.padded_k();
  const __m256 scale = _mm256_set1_ps(P.scale);
  for_each_tile(tiles, rows, P, chunk, ws, [&](std::int64_t p, std::int64_t t, const Accumulators& acc) __attribute__((always_inline)) {
    const __m256 bias0 = _mm256_load_ps(P.bias.data() + p * W), bias1 = _mm256_load_ps(P.bias.data() + p * W + 8);
    const int valid = int(std::min<std::int64_t>(R, rows - t * R));
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {  // constant trip count: the accumulators stay in registers
      if (r >= valid) break;
      float* o = out + (t * R + r) * ld + p * W;
      _mm256_storeu_ps(o, _mm256_fmadd_ps(scale, acc.v[r][0], bias0));
      _mm256_storeu_ps(o + 8, _mm256_fmadd_ps(scale, acc.v[r][1], bias1));
    }
  });
}

/// l2_distance_packed<float> (row_kernels.hpp) of the rows of one packed tile, vectorised: per row,
/// lanes 0-3 in one register and 4-7 in another; multiplies and adds stay separate, so the bits
/// are the portable version's. The six rows' chains are independent, so they run interleaved
/// instead of waiting on one add latency per feature group.
template <int kRows>
void l2_distance_rows(const float* tile, const double* const* c, std::int64_t dp, double* out) {
  __m256d lo[kRows], hi[kRows];
  for (int r = 0; r < kRows; ++r) lo[r] = hi[r] = _mm256_setzero_pd();
  for (std::int64_t g = 0; g < dp; g += G, tile += G * R) {
#pragma GCC unroll 6
    for (int r = 0; r < kRows; ++r) {
      const __m256 xv = _mm256_load_ps(tile + r * G);
      const __m256d t0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(xv)), _mm256_loadu_pd(c[r] + g));
      const __m256d t1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(xv, 1)), _mm256_loadu_pd(c[r] + g + 4));
      lo[r] = _mm256_add_pd(lo[r], _mm256_mul_pd(t0, t0));
      hi[r] = _mm256_add_pd(hi[r], _mm256_mul_pd(t1, t1));
    }
  }
  for (int r = 0; r < kRows; ++r) {
    alignas(32) double s[4];
    _mm256_store_pd(s, _mm256_add_pd(lo[r], hi[r]));  // lane j: l_j + l_{j+4}
    out[r] = (s[0] + s[1]) + (s[2] + s[3]);
  }
}

void l2_distance_tile(const float* tile, const double* const* c, std::int64_t dp, int rows, double* out) {
  if (rows == R) return l2_distance_rows<R>(tile, c, dp, out);
  for (int r = 0; r < rows; ++r) l2_distance_rows<1>(tile + r * G, c + r, dp, out + r);
}

/// l2_distance_row<float>: the same 8-way order from a stored row (d features, unpadded).
double l2_distance_row(const float* x, const double* c, std::int64_t d) {
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  auto step = [&](const __m256 xv, const double* cg) {
    const __m256d t0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(xv)), _mm256_loadu_pd(cg));
    const __m256d t1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(xv, 1)), _mm256_loadu_pd(cg + 4));
    lo = _mm256_add_pd(lo, _mm256_mul_pd(t0, t0));
    hi = _mm256_add_pd(hi, _mm256_mul_pd(t1, t1));
  };
  std::int64_t f = 0;
  for (; f + G <= d; f += G) step(_mm256_loadu_ps(x + f), c + f);
  if (f < d) {  // the last partial group, zero-padded: +0 changes no lane
    alignas(32) float xs[G] = {0, 0, 0, 0, 0, 0, 0, 0};
    alignas(32) double cs[G] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (std::int64_t j = 0; f + j < d; ++j) {
      xs[j] = x[f + j];
      cs[j] = c[f + j];
    }
    step(_mm256_load_ps(xs), cs);
  }
  alignas(32) double s[4];
  _mm256_store_pd(s, _mm256_add_pd(lo, hi));
  return (s[0] + s[1]) + (s[2] + s[3]);
}

}  // namespace

KernelTable<float> avx2_kernels_f32() { return {&argmin_block, &argmin2_block, &scores_block}; }
// accumulate_rows is plain vectorisable C++; this file is compiled with -ffp-contract=off, so its
// multiplies and adds are not fused and the sums have the portable version's bits.
FloatRowKernels avx2_float_row_kernels() { return {&l2_distance_tile, &l2_distance_row, &accumulate_rows<float>, &cluster_sums<float>}; }

}  // namespace fkm::cpu
