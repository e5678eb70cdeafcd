// The sort-inverse update, portable part. After the labels are sorted (stably, so each
// cluster's points are one contiguous run in index order), block b reduces the sorted
// positions [b * chunk, (b + 1) * chunk) in order, one thread per feature (plus one for the
// weight). A cluster whose run lies inside one block is written straight to `sums`; a run that
// crosses block edges leaves one partial per block and fix_split_segments() adds them in block
// order. No floating-point atomics anywhere: the result is bitwise identical run to run.
//
// Layout: sums [k x (d + 1)] fp64, column d = total weight; partials [blocks x 2 x (d + 1)]
// (slot 1: the run that leaves the block at its end, slot 0: the run that enters at its start).
//
// Batched problems (the CUDA backend's fit_batch): the labels of problem b are offset by b * K
// and every problem's points fill one run of problem_rows sorted positions; blocks are then
// counted from each problem's first position, so each problem's blocks, and with them every
// sum's order, are those of the problem sorted alone.
#pragma once
#include <cstdint>

#include "tile.hpp"

namespace fkm::kernels {

struct SegmentArgs {
  const std::int32_t* sorted_labels;  ///< n labels, ascending
  const std::int32_t* order;          ///< n point indices in that order
  const std::int64_t* begin;          ///< k + 1 run starts (exclusive scan of the counts)
  std::int64_t n, k, d, chunk;
  const double* weights;    ///< null: all 1
  const double* row_scale;  ///< null, or the per-row factor (cosine: 1 / ||x_i||)
  double* sums;
  double* partials;
  std::int64_t problem_rows = 0;  ///< batched: sorted positions per problem; 0: one problem of n
};

#if defined(__CUDACC__) || defined(__HIPCC__)

/// The block that reduces sorted position `pos`.
FKM_DEVICE FKM_FORCEINLINE std::int64_t block_of(const SegmentArgs& a, std::int64_t pos) {
  if (a.problem_rows <= 0) return pos / a.chunk;
  const std::int64_t per_problem = (a.problem_rows + a.chunk - 1) / a.chunk;
  return (pos / a.problem_rows) * per_problem + (pos % a.problem_rows) / a.chunk;
}

/// The sorted positions [p0, p1) block b reduces.
FKM_DEVICE FKM_FORCEINLINE void block_range(const SegmentArgs& a, std::int64_t b, std::int64_t& p0, std::int64_t& p1) {
  if (a.problem_rows <= 0) {
    p0 = b * a.chunk;
    p1 = (p0 + a.chunk < a.n) ? p0 + a.chunk : a.n;
    return;
  }
  const std::int64_t per_problem = (a.problem_rows + a.chunk - 1) / a.chunk;
  const std::int64_t start = (b / per_problem) * a.problem_rows, end = start + a.problem_rows;
  p0 = start + (b % per_problem) * a.chunk;
  p1 = (p0 + a.chunk < end) ? p0 + a.chunk : end;
}

/// One feature column `f` (f == d: the weight) of the run of cluster j, reduced by block b.
FKM_DEVICE FKM_FORCEINLINE void flush_run(const SegmentArgs& a, std::int64_t b, std::int32_t j, std::int64_t f, double acc) {
  const std::int64_t b0 = block_of(a, a.begin[j]), b1 = block_of(a, a.begin[j + 1] - 1);
  const std::int64_t w = a.d + 1;
  if (b0 == b1) a.sums[j * w + f] = acc;
  else a.partials[(b * 2 + (b == b0 ? 1 : 0)) * w + f] = acc;
}

/// Grid: ceil(n / chunk) blocks (batched: problems x ceil(problem_rows / chunk)) of one warp each. Lane l owns V = 16 / sizeof(T) consecutive
/// features (one 16-byte load per point: the rows are 16-byte aligned and padded), wider rows
/// take several passes; lane 0 of the first pass also sums the weight (column d). Points are
/// taken kBatch at a time: indices, labels and values are loaded first (independent loads in
/// flight), then added in sorted order. Labels >= k (sorted last) are ignored.
template <class T>
__global__ void segment_sums(SegmentArgs a, const T* x, std::int64_t ld) {
  constexpr int V = 16 / int(sizeof(T));
  constexpr int kBatch = 8;
  const int lane = lane_id();
  const std::int64_t b = blockIdx.x;
  std::int64_t p0, p1;
  block_range(a, b, p0, p1);
  if (a.sorted_labels[p0] >= a.k) return;
  const std::int64_t span = std::int64_t(kWarpSize) * V;
  const std::int64_t passes = a.d > 0 ? (a.d + span - 1) / span : 1;
  for (std::int64_t pass = 0; pass < passes; ++pass) {
    const std::int64_t f0 = pass * span + std::int64_t(lane) * V;
    const bool weight_lane = pass == 0 && lane == 0;
    std::int32_t cur = a.sorted_labels[p0];
    double acc[V], wacc = 0;
    for (int e = 0; e < V; ++e) acc[e] = 0;
    auto flush = [&]() {
      for (int e = 0; e < V; ++e)
        if (f0 + e < a.d) flush_run(a, b, cur, f0 + e, acc[e]);
      if (weight_lane) flush_run(a, b, cur, a.d, wacc);
    };
    bool done = false;
    for (std::int64_t p = p0; p < p1 && !done; p += kBatch) {
      std::int32_t jj[kBatch];
      std::int64_t ii[kBatch];
      uint4 raw[kBatch];
      double wv[kBatch], sv[kBatch];
#pragma unroll
      for (int u = 0; u < kBatch; ++u) {
        const std::int64_t q = p + u;
        jj[u] = q < p1 ? a.sorted_labels[q] : std::int32_t(a.k);
        ii[u] = jj[u] < a.k ? a.order[q] : 0;
      }
#pragma unroll
      for (int u = 0; u < kBatch; ++u) {
        const bool live = jj[u] < a.k;
        raw[u] = (live && f0 < a.d) ? *reinterpret_cast<const uint4*>(x + ii[u] * ld + f0) : uint4{0, 0, 0, 0};
        wv[u] = (live && a.weights) ? a.weights[ii[u]] : 1.0;
        sv[u] = (live && a.row_scale) ? a.row_scale[ii[u]] : 1.0;
      }
#pragma unroll
      for (int u = 0; u < kBatch; ++u) {
        if (done || jj[u] >= a.k) {
          done = true;
          continue;
        }
        if (jj[u] != cur) {
          flush();
          cur = jj[u];
          for (int e = 0; e < V; ++e) acc[e] = 0;
          wacc = 0;
        }
        const T* vals = reinterpret_cast<const T*>(&raw[u]);
        const double ws = wv[u] * sv[u];
        for (int e = 0; e < V; ++e) acc[e] += ws * widen_to_double(vals[e]);
        wacc += wv[u];
      }
    }
    flush();
  }
}

/// Grid: k blocks. Completes clusters whose run crosses block edges; zeroes empty clusters.
__global__ void fix_split_segments(SegmentArgs a) {
  const std::int64_t j = blockIdx.x, w = a.d + 1;
  const std::int64_t s = a.begin[j], e = a.begin[j + 1];
  for (std::int64_t f = threadIdx.x; f <= a.d; f += blockDim.x) {
    if (s == e) {
      a.sums[j * w + f] = 0;
      continue;
    }
    const std::int64_t b0 = block_of(a, s), b1 = block_of(a, e - 1);
    if (b0 == b1) continue;
    double acc = a.partials[(b0 * 2 + 1) * w + f];
    for (std::int64_t b = b0 + 1; b <= b1; ++b) acc += a.partials[(b * 2) * w + f];
    a.sums[j * w + f] = acc;
  }
}

/// Grid: k blocks, blockDim a multiple of the warp width. New centroid = sums / weight (cosine:
/// normalised) where the weight is positive; else the old one stays and the cluster is empty.
/// Writes previous = old centroid, empty[j], and shift_part[j] = ||new - old||^2.
/// finalize_centroid(j) is one block's work (also the batched kernels').
FKM_DEVICE FKM_FORCEINLINE void finalize_centroid(std::int64_t j, const double* sums, std::int64_t d, bool normalise,
                                                  double* centroids, double* previous, std::int32_t* empty,
                                                  double* shift_part) {
  __shared__ double scratch[1024 / kWarpSize];
  __shared__ double shared_value;
  const std::int64_t w = d + 1;
  const double weight = sums[j * w + d];
  double* c = centroids + j * d;
  double* prev = previous + j * d;
  const bool has = weight > 0;
  double scale = 1.0;
  if (has && normalise) {
    double s2 = 0;
    for (std::int64_t f = threadIdx.x; f < d; f += blockDim.x) {
      const double v = sums[j * w + f] / weight;
      s2 += v * v;
    }
    const double total = block_sum(s2, scratch);
    if (threadIdx.x == 0) shared_value = total > 0 ? 1.0 / sqrt(total) : 1.0;
    __syncthreads();
    scale = shared_value;
  }
  double moved = 0;
  for (std::int64_t f = threadIdx.x; f < d; f += blockDim.x) {
    const double old = c[f];
    prev[f] = old;
    if (has) {
      const double v = (sums[j * w + f] / weight) * scale;
      c[f] = v;
      moved += (v - old) * (v - old);
    }
  }
  const double total = block_sum(moved, scratch);
  if (threadIdx.x == 0) {
    empty[j] = has ? 0 : 1;
    shift_part[j] = total;
  }
}
__global__ void finalize_centroids(const double* sums, std::int64_t d, bool normalise, double* centroids,
                                   double* previous, std::int32_t* empty, double* shift_part) {
  finalize_centroid(blockIdx.x, sums, d, normalise, centroids, previous, empty, shift_part);
}

/// One block (blockDim a multiple of the warp width, <= 1024): out[0] = sum of v[0..n) in a
/// fixed order.
/// (sum_in_fixed_order: the block's work, also the batched kernels'.)
FKM_DEVICE FKM_FORCEINLINE void sum_in_fixed_order(const double* v, std::int64_t n, double* out) {
  __shared__ double scratch[1024 / kWarpSize];
  double s = 0;
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) s += v[i];
  const double total = block_sum(s, scratch);
  if (threadIdx.x == 0) *out = total;
}
__global__ void sum_fixed_order(const double* v, std::int64_t n, double* out) { sum_in_fixed_order(v, n, out); }

/// One block: the indices j with flag[j] != 0, ascending, into list; their number into *count
/// (compact_flags_block: the block's work, also the batched kernels').
FKM_DEVICE FKM_FORCEINLINE void compact_flags_block(const std::int32_t* flag, std::int64_t n, std::int64_t* list,
                                                    std::int64_t* count) {
  __shared__ std::int64_t warp_totals[1024 / kWarpSize];
  __shared__ std::int64_t base;
  if (threadIdx.x == 0) base = 0;
  __syncthreads();
  const int warps = int(blockDim.x) / kWarpSize;
  for (std::int64_t start = 0; start < n; start += blockDim.x) {
    const std::int64_t j = start + threadIdx.x;
    const int mine = (j < n && flag[j]) ? 1 : 0;
    // inclusive scan within the warp
    int incl = mine;
    for (int m = 1; m < kWarpSize; m *= 2) {
      const int o = shuffle_up(incl, m);
      if (lane_id() >= m) incl += o;
    }
    if (lane_id() == kWarpSize - 1) warp_totals[warp_id()] = incl;
    __syncthreads();
    std::int64_t before = base;
    for (int w = 0; w < warp_id(); ++w) before += warp_totals[w];
    if (mine) list[before + incl - 1] = j;
    __syncthreads();
    if (threadIdx.x == 0)
      for (int w = 0; w < warps; ++w) base += warp_totals[w];
    __syncthreads();
  }
  if (threadIdx.x == 0) *count = base;
}
__global__ void compact_flags(const std::int32_t* flag, std::int64_t n, std::int64_t* list, std::int64_t* count) {
  compact_flags_block(flag, n, list, count);
}

#endif  // device compiler

}  // namespace fkm::kernels
