// Per-point kernels of the CUDA backend that are not FlashAssign or the update: row norms,
// value checks, centroid operand preparation, fixed-order reductions, and the initialisation
// primitives (sampling, potentials, gathers). Every reduction has a fixed order, so results do
// not change from run to run.
#pragma once

#include <cstdint>

#include "../../core/kernels/assign.hpp"
#include "../../core/kernels/tile.hpp"
#include "../../core/src/rng.hpp"
#include "../cuda_hip/gpu_types.hpp"

namespace fkm::cuda {

using kernels::kWarpSize;

template <class T>
__device__ __forceinline__ double to_double(T v) {
  return double(v);
}
template <>
__device__ __forceinline__ double to_double(gpu::half v) {
  return double(gpu::to_float(v));
}
template <>
__device__ __forceinline__ double to_double(gpu::bfloat16 v) {
  return double(gpu::to_float(v));
}

/// The fp64 rounding of s + a * a with the product rounded first: no fused multiply-add, so a
/// sum of squares has the bits of the host's `s += a * a` (the CPU backend is compiled with
/// -ffp-contract=off; NVCC and hipcc would contract unless told).
__device__ inline double add_square_rn(double s, double a) {
#if defined(__HIP__)
#pragma clang fp contract(off)
  return s + a * a;
#else
  return __dadd_rn(s, __dmul_rn(a, a));
#endif
}

/// One thread per row: norm2[i] = ||x_i||^2 summed in feature order, and scale[i] = 1 / ||x_i||
/// (0 for a zero row): the CPU and reference backends' arithmetic, so the rows as cosine sees
/// them (gather_rows, accumulate_fixed) have their bits. Runs once per bind.
template <class T>
__global__ void row_stats(const T* x, std::int64_t n, std::int64_t d, std::int64_t ld, double* norm2, double* scale) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    double s = 0;
    for (std::int64_t f = 0; f < d; ++f) s = add_square_rn(s, to_double(x[i * ld + f]));
    norm2[i] = s;
    scale[i] = s > 0 ? 1.0 / sqrt(s) : 0.0;
  }
}

/// First non-finite data element (as i * d + f, i counted from row_base: the rows may be one
/// streamed chunk) and first bad weight row, by atomic minimum (order independent), the number
/// of positive finite weights, and the largest finite |x_if| as fp64 bits (atomic maximum:
/// non-negative doubles order as their bits).
template <class T>
__global__ void check_values(const T* x, std::int64_t n, std::int64_t d, std::int64_t ld, const double* w,
                             std::int64_t row_base, unsigned long long* first_bad_data,
                             unsigned long long* first_bad_weight, unsigned long long* positive,
                             unsigned long long* largest) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  double big = 0;
  for (std::int64_t e = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n * d; e += stride) {
    const std::int64_t i = e / d, f = e % d;
    const double v = to_double(x[i * ld + f]);
    if (!isfinite(v)) atomicMin(first_bad_data, (unsigned long long)(row_base * d + e));
    else big = fabs(v) > big ? fabs(v) : big;
  }
  if (big > 0) atomicMax(largest, (unsigned long long)__double_as_longlong(big));
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const double wi = w ? w[i] : 1.0;
    if (!(wi >= 0 && isfinite(wi))) atomicMin(first_bad_weight, (unsigned long long)(row_base + i));
    else if (wi > 0) atomicAdd(positive, 1ull);
  }
}

/// Block b: partials[b] = sum of value(i) over [b * chunk, (b + 1) * chunk), fixed order
/// (chunk_sum: one block's work, also the batched kernels').
template <class F>
__device__ __forceinline__ void chunk_sum(F value, std::int64_t n, std::int64_t chunk, std::int64_t b, double* partials) {
  __shared__ double scratch[1024 / kWarpSize];
  const std::int64_t p0 = b * chunk;
  const std::int64_t p1 = p0 + chunk < n ? p0 + chunk : n;
  double s = 0;
  for (std::int64_t i = p0 + threadIdx.x; i < p1; i += blockDim.x) s += value(i);
  const double total = kernels::block_sum(s, scratch);
  if (threadIdx.x == 0) partials[b] = total;
}
template <class F>
__global__ void chunk_sums(F value, std::int64_t n, std::int64_t chunk, double* partials) {
  chunk_sum(value, n, chunk, blockIdx.x, partials);
}

/// The probability mass of point i for sampling: w_i (by weight) or w_i * dist_i.
struct SampleMass {
  const double* w;
  const double* dist;
  bool by_weight;
  __device__ double operator()(std::int64_t i) const {
    const double wi = w ? w[i] : 1.0;
    if (by_weight) return wi;
    return wi == 0 ? 0.0 : wi * dist[i];
  }
};

struct WeightValue {
  const double* w;
  __device__ double operator()(std::int64_t i) const { return w ? w[i] : 1.0; }
};

/// Column sums of x (scaled per row when row_scale is given) minus `mean`, squared or not:
/// block b writes out[b * d + f] for rows [b * chunk, ...), in row order.
template <class T>
__global__ void column_sums(const T* x, std::int64_t n, std::int64_t d, std::int64_t ld, const double* row_scale,
                            const double* mean, std::int64_t chunk, double* out) {
  const std::int64_t r0 = std::int64_t(blockIdx.x) * chunk, r1 = r0 + chunk < n ? r0 + chunk : n;
  for (std::int64_t f = threadIdx.x; f < d; f += blockDim.x) {
    double s = 0;
    for (std::int64_t i = r0; i < r1; ++i) {
      double v = to_double(x[i * ld + f]);
      if (row_scale) v *= row_scale[i];
      if (mean) {
        v -= mean[f];
        v *= v;
      }
      s += v;
    }
    out[std::int64_t(blockIdx.x) * d + f] = s;
  }
}

/// out[f] = sum over b < blocks of in[b * d + f], in block order (one thread per column).
__global__ void sum_rows(const double* in, std::int64_t blocks, std::int64_t d, double* out) {
  const std::int64_t f = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (f >= d) return;
  double s = 0;
  for (std::int64_t b = 0; b < blocks; ++b) s += in[b * d + f];
  out[f] = s;
}

/// Histogram of the labels below k (integer atomics: order independent). With k <= kSmemBins
/// each block counts in shared memory first (few clusters: the global counters are contended).
inline constexpr int kSmemBins = 8192;
__global__ void label_counts(const std::int32_t* labels, std::int64_t n, std::int64_t k, unsigned long long* counts) {
  __shared__ unsigned local[kSmemBins];
  const bool in_smem = k <= kSmemBins;
  if (in_smem) {
    for (std::int64_t j = threadIdx.x; j < k; j += blockDim.x) local[j] = 0;
    __syncthreads();
  }
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const std::int32_t j = labels[i];
    if (j >= k) continue;
    if (in_smem) atomicAdd(local + j, 1u);
    else atomicAdd(counts + j, 1ull);
  }
  if (in_smem) {
    __syncthreads();
    for (std::int64_t j = threadIdx.x; j < k; j += blockDim.x)
      if (local[j]) atomicAdd(counts + j, (unsigned long long)local[j]);
  }
}

__global__ void iota32(std::int32_t* v, std::int64_t n) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) v[i] = std::int32_t(i);
}

__global__ void fill(double* v, std::int64_t n, double value) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) v[i] = value;
}

template <class W>
__global__ void widen_weights(const W* in, std::int64_t n, double* out) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) out[i] = double(in[i]);
}

/// Rows idx[0..m) widened to fp64 (times row_scale when given).
template <class T, class Index>
__global__ void gather_rows(const T* x, std::int64_t d, std::int64_t ld, const Index* idx, std::int64_t m,
                            const double* row_scale, double* out) {
  const std::int64_t t = blockIdx.x;
  if (t >= m) return;
  const std::int64_t i = idx[t];
  for (std::int64_t f = threadIdx.x; f < d; f += blockDim.x) {
    double v = to_double(x[i * ld + f]);
    if (row_scale) v *= row_scale[i];
    out[t * d + f] = v;
  }
}

/// Largest row_base + i with mass(i) > 0 (atomic max: order independent); stays -1 when none.
__global__ void last_positive(SampleMass mass, std::int64_t n, std::int64_t row_base, long long* out) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  long long best = -1;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    if (mass(i) > 0) best = row_base + i;
  if (best >= 0) kernels::atomic_max(out, best);
}

/// One warp per target t: within chunk chunk_of[t] (starting at cumulative mass base[t]), the
/// first i whose running sum exceeds target[t]; -1 if rounding left none (the caller clamps).
__global__ void sample_in_chunk(SampleMass mass, std::int64_t n, std::int64_t chunk, const std::int64_t* chunk_of,
                                const double* base, const double* target, std::int64_t m, std::int64_t* out) {
  const std::int64_t t = (std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / kWarpSize;
  if (t >= m) return;
  const int lane = kernels::lane_id();
  const std::int64_t c0 = chunk_of[t] * chunk;
  const std::int64_t per = (chunk + kWarpSize - 1) / kWarpSize;
  const std::int64_t s0 = c0 + lane * per;
  const std::int64_t s1 = (s0 + per < c0 + chunk ? s0 + per : c0 + chunk) < n ? (s0 + per < c0 + chunk ? s0 + per : c0 + chunk) : n;
  double mine = 0;
  for (std::int64_t i = s0; i < s1; ++i) mine += mass(i);
  double incl = mine;  // inclusive scan over lanes, fixed order
  for (int o = 1; o < kWarpSize; o *= 2) {
    const double up = kernels::shuffle_up(incl, o);
    if (lane >= o) incl += up;
  }
  const double before = base[t] + (incl - mine);
  const bool here = base[t] + incl > target[t];
  const auto first = kernels::group_argmin<kWarpSize>(kernels::ArgMin<int>{here ? lane : kWarpSize, lane});
  if (lane == (first.value < kWarpSize ? first.value : 0)) {
    std::int64_t found = -1;
    if (first.value < kWarpSize) {
      double s = before;
      for (std::int64_t i = s0; i < s1; ++i) {
        s += mass(i);
        if (s > target[t]) {
          found = i;
          break;
        }
      }
    }
    out[t] = found;
  }
}

/// flags[i] = 1 when point i is drawn by k-means|| oversampling (per-point counter-based RNG).
__global__ void oversample_flags(const double* w, const double* dist, std::int64_t n, std::int64_t row_offset,
                                 double scale, double potential, std::uint64_t seed, std::int32_t* flags) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const double wi = w ? w[i] : 1.0;
    flags[i] = detail::uniform01(seed, std::uint64_t(row_offset + i)) * potential < scale * (wi == 0 ? 0.0 : wi * dist[i]);
  }
}

/// Sort keys for farthest_points: dist for points of positive weight, -inf for the rest.
__global__ void farthest_keys(const double* w, const double* dist, std::int64_t n, double* keys) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const double wi = w ? w[i] : 1.0;
    keys[i] = wi > 0 ? dist[i] + 0.0 : -__builtin_inf();
  }
}

/// k-means++ candidate potentials: block b (warps over its rows, one row per warp at a time)
/// writes partials[b * m + j] = sum over its rows of w_i * min(dist_i, dist(x_i, c_j)), fp64.
template <class T>
__global__ void candidate_potentials(const T* x, std::int64_t n, std::int64_t d, std::int64_t ld,
                                     kernels::MetricCode metric, const double* row_scale, const double* w,
                                     const double* dist, const double* c, std::int64_t m, std::int64_t rows_per_block,
                                     double* partials) {
  extern __shared__ double warp_part[];  // [warps][m]
  const int warps = int(blockDim.x) / kWarpSize, warp = kernels::warp_id(), lane = kernels::lane_id();
  for (std::int64_t j = threadIdx.x; j < std::int64_t(warps) * m; j += blockDim.x) warp_part[j] = 0;
  __syncthreads();
  const std::int64_t r0 = std::int64_t(blockIdx.x) * rows_per_block;
  for (std::int64_t i = r0 + warp; i < r0 + rows_per_block && i < n; i += warps) {
    const double wi = w ? w[i] : 1.0;
    const double rs = row_scale ? row_scale[i] : 1.0;
    for (std::int64_t j = 0; j < m; ++j) {
      double s = 0;
      for (std::int64_t f = lane; f < d; f += kWarpSize) {
        const double xv = to_double(x[i * ld + f]), cv = c[j * d + f];
        s += metric == kernels::MetricCode::L2 ? (xv - cv) * (xv - cv) : xv * cv;
      }
      s = kernels::warp_sum(s);
      const double dij = metric == kernels::MetricCode::L2 ? s : (metric == kernels::MetricCode::Cosine ? 1.0 - s * rs : -s);
      const double best = dist[i] < dij ? dist[i] : dij;
      if (lane == 0 && wi != 0) warp_part[warp * m + j] += wi * best;
    }
  }
  __syncthreads();
  for (std::int64_t j = threadIdx.x; j < m; j += blockDim.x) {
    double s = 0;
    for (int q = 0; q < warps; ++q) s += warp_part[q * m + j];
    partials[std::int64_t(blockIdx.x) * m + j] = s;
  }
}

}  // namespace fkm::cuda
