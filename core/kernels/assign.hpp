// FlashAssign, the portable SIMT form, and the per-row epilogue every assign kernel shares.
//
// A block keeps a tile of points and streams tiles of centroids through shared memory; each
// thread accumulates a [TM x TN] micro-tile of dot products, turns it into scores
//     score_j = bias_j + mul_j * <x, c_j>      (L2: bias = ||c||^2, mul = -2; IP/cosine: 0, -1)
// and keeps a running (min, argmin) per row in registers, ties to the lower index. The N x K
// score matrix never exists. The tensor-core kernels (backends/cuda/assign_mma.cuh) produce the
// same scores and finish rows through the same finish_row().
//
// Tile shapes (SIMT): block [BM = 64 points] x [BN = 64 centroids], k-chunk BK = 16 values,
// 256 threads as 16 x 16, each [TM = 4 rows] x [TN = 4 columns, strided by 16].
#pragma once
#include <cstdint>

#include "tile.hpp"

namespace fkm::kernels {

/// What an assign launch does with each row's nearest centroid.
enum class AssignMode : int {
  Assign,         ///< labels[i] = j, dist[i] = d; partial sums of w_i * d
  UpdateNearest,  ///< where d < dist[i] (or reset): dist[i] = d, labels[i] = label_offset + j;
                  ///< partial sums of w_i * dist[i]
  LabelsOnly,     ///< labels[i] = j
};

/// Metric codes as the kernels see them.
enum class MetricCode : int { L2 = 0, Cosine = 1, InnerProduct = 2 };

struct AssignOutput {
  AssignMode mode = AssignMode::Assign;
  MetricCode metric = MetricCode::L2;
  bool reset = false;                 ///< UpdateNearest: ignore the previous dist
  std::int32_t label_offset = 0;      ///< UpdateNearest: label of centre 0
  const double* centroids = nullptr;  ///< fp64 centroids [k x d] (normalised for cosine)
  std::int64_t d = 0;
  const double* row_scale = nullptr;  ///< cosine: 1 / ||x_i||
  const double* weights = nullptr;    ///< null: all 1
  std::int32_t* labels = nullptr;
  double* dist = nullptr;
  double* partials = nullptr;  ///< one per block: sum over its rows of w_i * dist_i
};

#if defined(__CUDACC__) || defined(__HIPCC__)

/// The fp64 distance of a row (`x`, d values, in shared or global memory) to centroid j of
/// o.centroids, computed by the `Width` lanes of a group (lane `part` of it): labels come from
/// the fast arithmetic, distances and inertia are exact, as the reference computes them.
template <int Width, class T>
FKM_DEVICE FKM_FORCEINLINE double exact_distance(const AssignOutput& o, const T* x, std::int64_t i, std::int32_t j,
                                                 int part) {
  const double* c = o.centroids + std::int64_t(j) * o.d;
  double s = 0;
  if (o.metric == MetricCode::L2) {
#pragma unroll 8
    for (std::int64_t f = part; f < o.d; f += Width) {
      const double v = widen_to_double(x[f]) - c[f];
      s += v * v;
    }
  } else {
#pragma unroll 8
    for (std::int64_t f = part; f < o.d; f += Width) s += widen_to_double(x[f]) * c[f];
  }
  for (int m = Width / 2; m > 0; m /= 2) s += shuffle_xor(s, m);
  switch (o.metric) {
    case MetricCode::L2: return s;
    case MetricCode::Cosine: return 1.0 - s * o.row_scale[i];
    default: return -s;
  }
}

/// Writes row i's result; returns its contribution w_i * dist_i to the block's partial sum.
FKM_DEVICE FKM_FORCEINLINE double finish_row(const AssignOutput& o, std::int64_t i, double d, std::int32_t j) {
  if (o.mode == AssignMode::LabelsOnly) {
    o.labels[i] = j;
    return 0.0;
  }
  if (o.mode == AssignMode::Assign) {
    o.labels[i] = j;
    o.dist[i] = d;
  } else if (o.reset || d < o.dist[i]) {
    o.labels[i] = o.label_offset + j;
    o.dist[i] = d;
  } else {
    d = o.dist[i];
  }
  const double w = o.weights ? o.weights[i] : 1.0;
  return w == 0 ? 0.0 : w * d;
}

/// Points and centroids as one assign launch sees them. Acc: the arithmetic type (float or
/// double); centroids, bias and mul are already in it. c is [k rows x ldc], zero padded.
template <class T, class Acc>
struct SimtAssignArgs {
  const T* x;
  std::int64_t n, d, ld;
  const Acc* c;
  std::int64_t k, ldc;
  const Acc* bias;  ///< k values
  const Acc* mul;   ///< k values
};

template <class T>
FKM_DEVICE FKM_FORCEINLINE float widen_to_float(T v) { return float(v); }

template <class T, class Acc>
FKM_DEVICE FKM_FORCEINLINE Acc load_as(const T* p) {
  if constexpr (sizeof(T) == 2) return Acc(widen_to_float(*p));
  else return Acc(*p);
}

inline constexpr int kSimtBM = 64, kSimtBN = 64, kSimtBK = 16, kSimtTM = 4, kSimtTN = 4;
inline constexpr int kSimtThreads = (kSimtBM / kSimtTM) * (kSimtBN / kSimtTN);  // 256

template <class T, class Acc>
__global__ void __launch_bounds__(kSimtThreads) assign_simt(SimtAssignArgs<T, Acc> a, AssignOutput out) {
  constexpr int BM = kSimtBM, BN = kSimtBN, BK = kSimtBK, TM = kSimtTM, TN = kSimtTN;
  constexpr int GX = BN / TN;  // threads across columns (16)
  __shared__ Acc xs[BK][BM + 1];
  __shared__ Acc cs[BK][BN + 1];
  __shared__ double scratch[kSimtThreads / kWarpSize];

  const int tid = int(threadIdx.x), tx = tid % GX, ty = tid / GX;
  const std::int64_t i0 = std::int64_t(blockIdx.x) * BM;

  Acc best[TM];
  std::int32_t best_j[TM];
  for (int m = 0; m < TM; ++m) {
    best[m] = Acc(__builtin_inf());
    best_j[m] = 0;
  }

  for (std::int64_t j0 = 0; j0 < a.k; j0 += BN) {
    Acc acc[TM][TN];
    for (int m = 0; m < TM; ++m)
      for (int t = 0; t < TN; ++t) acc[m][t] = Acc(0);
    for (std::int64_t k0 = 0; k0 < a.d; k0 += BK) {
      for (int e = tid; e < BM * BK; e += kSimtThreads) {
        const int r = e / BK, kk = e % BK;
        const std::int64_t i = i0 + r, f = k0 + kk;
        xs[kk][r] = (i < a.n && f < a.d) ? load_as<T, Acc>(a.x + i * a.ld + f) : Acc(0);
      }
      for (int e = tid; e < BN * BK; e += kSimtThreads) {
        const int r = e / BK, kk = e % BK;
        const std::int64_t j = j0 + r, f = k0 + kk;
        cs[kk][r] = (j < a.k && f < a.d) ? a.c[j * a.ldc + f] : Acc(0);
      }
      __syncthreads();
#pragma unroll
      for (int kk = 0; kk < BK; ++kk) {
        Acc xv[TM], cv[TN];
        for (int m = 0; m < TM; ++m) xv[m] = xs[kk][ty * TM + m];
        for (int t = 0; t < TN; ++t) cv[t] = cs[kk][tx + GX * t];
        for (int m = 0; m < TM; ++m)
          for (int t = 0; t < TN; ++t) acc[m][t] += xv[m] * cv[t];
      }
      __syncthreads();
    }
    // Online argmin: columns visited in ascending order with a strict '<' keep the lowest index.
    for (int t = 0; t < TN; ++t) {
      const std::int64_t j = j0 + tx + GX * t;
      if (j >= a.k) break;
      const Acc b = a.bias[j], mu = a.mul[j];
      for (int m = 0; m < TM; ++m) {
        const Acc s = b + mu * acc[m][t];
        if (s < best[m]) {
          best[m] = s;
          best_j[m] = std::int32_t(j);
        }
      }
    }
  }

  double partial = 0;
  for (int m = 0; m < TM; ++m) {
    const ArgMin<Acc> r = group_argmin<GX>(ArgMin<Acc>{best[m], best_j[m]});
    const std::int64_t i = i0 + ty * TM + m;
    // Every lane of the warp takes part in the distance's shuffles, also for rows past the end
    // (clamped to the last row; their result is dropped).
    const std::int64_t ic = i < a.n ? i : a.n - 1;
    const double dist = out.mode == AssignMode::LabelsOnly ? 0.0 : exact_distance<GX>(out, a.x + ic * a.ld, ic, r.index, tx);
    if (tx == 0 && i < a.n) partial += finish_row(out, i, dist, r.index);
  }
  const double total = block_sum(partial, scratch);
  if (tid == 0 && out.partials) out.partials[blockIdx.x] = total;
}

#endif  // device compiler

}  // namespace fkm::kernels
