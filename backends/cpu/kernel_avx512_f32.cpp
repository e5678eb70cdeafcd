// The float score kernels hand-vectorised for AVX-512F (this file gets -mavx512f -mfma; chosen
// at run time only on CPUs that have AVX-512F). Same loop nest and the same arithmetic as
// kernel_avx2_f32.cpp — every score is one fused multiply-add chain over the features in order,
// then fma(scale, dot, bias) — so both kernels give the same labels, bit for bit:
//
//   micro-kernel: [12 rows x 32 centroids] = 2 tiles x 2 panels = 24 zmm accumulators; one
//                 feature step = 2 panel loads and 24 FMAs whose x operand is broadcast from
//                 memory ({1to16}); 32 registers leave room to spare. Edges (an odd last tile
//                 or panel) run the [6 x 32], [12 x 16] and [6 x 16] instances of the same code.
//   argmin:       per row, a running (min, index) per lane ([rows][16] in the workspace),
//                 updated panel by panel in column order with a strict compare (ties go to the
//                 lower index; argmin2: and the second-least score per lane); the 16 lanes are
//                 reduced once at the end of the block (lane_reduce.hpp).
#include <immintrin.h>

// GCC 12 warns that _mm512_min_ps / _mm512_max_ps read an undefined register: its own
// intrinsics start from _mm512_undefined_ps() (a known false positive of -Wmaybe-uninitialized).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "kernels.hpp"
#include "lane_reduce.hpp"

namespace fkm::cpu {
namespace {

constexpr int R = kMicroRows;
constexpr int G = kDepthGroup;
constexpr int W = Panels<float>::W;  // 16 = one zmm
static_assert(W == 16, "the AVX-512 float kernel is written for 16-wide panels");

/// TR tiles (of R rows) x PC panels (of W centroids).
template <int TR, int PC>
struct Accumulators {
  __m512 v[TR * R][PC];
};

/// acc += x[r][f] * panel[f][c] for f < len (a multiple of G). xt: the first tile's group at the
/// chunk start (the next tile is tsize further); pc: the first panel's chunk start (the next
/// panel is pstride further).
template <int TR, int PC>
__attribute__((always_inline)) inline void multiply_add(const float* xt, std::int64_t tsize, const float* pc,
                                                        std::int64_t pstride, std::int64_t len,
                                                        Accumulators<TR, PC>& acc) {
  for (std::int64_t g = 0; g < len; g += G, xt += G * R, pc += G * W) {
#pragma GCC unroll 8
    for (int j = 0; j < G; ++j) {
      __m512 b[PC];
#pragma GCC unroll 2
      for (int q = 0; q < PC; ++q) b[q] = _mm512_load_ps(pc + q * pstride + j * W);
#pragma GCC unroll 2
      for (int t = 0; t < TR; ++t)
#pragma GCC unroll 6
        for (int r = 0; r < R; ++r) {
          const __m512 x = _mm512_set1_ps(xt[t * tsize + r * G + j]);
#pragma GCC unroll 2
          for (int q = 0; q < PC; ++q) acc.v[t * R + r][q] = _mm512_fmadd_ps(x, b[q], acc.v[t * R + r][q]);
        }
    }
  }
}

/// The loop nest for one (tile group, panel group) shape: for each depth chunk, the TR x PC
/// block of dot products; finish(p, t, acc) once all features are summed.
template <int TR, int PC, class Finish>
__attribute__((always_inline)) inline void tile_group(const float* tiles, std::int64_t t, std::int64_t p,
                                                      const Panels<float>& P, std::int64_t chunk,
                                                      KernelWorkspace<float>& ws, Finish&& finish) {
  const std::int64_t d = P.depth, tsize = tile_size(P.d), pstride = P.depth * W;
  Accumulators<TR, PC> acc;
  for (std::int64_t f0 = 0; f0 < d; f0 += chunk) {
    const std::int64_t len = std::min(chunk, d - f0);
    const bool first = f0 == 0, last = f0 + len >= d;
    // carried partial sums between depth chunks: [tile][panel of the pair][R][W]
    float* carried = ws.partial.data() + t * 2 * R * W;
#pragma GCC unroll 12
    for (int r = 0; r < TR * R; ++r)
#pragma GCC unroll 2
      for (int q = 0; q < PC; ++q) {
        float* c = carried + ((r / R) * 2 * R + q * R + r % R) * W;
        acc.v[r][q] = first ? _mm512_setzero_ps() : _mm512_load_ps(c);
      }
    multiply_add<TR, PC>(tiles + t * tsize + f0 * R, tsize, P.panel(p) + f0 * W, pstride, len, acc);
    if (last) {
      finish(p, t, acc);
    } else {
#pragma GCC unroll 12
      for (int r = 0; r < TR * R; ++r)
#pragma GCC unroll 2
        for (int q = 0; q < PC; ++q)
          _mm512_store_ps(carried + ((r / R) * 2 * R + q * R + r % R) * W, acc.v[r][q]);
    }
  }
}

/// Every (tile pair, panel pair) of the block, the edges with the smaller instances. The depth
/// loop is inside tile_group, so a pair of panel chunks (2 x chunk x 64 bytes: the backend sizes
/// chunk for that) stays in L1 while the tiles of the block stream from L2.
template <class Finish>
void for_each_group(const float* tiles, std::int64_t rows, const Panels<float>& P, std::int64_t chunk,
                    KernelWorkspace<float>& ws, Finish&& finish) {
  const std::int64_t ntiles = tiles_of(rows);
  for (std::int64_t p = 0; p < P.panels; p += 2) {
    const bool two_panels = p + 1 < P.panels;
    for (std::int64_t t = 0; t < ntiles; t += 2) {
      const bool two_tiles = t + 1 < ntiles;
      if (two_tiles && two_panels) tile_group<2, 2>(tiles, t, p, P, chunk, ws, finish);
      else if (two_tiles) tile_group<2, 1>(tiles, t, p, P, chunk, ws, finish);
      else if (two_panels) tile_group<1, 2>(tiles, t, p, P, chunk, ws, finish);
      else tile_group<1, 1>(tiles, t, p, P, chunk, ws, finish);
    }
  }
}

/// The argmin (and with kSecond, each row's second-best score) of one block.
template <bool kSecond>
void argmin_lanes(const float* tiles, std::int64_t rows, const Panels<float>& P, std::int64_t chunk,
                  KernelWorkspace<float>& ws, std::int32_t* label, float* best, float* second) {
  float* lane_best = ws.lane_best.data();
  float* lane_second = ws.lane_second.data();
  std::int32_t* lane_label = ws.lane_label.data();
  const __m512 inf = _mm512_set1_ps(std::numeric_limits<float>::infinity());
  for (std::int64_t i = 0; i < rows; ++i) {
    _mm512_store_ps(lane_best + i * W, inf);
    if (kSecond) _mm512_store_ps(lane_second + i * W, inf);
    _mm512_store_si512(lane_label + i * W, _mm512_setzero_si512());
  }
  const __m512 scale = _mm512_set1_ps(P.scale);
  const __m512i lane_ids = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  auto finish = [&](std::int64_t p, std::int64_t t, const auto& acc) __attribute__((always_inline)) {
    constexpr int rows_in = int(sizeof(acc.v) / sizeof(acc.v[0]));
    constexpr int panels_in = int(sizeof(acc.v[0]) / sizeof(acc.v[0][0]));
    const int valid = int(std::min<std::int64_t>(rows_in, rows - t * R));
#pragma GCC unroll 2
    for (int q = 0; q < panels_in; ++q) {  // panel p before p + 1: columns in increasing order
      const __m512 bias = _mm512_load_ps(P.bias.data() + (p + q) * W);
      const __m512i id = _mm512_add_epi32(lane_ids, _mm512_set1_epi32(std::int32_t((p + q) * W)));
#pragma GCC unroll 12
      for (int r = 0; r < rows_in; ++r) {  // constant trip count: the accumulators stay in registers
        if (r >= valid) break;
        const __m512 s = _mm512_fmadd_ps(scale, acc.v[r][q], bias);
        float* bp = lane_best + (t * R + r) * W;
        std::int32_t* lp = lane_label + (t * R + r) * W;
        const __m512 b = _mm512_load_ps(bp);
        if (kSecond) {  // the second least of {b, second, s}
          float* sp = lane_second + (t * R + r) * W;
          _mm512_store_ps(sp, _mm512_min_ps(_mm512_load_ps(sp), _mm512_max_ps(b, s)));
        }
        const __mmask16 better = _mm512_cmp_ps_mask(s, b, _CMP_LT_OQ);
        _mm512_store_ps(bp, _mm512_mask_blend_ps(better, b, s));
        _mm512_store_si512(lp, _mm512_mask_blend_epi32(better, _mm512_load_si512(lp), id));
      }
    }
  };
  for_each_group(tiles, rows, P, chunk, ws, finish);
  reduce_lanes(lane_best, lane_label, kSecond ? lane_second : nullptr, W, rows, label, best, second);
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
  const __m512 scale = _mm512_set1_ps(P.scale);
  auto finish = [&](std::int64_t p, std::int64_t t, const auto& acc) __attribute__((always_inline)) {
    constexpr int rows_in = int(sizeof(acc.v) / sizeof(acc.v[0]));
    constexpr int panels_in = int(sizeof(acc.v[0]) / sizeof(acc.v[0][0]));
    const int valid = int(std::min<std::int64_t>(rows_in, rows - t * R));
#pragma GCC unroll 2
    for (int q = 0; q < panels_in; ++q) {
      const __m512 bias = _mm512_load_ps(P.bias.data() + (p + q) * W);
#pragma GCC unroll 12
      for (int r = 0; r < rows_in; ++r) {
        if (r >= valid) break;
        _mm512_storeu_ps(out + (t * R + r) * ld + (p + q) * W, _mm512_fmadd_ps(scale, acc.v[r][q], bias));
      }
    }
  };
  for_each_group(tiles, rows, P, chunk, ws, finish);
}

}  // namespace

KernelTable<float> avx512_kernels_f32() { return {&argmin_block, &argmin2_block, &scores_block, /*panels_per_step=*/2, /*tiles_per_step=*/2}; }

}  // namespace fkm::cpu
