// Kernels of the distributed layer's two Problem calls (docs/clusters.md), shared by the CUDA
// and HIP backends:
//
//   fixed_segment_sums    accumulate_fixed(): each term w_i * x_if rounded onto the fixed-point
//                         grid with core/src/fixed_point.hpp's functions (the very ones the CPU,
//                         reference and Kokkos backends call, so every term is the same integer
//                         on every backend), summed as 128-bit integers in two 64-bit words.
//   centroids_from_totals update_from(): centroids from given (all-reduced) sums in the reference
//                         backend's arithmetic, so they are the CPU's centroids bit for bit.
//   split_fixed_words,    accumulate_fixed_words() / update_from_fixed_words(): the totals as the
//   fixed_words_to_totals int64 words a device all-reduce (NCCL) sums, and back to doubles with
//                         the host's own conversion (core/src/fixed_point.hpp), in device memory.
//   exact_weighted_sum    exact_weighted_distance_sum(): the inertia's terms w_i * dist_i added
//                         exactly into a long accumulator's words (core/src/long_accumulator.hpp),
//                         so the distances need not leave the GPU.
//
// Integer sums do not depend on the order of the terms: the blocks walk the label-sorted points
// of the sort-inverse update (core/kernels/update.hpp) and add their runs into the totals with
// 64-bit integer atomics, and the totals are the same whatever the block schedule.
#pragma once
#include <cstdint>

#include "../../core/kernels/tile.hpp"
#include "../../core/src/fixed_point.hpp"
#include "../../core/src/long_accumulator.hpp"
#include "operands.cuh"
#include "point_kernels.cuh"

namespace fkm::cuda {

/// total += v on a 128-bit two's-complement integer held as two 64-bit words, atomically with
/// respect to other additions: the low words add modulo 2^64 and the carry out of them (seen
/// from the value this addition found) goes to the high word with v's high word. Whatever the
/// order of the additions, the words end as the exact total modulo 2^128.
__device__ inline void atomic_add_fixed(FixedSum* total, const FixedSum& v) {
  if (v.lo == 0 && v.hi == 0) return;
  auto* lo = reinterpret_cast<unsigned long long*>(&total->lo);
  auto* hi = reinterpret_cast<unsigned long long*>(&total->hi);
  const unsigned long long add = (unsigned long long)v.lo;
  const unsigned long long before = atomicAdd(lo, add);
  const unsigned long long carry = before + add < before ? 1ull : 0ull;
  const unsigned long long high = (unsigned long long)v.hi + carry;
  if (high != 0) atomicAdd(hi, high);
}

struct FixedSegmentArgs {
  const std::int32_t* sorted_labels;  ///< n labels, ascending (labels >= k sort last, ignored)
  const std::int32_t* order;          ///< n point indices in that order
  std::int64_t n, k, d, chunk;
  const double* weights;                ///< null: all 1
  const double* row_scale;              ///< null, or 1 / ||x_i|| (cosine)
  const detail::FixedScale* scale;      ///< d + 1 grids: the features', then the weights'
  FixedSum* totals;                     ///< k x (d + 1), zeroed; column d: the weights
};

/// Grid: ceil(n / chunk) blocks of one warp. Block b walks the sorted positions
/// [b * chunk, (b + 1) * chunk) in order, lane l holding the features l, l + warp, ... in turn
/// (coalesced row loads), lane 0 also the weight; a run of one label is added to the totals
/// when it ends (at most chunk / run + 2 atomic additions per feature and block).
template <class T>
__global__ void fixed_segment_sums(FixedSegmentArgs a, const T* x, std::int64_t ld) {
  const int lane = kernels::lane_id();
  const std::int64_t p0 = std::int64_t(blockIdx.x) * a.chunk;
  const std::int64_t p1 = p0 + a.chunk < a.n ? p0 + a.chunk : a.n;
  if (p0 >= p1 || a.sorted_labels[p0] >= a.k) return;
  const std::int64_t w = a.d + 1;
  for (std::int64_t f0 = 0; f0 < a.d; f0 += kernels::kWarpSize) {  // d >= 1
    const std::int64_t f = f0 + lane;
    const bool feature = f < a.d, weight_lane = f0 == 0 && lane == 0;
    const detail::FixedScale fs = feature ? a.scale[f] : detail::FixedScale{}, ws = a.scale[a.d];
    std::int32_t cur = a.sorted_labels[p0];
    FixedSum acc{}, wacc{};
    for (std::int64_t p = p0; p < p1; ++p) {
      const std::int32_t j = a.sorted_labels[p];
      if (j >= a.k) break;
      if (j != cur) {
        if (feature) atomic_add_fixed(&a.totals[cur * w + f], acc);
        if (weight_lane) atomic_add_fixed(&a.totals[cur * w + a.d], wacc);
        acc = FixedSum{};
        wacc = FixedSum{};
        cur = j;
      }
      const std::int64_t i = a.order[p];
      const double wi = a.weights ? a.weights[i] : 1.0;
      // As the CPU backend: w_i * (x_if * (1 / ||x_i||)) for cosine, w_i * x_if otherwise.
      if (feature && wi != 0) {
        const double v = a.row_scale ? to_double(x[i * ld + f]) * a.row_scale[i] : to_double(x[i * ld + f]);
        detail::add_term(acc, detail::fixed_term64(wi * v, fs));
      }
      if (weight_lane) detail::add_term(wacc, detail::fixed_term64(wi, ws));
    }
    if (feature) atomic_add_fixed(&a.totals[cur * w + f], acc);
    if (weight_lane) atomic_add_fixed(&a.totals[cur * w + a.d], wacc);
  }
}

/// Grid: k blocks. totals: k x (d + 1) fp64, column d the cluster's weight. Where the weight is
/// positive, centroid = sums / weight, then (normalise) times 1 / sqrt(sum of squares in feature
/// order) when that sum is positive: the reference backend's update, operation for operation.
/// Elsewhere the centroid stays and the cluster is empty. Writes previous = the old centroids,
/// empty[j], shift_part[j] = ||new - old||^2 and, by atomic maximum of the bits, the largest
/// |c_jf| of the new centroids into *largest_bits (an exact bound for the assign operands).
__global__ void centroids_from_totals(const double* totals, std::int64_t d, bool normalise, double* centroids,
                                      double* previous, std::int32_t* empty, double* shift_part,
                                      unsigned long long* largest_bits) {
  __shared__ double scratch[1024 / kernels::kWarpSize];
  __shared__ double inv_norm;
  __shared__ bool scaled;
  const std::int64_t j = blockIdx.x, w = d + 1;
  const double weight = totals[j * w + d];
  const bool has = weight > 0;
  double* c = centroids + j * d;
  double* prev = previous + j * d;
  for (std::int64_t f = threadIdx.x; f < d; f += blockDim.x) {
    prev[f] = c[f];
    if (has) c[f] = totals[j * w + f] / weight;
  }
  if (has && normalise) {
    __syncthreads();  // every quotient written before one thread sums their squares in order
    if (threadIdx.x == 0) {
      double s = 0;
      for (std::int64_t f = 0; f < d; ++f) s = add_square_rn(s, c[f]);
      scaled = s > 0;
      inv_norm = scaled ? 1.0 / sqrt(s) : 1.0;
    }
    __syncthreads();
    if (scaled)
      for (std::int64_t f = threadIdx.x; f < d; f += blockDim.x) c[f] = c[f] * inv_norm;
  }
  double moved = 0, amax = 0;
  for (std::int64_t f = threadIdx.x; f < d; f += blockDim.x) {
    const double v = c[f], delta = v - prev[f];
    moved += delta * delta;
    amax = fmax(amax, fabs(v));
  }
  const double total = kernels::block_sum(moved, scratch);
  __syncthreads();
  const double largest = kernels::block_max(amax, scratch);
  if (threadIdx.x == 0) {
    empty[j] = has ? 0 : 1;
    shift_part[j] = total;
    if (largest > 0) atomicMax(largest_bits, bits_of(largest));
  }
}

/// Grid-stride over n totals: words[kFixedWords t ..] := split_fixed(totals[t]).
__global__ void split_fixed_words(const FixedSum* totals, std::int64_t n, std::int64_t* words) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t t = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < n; t += stride)
    detail::split_fixed(totals[t], words + t * detail::kFixedWords);
}

/// Grid-stride over n = k x w totals: given[t] := the total of words[kFixedWords t ..] times
/// 2^exponent[t % w], converted as the host converts it (fixed_to_double).
__global__ void fixed_words_to_totals(const std::int64_t* words, std::int64_t n, std::int64_t w, const int* exponent,
                                      double* given) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t t = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < n; t += stride)
    given[t] = detail::fixed_to_double(detail::join_fixed(words + t * detail::kFixedWords), exponent[t % w]);
}

/// words (detail::kLongWords, zeroed) += sum over the i with w_i != 0 of w_i * dist_i, exactly:
/// each term split by detail::long_term (what the host's ExactSum::add adds), summed in a block's
/// shared words, then into the global ones, with 64-bit integer atomics (two's complement: the
/// words end exact whatever the order). Each part is below 2^32, so for n < 2^30 every word
/// stays below 2^62 in magnitude.
__global__ void exact_weighted_sum(const double* w, const double* dist, std::int64_t n, unsigned long long* words) {
  __shared__ unsigned long long local[detail::kLongWords];
  for (int q = threadIdx.x; q < detail::kLongWords; q += blockDim.x) local[q] = 0;
  __syncthreads();
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const double wi = w ? w[i] : 1.0;
    if (wi == 0) continue;
    const detail::LongTerm t = detail::long_term(wi * dist[i]);
    if (t.limb < 0) continue;
    atomicAdd(&local[t.limb], (unsigned long long)t.part[0]);
    if (t.limb < detail::kLongLimbs) {
      atomicAdd(&local[t.limb + 1], (unsigned long long)t.part[1]);
      atomicAdd(&local[t.limb + 2], (unsigned long long)t.part[2]);
    }
  }
  __syncthreads();
  for (int q = threadIdx.x; q < detail::kLongWords; q += blockDim.x)
    if (local[q] != 0) atomicAdd(&words[q], local[q]);
}

}  // namespace fkm::cuda
