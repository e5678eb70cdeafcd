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
#include <type_traits>

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

/// A row's exact (fp64) facts against centroid j: the distance, and for the screen
/// (core/kernels/screen.hpp) |x|^2, the raw dot product, sum_f |x_f c_f| and |x~ - x|^2 (x~:
/// the row as the fast arithmetic reads it).
struct RowExact {
  double dist = 0, xx = 0, dot = 0, mag = 0, dx2 = 0;
};

/// The fast arithmetic reads the stored values unchanged (fp16/bf16 on tensor cores).
struct ReadsExact {
  template <class T>
  FKM_DEVICE FKM_FORCEINLINE T operator()(T v) const { return v; }
};

/// Two neighbouring stored values of a row, read by one load (pairs of features per lane:
/// exact_row with Pair = 2).
template <class T>
struct alignas(2 * sizeof(T)) ValuePair {
  T first, second;
};
struct alignas(16) DoublePair {
  double first, second;
};

/// Values f and f + 1 of row `x` (f even): one load from a pointer (rows start 4-byte aligned
/// for 2-byte types, 8-byte for floats), or the accessor's own pair(f).
template <class T>
FKM_DEVICE FKM_FORCEINLINE ValuePair<T> load_pair(const T* x, std::int64_t f) {
  return *reinterpret_cast<const ValuePair<T>*>(x + f);
}
template <class Row>
FKM_DEVICE FKM_FORCEINLINE auto load_pair(const Row& x, std::int64_t f) -> decltype(x.pair(f)) {
  return x.pair(f);
}

/// The fp64 facts of a row (`x`, d values, in shared or global memory) against centroid j of
/// o.centroids, computed by the `Width` lanes of a group (lane `part` of it): labels come from
/// the fast arithmetic, distances and inertia are exact, as the reference computes them.
/// Extras = false computes the distance alone; `fast` maps a stored value to the one the fast
/// arithmetic multiplies (for dx2). `x` is a pointer or any accessor with x[f] (and pair(f) for
/// Pair = 2: a swizzled shared-memory row, assign_wgmma.cuh).
/// Pair = 1: lane `part` sums features part, part + Width, ...; Pair = 2: features 2 part and
/// 2 part + 1, then those + 2 Width, ..., each pair in one load of x and (d even) one 16-byte
/// load of the centroid, so a group of 8 lanes reads 128 contiguous centroid bytes a step.
template <int Width, bool Extras, int Pair = 1, class Row, class Fast = ReadsExact>
FKM_DEVICE FKM_FORCEINLINE RowExact exact_row(const AssignOutput& o, Row x, std::int64_t i, std::int32_t j, int part,
                                              Fast fast = {}) {
  static_assert(Pair == 1 || Pair == 2, "one or two features a lane a step");
  constexpr bool kRounds = Extras && !std::is_same_v<Fast, ReadsExact>;
  const double* c = o.centroids + std::int64_t(j) * o.d;
  RowExact r;
  double s = 0;
  // The metric's loops apart (its branch is uniform, taken once): feature value v, centroid cv.
  const auto rows = [&](auto l2_tag) {
    constexpr bool kL2 = decltype(l2_tag)::value;
    const auto add = [&](auto v, double cv) {
      const double xv = widen_to_double(v);
      if constexpr (kL2) {
        const double e = xv - cv;
        s += e * e;
        if constexpr (Extras) r.xx += xv * xv;
      } else {
        const double p = xv * cv;
        s += p;
        if constexpr (Extras) {
          r.xx += xv * xv;
          r.mag += fabs(p);
        }
      }
      if constexpr (kRounds) {
        const double e = xv - widen_to_double(fast(v));
        r.dx2 += e * e;
      }
    };
    if constexpr (Pair == 1) {
#pragma unroll 8
      for (std::int64_t f = part; f < o.d; f += Width) add(x[f], c[f]);
    } else {
      // 16-byte centroid loads need an even d (row j at 8 j d bytes) and an aligned base.
      const bool wide = o.d % 2 == 0 && reinterpret_cast<std::uintptr_t>(o.centroids) % 16 == 0;
      const auto features = [&](auto wide_tag) {
        constexpr bool kWide = decltype(wide_tag)::value;
#pragma unroll 8
        for (std::int64_t f = 2 * part; f < o.d; f += 2 * Width) {
          if (kWide || f + 1 < o.d) {
            const auto v = load_pair(x, f);
            double c0, c1;
            if constexpr (kWide) {
              const DoublePair cc = *reinterpret_cast<const DoublePair*>(c + f);
              c0 = cc.first;
              c1 = cc.second;
            } else {
              c0 = c[f];
              c1 = c[f + 1];
            }
            add(v.first, c0);
            add(v.second, c1);
          } else {
            add(x[f], c[f]);  // the last feature of an odd d
          }
        }
      };
      if (wide) features(std::true_type{});
      else features(std::false_type{});
    }
  };
  if (o.metric == MetricCode::L2) rows(std::true_type{});
  else rows(std::false_type{});
  for (int m = Width / 2; m > 0; m /= 2) {
    s += shuffle_xor(s, m);
    if constexpr (Extras) {
      r.xx += shuffle_xor(r.xx, m);
      r.mag += shuffle_xor(r.mag, m);
    }
    if constexpr (kRounds) r.dx2 += shuffle_xor(r.dx2, m);
  }
  r.dot = s;
  switch (o.metric) {
    case MetricCode::L2: r.dist = s; break;
    case MetricCode::Cosine: r.dist = 1.0 - s * o.row_scale[i]; break;
    default: r.dist = -s;
  }
  return r;
}

/// The fp64 distance of a row to centroid j (exact_row without the extras).
template <int Width, int Pair = 1, class Row>
FKM_DEVICE FKM_FORCEINLINE double exact_distance(const AssignOutput& o, Row x, std::int64_t i, std::int32_t j, int part) {
  return exact_row<Width, false, Pair>(o, x, i, j, part).dist;
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
/// With `rows`, the launch runs only the *row_count rows listed there (the re-score of the
/// screen, core/kernels/screen.hpp), in list order.
template <class T, class Acc>
struct SimtAssignArgs {
  const T* x;
  std::int64_t n, d, ld;
  const Acc* c;
  std::int64_t k, ldc;
  const Acc* bias;  ///< k values
  const Acc* mul;   ///< k values
  const std::int32_t* rows = nullptr;       ///< null: rows 0..n
  const std::int32_t* row_count = nullptr;  ///< with rows: how many are listed (device)
};

template <class T>
FKM_DEVICE FKM_FORCEINLINE float widen_to_float(T v) { return float(v); }

template <class T, class Acc>
FKM_DEVICE FKM_FORCEINLINE Acc load_as(const T* p) {
  if constexpr (sizeof(T) == 2) return Acc(widen_to_float(*p));
  else return Acc(*p);
}

/// The row at position `pos` of a launch's rows (the list `rows`, or 0..limit when it is null),
/// or -1 past the end.
FKM_DEVICE FKM_FORCEINLINE std::int64_t tile_row(const std::int32_t* rows, std::int64_t limit, std::int64_t pos) {
  if (pos >= limit) return -1;
  return rows ? std::int64_t(rows[pos]) : pos;
}

inline constexpr int kSimtBM = 64, kSimtBN = 64, kSimtBK = 16, kSimtTM = 4, kSimtTN = 4;
inline constexpr int kSimtThreads = (kSimtBM / kSimtTM) * (kSimtBN / kSimtTN);  // 256

/// One block's work: row tile `row_tile` of the data (or of the list) against every centroid.
/// assign_simt (one problem) and the CUDA backend's batched launch call it.
template <class T, class Acc>
FKM_DEVICE FKM_FORCEINLINE void assign_simt_tile(SimtAssignArgs<T, Acc> a, AssignOutput out, std::int64_t row_tile) {
  constexpr int BM = kSimtBM, BN = kSimtBN, BK = kSimtBK, TM = kSimtTM, TN = kSimtTN;
  constexpr int GX = BN / TN;  // threads across columns (16)
  __shared__ Acc xs[BK][BM + 1];
  __shared__ Acc cs[BK][BN + 1];
  __shared__ double scratch[kSimtThreads / kWarpSize];
  __shared__ std::int64_t row_of[BM];

  const int tid = int(threadIdx.x), tx = tid % GX, ty = tid / GX;
  // One tile of rows per block: rows [row_tile * BM, ...) of the data or of the list, whose
  // length only the device knows: the launch covers n rows and the blocks past the list's end
  // return at once (a loop over tiles would double the registers).
  const std::int64_t limit = a.rows ? std::int64_t(*a.row_count) : a.n;
  const std::int64_t i0 = row_tile * BM;
  if (i0 >= limit) return;  // uniform over the block, before any barrier
  for (int r = tid; r < BM; r += kSimtThreads) row_of[r] = tile_row(a.rows, limit, i0 + r);
  __syncthreads();

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
        const std::int64_t i = row_of[r], f = k0 + kk;
        xs[kk][r] = (i >= 0 && f < a.d) ? load_as<T, Acc>(a.x + i * a.ld + f) : Acc(0);
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
    const std::int64_t i = row_of[ty * TM + m];
    // Every lane of the warp takes part in the distance's shuffles, also for slots past the
    // end (they read row 0; their result is dropped).
    const std::int64_t ic = i >= 0 ? i : 0;
    const double dist = out.mode == AssignMode::LabelsOnly ? 0.0 : exact_distance<GX>(out, a.x + ic * a.ld, ic, r.index, tx);
    if (tx == 0 && i >= 0) partial += finish_row(out, i, dist, r.index);
  }
  const double total = block_sum(partial, scratch);
  if (tid == 0 && out.partials) out.partials[row_tile] = total;
}

template <class T, class Acc>
__global__ void __launch_bounds__(kSimtThreads) assign_simt(SimtAssignArgs<T, Acc> a, AssignOutput out) {
  assign_simt_tile<T, Acc>(a, out, blockIdx.x);
}

#endif  // device compiler

}  // namespace fkm::kernels
