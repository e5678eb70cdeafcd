// The sort-inverse update, portable part. The labels of a run of rows (all rows, or one
// streamed chunk) are sorted stably, so each cluster's rows are one contiguous run in index
// order. The summation order is fixed per cluster, not per sorted position, so that it does not
// depend on how the rows are split into chunks: cluster j's rows, in index order, are cut into
// *groups* of kGroupRows consecutive ranks (rank = how many rows of j come before); each group
// is summed in rank order (one thread per feature, plus one for the weight), and the group sums
// are added in group order. A chunk sees a slice of ranks [rank_j, rank_j + c_j): its *pieces*
// are the slices of the groups it touches; the first continues the group left open by the
// previous chunk (its running sum, `carry`), complete groups are folded into `done` in order,
// and the last, if its group is not complete, becomes the new carry. One chunk of all rows is
// the resident case: the same kernels, the same bits. No floating-point atomics anywhere.
//
// Layout: done, carry [k x (d + 1)] fp64, column d = total weight; pieces [max_pieces x (d + 1)].
//
// Batched problems (the CUDA backend's fit_batch) run the same kernels once over the clusters
// of every problem (problem b's cluster j is cluster b * K + j): a cluster's order depends only
// on its own rows, so each problem's sums are those of the problem fitted alone.
#pragma once
#include <cstdint>

#include "tile.hpp"

namespace fkm::kernels {

/// Ranks per group: the unit of sequential summation (fixed: it is part of the result's bits).
inline constexpr std::int64_t kGroupRows = 256;

/// The most pieces a chunk of n rows and k clusters can have (each cluster touching c rows
/// has at most c / kGroupRows + 2 pieces).
FKM_HD inline std::int64_t max_pieces(std::int64_t n, std::int64_t k) {
  return n / kGroupRows + 2 * (k < n ? k : n) + 1;
}

struct GroupArgs {
  const std::int32_t* sorted_labels;  ///< n labels of the chunk, ascending
  const std::int32_t* order;          ///< n chunk-local row indices in that order
  const std::int64_t* begin;          ///< k + 1 run starts in the chunk (exclusive scan of the counts)
  const std::int64_t* piece_begin;    ///< k + 1: first piece of each cluster (exclusive scan)
  const std::int64_t* rank;           ///< k: rows of each cluster in earlier chunks
  std::int64_t n, k, d, max_pieces;
  const double* weights;    ///< null: all 1
  const double* row_scale;  ///< null, or the per-row factor (cosine: 1 / ||x_i||)
  double* done;             ///< sums of complete groups
  double* carry;            ///< running sum of each cluster's open group (0 when none is open)
  double* pieces;
};

#if defined(__CUDACC__) || defined(__HIPCC__)

/// Pieces of cluster j in this chunk: the groups its rank slice touches.
FKM_DEVICE FKM_FORCEINLINE std::int64_t pieces_of(std::int64_t r, std::int64_t c) {
  return c > 0 ? (r + c - 1) / kGroupRows - r / kGroupRows + 1 : 0;
}

/// Grid-stride over j <= k: out[j] = pieces of cluster j (out[k] = 0, for the scan's total).
__global__ void count_pieces(const std::int64_t* begin, const std::int64_t* rank, std::int64_t k, std::int64_t* out) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t j = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; j <= k; j += stride)
    out[j] = j < k ? pieces_of(rank[j], begin[j + 1] - begin[j]) : 0;
}

/// One warp per piece (blocks of several warps; warps past the last piece return). Lane l owns
/// V = LB / sizeof(T) consecutive features (one LB-byte load per row: the rows are 16-byte
/// aligned and padded); LB is the narrowest load with which one pass covers the row
/// (group_lane_bytes), so rows of 128 halves keep all 32 lanes busy; wider rows take several
/// passes of 16-byte loads; lane 0 of the first pass also sums the weight (column d). Rows are
/// taken kBatch at a time: indices and values are loaded first (independent loads in flight),
/// then added in rank order. Each feature is summed by one lane in rank order whatever LB is:
/// the load width changes no bits.
template <int LB>
struct LaneLoad;
template <>
struct LaneLoad<4> {
  using type = unsigned;
};
template <>
struct LaneLoad<8> {
  using type = uint2;
};
template <>
struct LaneLoad<16> {
  using type = uint4;
};

template <class T, int LB, bool WEIGHTED>
__global__ void group_sums(GroupArgs a, const T* x, std::int64_t ld) {
  static_assert(LB >= int(sizeof(T)) && LB % int(sizeof(T)) == 0, "a lane loads whole values");
  static_assert(kGroupRows % kWarpSize == 0, "a piece's rows are whole warps of indices");
  using Load = typename LaneLoad<LB>::type;
  constexpr int V = LB / int(sizeof(T));
  constexpr int kBatch = LB == 16 ? 8 : 16;
  constexpr int kIndexRegs = int(kGroupRows) / kWarpSize;
  const int lane = lane_id();
  const std::int64_t p = std::int64_t(blockIdx.x) * (blockDim.x / kWarpSize) + warp_id();
  if (p >= a.max_pieces || p >= a.piece_begin[a.k]) return;
  // the cluster j with piece_begin[j] <= p < piece_begin[j + 1] (empty clusters have no pieces)
  std::int64_t lo = 0, hi = a.k;  // invariant: piece_begin[lo] <= p < piece_begin[hi]
  while (hi - lo > 1) {
    const std::int64_t mid = (lo + hi) / 2;
    if (a.piece_begin[mid] <= p) lo = mid;
    else hi = mid;
  }
  const std::int64_t j = lo, q = p - a.piece_begin[j];
  const std::int64_t r = a.rank[j], c = a.begin[j + 1] - a.begin[j];
  const std::int64_t g = r / kGroupRows + q;
  const std::int64_t t0 = g * kGroupRows - r > 0 ? g * kGroupRows - r : 0;
  const std::int64_t t1 = (g + 1) * kGroupRows - r < c ? (g + 1) * kGroupRows - r : c;
  const std::int64_t p0 = a.begin[j] + t0, rows = t1 - t0;  // a piece is at most one group: <= kGroupRows rows
  // the piece's row indices, all loaded at once (coalesced; lane l holds rows l, l + 32, ...),
  // then handed out by shuffles: no index load waits in the summation loop
  std::int32_t index[kIndexRegs];
#pragma unroll
  for (int m = 0; m < kIndexRegs; ++m) {
    const std::int64_t t = std::int64_t(m) * kWarpSize + lane;
    index[m] = t < rows ? a.order[p0 + t] : -1;
  }
  const std::int64_t w = a.d + 1;
  const std::int64_t span = std::int64_t(kWarpSize) * V;
  const std::int64_t passes = a.d > 0 ? (a.d + span - 1) / span : 1;
  for (std::int64_t pass = 0; pass < passes; ++pass) {
    const std::int64_t f0 = pass * span + std::int64_t(lane) * V;
    const bool weight_lane = pass == 0 && lane == 0;
    double acc[V], wacc = 0;
    for (int e = 0; e < V; ++e) acc[e] = (q == 0 && f0 + e < a.d) ? a.carry[j * w + f0 + e] : 0.0;
    if (weight_lane && q == 0) wacc = a.carry[j * w + a.d];
#pragma unroll
    for (int m = 0; m < kIndexRegs; ++m) {
      if (std::int64_t(m) * kWarpSize >= rows) break;  // uniform over the warp
#pragma unroll
      for (int b = 0; b < kWarpSize; b += kBatch) {
        std::int32_t ii[kBatch];
        Load raw[kBatch];
        double wv[kBatch], sv[kBatch];
#pragma unroll
        for (int u = 0; u < kBatch; ++u) ii[u] = shuffle(index[m], b + u);
#pragma unroll
        for (int u = 0; u < kBatch; ++u) {
          const bool live = ii[u] >= 0;
          raw[u] = (live && f0 < a.d) ? *reinterpret_cast<const Load*>(x + std::int64_t(ii[u]) * ld + f0) : Load{};
          if constexpr (WEIGHTED) {
            wv[u] = (live && a.weights) ? a.weights[ii[u]] : 1.0;
            sv[u] = (live && a.row_scale) ? a.row_scale[ii[u]] : 1.0;
          }
        }
#pragma unroll
        for (int u = 0; u < kBatch; ++u) {
          if (ii[u] < 0) continue;
          const T* vals = reinterpret_cast<const T*>(&raw[u]);
          if constexpr (WEIGHTED) {
            const double ws = wv[u] * sv[u];
            for (int e = 0; e < V; ++e) acc[e] += ws * widen_to_double(vals[e]);
            wacc += wv[u];
          } else {  // w = s = 1: the same sums (1 * v is exact, so no bit differs)
            for (int e = 0; e < V; ++e) acc[e] += widen_to_double(vals[e]);
            wacc += 1.0;
          }
        }
      }
    }
    for (int e = 0; e < V; ++e)
      if (f0 + e < a.d) a.pieces[p * w + f0 + e] = acc[e];
    if (weight_lane) a.pieces[p * w + a.d] = wacc;
  }
}

/// Bytes each lane of group_sums loads per row: the fewest of 4, 8, 16 (at least one value) with
/// which one warp covers d features in one pass; 16 when no width does.
template <class T>
inline int group_lane_bytes(std::int64_t d) {
  for (int b = 4; b < 16; b *= 2)
    if (b >= int(sizeof(T)) && std::int64_t(kWarpSize) * (b / std::int64_t(sizeof(T))) >= d) return b;
  return 16;
}

/// group_sums over a.max_pieces pieces, warps_per_block warps a block, the load width picked
/// for a.d.
template <class T, bool WEIGHTED>
inline void launch_group_sums_as(const GroupArgs& a, const T* x, std::int64_t ld, int blocks, int threads) {
  switch (group_lane_bytes<T>(a.d)) {
    case 4:
      if constexpr (sizeof(T) <= 4) group_sums<T, 4, WEIGHTED><<<blocks, threads>>>(a, x, ld);
      break;
    case 8:
      if constexpr (sizeof(T) <= 8) group_sums<T, 8, WEIGHTED><<<blocks, threads>>>(a, x, ld);
      break;
    default: group_sums<T, 16, WEIGHTED><<<blocks, threads>>>(a, x, ld); break;
  }
}
/// (Unweighted rows without a row scale run a kernel without the weight and scale loads: fewer
/// registers, more warps in flight.)
template <class T>
inline void launch_group_sums(const GroupArgs& a, const T* x, std::int64_t ld, int warps_per_block) {
  const int blocks = int((a.max_pieces + warps_per_block - 1) / warps_per_block), threads = warps_per_block * kWarpSize;
  if (a.weights || a.row_scale) launch_group_sums_as<T, true>(a, x, ld, blocks, threads);
  else launch_group_sums_as<T, false>(a, x, ld, blocks, threads);
}

/// Cluster j's pieces in a chunk: [first, first + count), of which the first `complete` close
/// their groups (all of them when the last group closes at the chunk's end).
struct FoldSpan {
  std::int64_t r, c, first, count, complete;
  bool last_complete;
};
FKM_DEVICE FKM_FORCEINLINE FoldSpan fold_span(const GroupArgs& a, std::int64_t j) {
  FoldSpan s;
  s.r = a.rank[j];
  s.c = a.begin[j + 1] - a.begin[j];
  s.first = a.piece_begin[j];
  s.count = a.piece_begin[j + 1] - s.first;
  s.last_complete = (s.r + s.c) % kGroupRows == 0;
  s.complete = s.last_complete ? s.count : s.count - 1;
  return s;
}

/// Grid-stride over k * (d + 1) (cluster j = e / (d + 1), feature f = e % (d + 1): consecutive
/// threads read consecutive features of a piece). Folds cluster j's pieces in order: complete
/// groups into done, the last piece of an incomplete group into carry; then advances rank[j]
/// (rank is written, so it is a separate array from the one group_sums read: the caller passes
/// `next_rank`). Blocks of many clusters: at large k (B = 32 problems of K = 1000: 32 000
/// clusters of a piece or two) a block a cluster slice would be ~10^5 one-warp blocks.
__global__ void fold_groups(GroupArgs a, std::int64_t* next_rank) {
  const std::int64_t w = a.d + 1, total = a.k * w, stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t e = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const std::int64_t j = e / w, f = e % w;
    const FoldSpan sp = fold_span(a, j);
    if (f == 0) next_rank[j] = sp.r + sp.c;
    if (sp.c == 0) continue;
    double acc = a.done[j * w + f];
    // eight loads in flight, added in piece order (a cluster of many groups folds hundreds)
    constexpr int kAhead = 8;
    std::int64_t q = 0;
    for (; q + kAhead <= sp.complete; q += kAhead) {
      double v[kAhead];
#pragma unroll
      for (int u = 0; u < kAhead; ++u) v[u] = a.pieces[(sp.first + q + u) * w + f];
#pragma unroll
      for (int u = 0; u < kAhead; ++u) acc += v[u];
    }
    for (; q < sp.complete; ++q) acc += a.pieces[(sp.first + q) * w + f];
    a.done[j * w + f] = acc;
    a.carry[j * w + f] = sp.last_complete ? 0.0 : a.pieces[(sp.first + sp.count - 1) * w + f];
  }
}

/// fold_groups for clusters of many groups (few large clusters: k = 16 at a million rows folds
/// 2064 chains of hundreds of pieces). The chains are sequential, so one warp of lanes can keep
/// only a few loads in flight and the fold waits on memory; here the kFoldWarps warps of a block
/// load the next kFoldBatch pieces of its kWarpSize features into registers (kFoldLoads
/// independent loads a lane) while warp 0 adds the current batch from shared memory in piece
/// order, eight values read ahead of the adds; then the loaded batch replaces it. The same
/// additions in the same order as fold_groups (the same bits), a whole batch of loads in flight.
/// Grid (k, feature slices of kWarpSize), kFoldWarps warps a block.
inline constexpr int kFoldWarps = 8;
inline constexpr int kFoldBatch = 4096 / kWarpSize;  // pieces a turn: 32 KB of fp64
inline constexpr int kFoldLoads = kFoldBatch / kFoldWarps;
static_assert(kFoldLoads * kFoldWarps == kFoldBatch, "every warp loads the same number of pieces");
inline constexpr std::int64_t kStagedFoldGroups = 64;  ///< groups a cluster on average from which the staged fold runs

__global__ void __launch_bounds__(kFoldWarps * kWarpSize) fold_groups_staged(GroupArgs a, std::int64_t* next_rank) {
  __shared__ double stage[kFoldBatch][kWarpSize];
  const std::int64_t j = blockIdx.x, w = a.d + 1;
  const FoldSpan sp = fold_span(a, j);
  if (threadIdx.x == 0 && blockIdx.y == 0) next_rank[j] = sp.r + sp.c;
  if (sp.c == 0) return;  // uniform over the block, before any barrier
  const int lane = lane_id(), warp = warp_id();
  const std::int64_t f = std::int64_t(blockIdx.y) * kWarpSize + lane;
  const bool live = f <= a.d;
  const std::int64_t batches = (sp.complete + kFoldBatch - 1) / kFoldBatch;
  double v[kFoldLoads];
  const auto load = [&](std::int64_t batch) {  // this warp's pieces of the batch, into v
#pragma unroll
    for (int u = 0; u < kFoldLoads; ++u) {
      const std::int64_t piece = batch * kFoldBatch + warp * kFoldLoads + u;
      v[u] = live && piece < sp.complete ? a.pieces[(sp.first + piece) * w + f] : 0.0;
    }
  };
  const auto store = [&] {
#pragma unroll
    for (int u = 0; u < kFoldLoads; ++u) stage[warp * kFoldLoads + u][lane] = v[u];
  };
  double acc = warp == 0 && live ? a.done[j * w + f] : 0.0;
  if (batches > 0) {
    load(0);
    store();
  }
  __syncthreads();
  for (std::int64_t b = 0; b < batches; ++b) {
    const bool next = b + 1 < batches;  // uniform over the block
    if (next) load(b + 1);              // in flight while warp 0 adds
    if (warp == 0 && live) {
      const std::int64_t rest = sp.complete - b * kFoldBatch;
      const int m = rest < kFoldBatch ? int(rest) : kFoldBatch;
      int q = 0;
      for (; q + 8 <= m; q += 8) {
        double t[8];
#pragma unroll
        for (int u = 0; u < 8; ++u) t[u] = stage[q + u][lane];
#pragma unroll
        for (int u = 0; u < 8; ++u) acc += t[u];
      }
      for (; q < m; ++q) acc += stage[q][lane];
    }
    if (next) {
      __syncthreads();  // warp 0 has read the batch
      store();
    }
    __syncthreads();
  }
  if (warp == 0 && live) {
    a.done[j * w + f] = acc;
    a.carry[j * w + f] = sp.last_complete ? 0.0 : a.pieces[(sp.first + sp.count - 1) * w + f];
  }
}

/// The fold over k clusters: the staged kernel, clusters x feature slices, where a cluster holds
/// kStagedFoldGroups groups or more on average (a few clusters of many groups would otherwise
/// fold on a few SMs, a few loads at a time), else the grid-stride one. Both give the same bits.
inline void launch_fold_groups(const GroupArgs& a, std::int64_t* next_rank) {
  if (a.n >= a.k * kGroupRows * kStagedFoldGroups) {
    const std::int64_t slices = (a.d + 1 + kWarpSize - 1) / kWarpSize;
    fold_groups_staged<<<dim3(unsigned(a.k), unsigned(slices)), kFoldWarps * kWarpSize>>>(a, next_rank);
  } else {
    constexpr int kThreads = 256;
    const std::int64_t work = a.k * (a.d + 1), blocks = (work + kThreads - 1) / kThreads;
    fold_groups<<<unsigned(blocks < 1 ? 1 : (blocks < 65535LL * 16 ? blocks : 65535LL * 16)), kThreads>>>(a, next_rank);
  }
}

/// Grid-stride over k * (d + 1): sums = done + the open group's carry (where one is open).
__global__ void finish_groups(const double* done, const double* carry, const std::int64_t* rank, std::int64_t k,
                              std::int64_t d, double* sums) {
  const std::int64_t w = d + 1, stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t e = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < k * w; e += stride) {
    const std::int64_t j = e / w;
    sums[e] = rank[j] % kGroupRows != 0 ? done[e] + carry[e] : done[e];
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
