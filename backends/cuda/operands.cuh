// Centroid operands of FlashAssign, and the score unit that keeps fp32 in range.
//
// The assign kernels score s_j = bias_j + mul_j * <x, c~_j> with c~_j = round(c_j * 2^-t_j) in
// the operand type. Two powers of two keep every fp32 quantity in range for data of any
// magnitude (fp32 squares overflow above ~1.8e19 and underflow below ~1e-23):
//   * the score unit sigma = 2^-s (per Problem, from the data's largest magnitude 2^a): scores
//     are sigma times the exact ones, about 2^20 for centroids of the data's size;
//     bias_j = sigma ||c_j||^2, mul_j = sigma * m * 2^t_j (m = -2 for L2, -1 otherwise);
//   * the centroid exponent t_j: fp16 operands put max |c~_j| in [2^13, 2^14) (fp16 range;
//     fp16 data are below 2^16, so products stay below 2^30); fp32-range operands (bf16, tf32,
//     fp32) put it at 2^(20 - a), so products x_f c~_f are about 2^20 whatever the data's
//     magnitude (clamped to [2^-100, 2^100] for data beyond 2^+-80; mul_j then absorbs the rest).
// Scaling by powers of two is exact, so the scores are the unscaled ones times sigma up to the
// same roundings: the argmin is unchanged. Data beyond 2^+-120 (fp32/bf16), or centroids more
// than 2^40 times larger than the data (predict with far-away centroids), are out of this
// scheme's guarantees: the Problem then assigns with the fp64 SIMT kernel (score_scale_for,
// centroids_in_range). fp64 data always run in fp64, unscaled.
//
// With a screen bound requested, each block also reduces its centroid's share of the fast
// pass's error bound (core/kernels/screen.hpp: kappa_j, lambda_j) into ScreenBound.
#pragma once
#include <cmath>
#include <cstdint>

#include "../../core/kernels/screen.hpp"
#include "../../core/kernels/tile.hpp"
#include "../cuda_hip/gpu_types.hpp"
#include "fkm/params.hpp"
#include "fkm/view.hpp"

namespace fkm::cuda {

/// How the centroid exponent t_j is chosen.
enum class OperandRange {
  Unscaled,  ///< t_j = 0, sigma = 1 (fp64 kernels)
  Half,      ///< fp16 operands: max |c~_j| in [2^13, 2^14)
  Wide,      ///< fp32-range operands (bf16, tf32, fp32): max |c~_j| ~ 2^(20 - a)
};

/// How the nsplit terms of a centroid are formed.
enum class TermRule {
  Split,         ///< term q = the nearest operand value of what terms 0..q-1 left
  Tf32ThenFull,  ///< fp32 operands: term 0 = tf32(c~) (tensor cores), term 1 = c~ (FFMA re-score)
};

/// The score unit and exponent rules of one Problem, from its data's largest magnitude.
struct ScoreScale {
  int s_total = 0;            ///< sigma = 2^-s_total
  int wide_shift = 0;         ///< Wide: t_j = ilogb(max |c_j|) + wide_shift
  int c_ref = 0;              ///< centroids up to 2^(c_ref + 40) in magnitude keep the scaled kernels
  bool data_in_range = true;  ///< false: every assign runs in fp64
  double sigma() const { return std::ldexp(1.0, -s_total); }
  bool centroids_in_range(double largest) const { return data_in_range && largest <= std::ldexp(1.0, c_ref + 40); }
};

/// largest: max |x_if| over the data. Cosine scores are -<x, c> with |c| = 1, so their unit
/// follows |x| alone.
inline ScoreScale score_scale_for(double largest, DType dtype, Metric metric) {
  ScoreScale s;
  const int a = largest > 0 && std::isfinite(largest) ? std::ilogb(largest) : 0;
  const bool cosine = metric == Metric::Cosine;
  s.data_in_range = dtype == DType::F16 || (a >= -120 && a <= 120);
  s.s_total = (a - 10) + (cosine ? -10 : a - 10);
  s.wide_shift = a - 20 > -100 ? a - 20 : -100;
  s.c_ref = cosine ? 0 : a;
  return s;
}

/// The error-bound constants of one operand format (core/kernels/screen.hpp).
struct BoundSpec {
  kernels::ScreenBound* out = nullptr;  ///< null: no bound wanted; else zeroed before the launch
  double gamma = 0;                     ///< tensor-core accumulation: steps delta / (1 - steps delta)
  double mu_x = 0, mu_c = 0;            ///< smallest normal of the points / operands as the mma reads them
  int steps = 0;                        ///< mma k-steps over dpad
};

struct PrepareArgs {
  const double* c;  ///< k x d fp64 centroids (normalised for cosine)
  std::int64_t k, d, kpad, dpad;
  int nsplit;
  TermRule rule;
  OperandRange range;
  bool l2;
  int s_total, wide_shift;
  BoundSpec bound;
};

#if defined(__CUDACC__) || defined(__HIPCC__)

/// The bits of a non-negative double (their order is the values' order: atomicMax reduces them).
__device__ inline unsigned long long bits_of(double v) { return (unsigned long long)__double_as_longlong(v); }

/// The nearest operand value of v, and that value widened back.
template <class Op>
__device__ inline Op to_operand(double v, bool tf32, double* back) {
  if constexpr (sizeof(Op) == 2) {
    const Op o = gpu::from_double<Op>(v);
    *back = double(gpu::to_float(o));
    return o;
  } else if constexpr (sizeof(Op) == 4) {
    const float o = tf32 ? gpu::round_to_tf32(float(v)) : float(v);
    *back = double(o);
    return o;
  } else {
    *back = v;
    return v;
  }
}

/// One block per (padded) centroid row j: terms [nsplit][kpad][dpad] of type Op, bias_j and
/// mul_j (padding rows: bias +inf, mul 0, terms 0), and the row's share of the screen bound.
/// prepare_operand_row is one block's work (also the batched kernel's, cuda_batched.cuh).
template <class Op, class Acc>
__device__ __forceinline__ void prepare_operand_row(const PrepareArgs& p, std::int64_t j, Op* terms, Acc* bias, Acc* mul) {
  __shared__ double scratch[1024 / kernels::kWarpSize];
  const bool real = j < p.k;  // uniform over the block
  const double* row = p.c + j * p.d;
  double amax = 0;
  if (real)
    for (std::int64_t f = threadIdx.x; f < p.d; f += blockDim.x) amax = fmax(amax, fabs(row[f]));
  amax = kernels::block_max(amax, scratch);
  const int e = amax > 0 ? ilogb(amax) : 0;
  // ||c_j||^2 from the row scaled to ~1 (no fp64 overflow or underflow; the same bits as the
  // unscaled sum where that one is in range)
  double s2 = 0;
  if (real && p.l2)
    for (std::int64_t f = threadIdx.x; f < p.d; f += blockDim.x) {
      const double v = ldexp(row[f], -e);
      s2 += v * v;
    }
  const double norm2 = kernels::block_sum(s2, scratch);  // thread 0
  int t = 0;
  if (p.range != OperandRange::Unscaled) {
    t = amax > 0 ? (p.range == OperandRange::Half ? e - 13 : e + p.wide_shift) : p.s_total;
    if (t < p.s_total - 120) t = p.s_total - 120;  // keeps mul_j >= 2^-120: a normal fp32
  }
  double nc = 0, nr = 0;  // |term 0|^2 and |term 0 - c 2^-t|^2 (the fast pass's operand)
  for (std::int64_t f = threadIdx.x; f < p.dpad; f += blockDim.x) {
    const double want = (real && f < p.d) ? ldexp(row[f], -t) : 0.0;
    double rest = want;
    for (int q = 0; q < p.nsplit; ++q) {
      double back;
      Op term;
      if (p.rule == TermRule::Tf32ThenFull) term = to_operand<Op>(want, q == 0, &back);
      else term = to_operand<Op>(rest, false, &back);
      terms[(std::int64_t(q) * p.kpad + j) * p.dpad + f] = term;
      if (q == 0) {
        nc += back * back;
        nr += (want - back) * (want - back);
      }
      rest -= back;
    }
  }
  const double score_norm = ldexp(norm2, 2 * e - p.s_total);  // sigma ||c_j||^2 (thread 0)
  const Acc mul_j = real ? Acc(ldexp(p.l2 ? -2.0 : -1.0, t - p.s_total)) : Acc(0);
  if (threadIdx.x == 0) {
    bias[j] = real ? Acc(p.l2 ? score_norm : 0.0) : Acc(__builtin_inf());
    mul[j] = mul_j;
  }
  if (p.bound.out && real) {  // uniform: the bound pointer is the launch's, `real` the block's
    const double cn2 = kernels::block_sum(nc, scratch), rho2 = kernels::block_sum(nr, scratch);
    if (threadIdx.x == 0) {
      const BoundSpec& b = p.bound;
      const double grow = 1 + double(p.dpad + 8) * 0x1p-52;  // fp64 rounding of the sums above
      const double cn = sqrt(cn2) * grow, rho = sqrt(rho2) * grow;
      const double root = sqrt(double(p.dpad)) * (1 + 0x1p-50);
      const double am = fabs(double(mul_j));
      const double biased = p.l2 ? score_norm : 0.0;
      const double beta = (0x1p-23 + double(p.dpad + 4) * 0x1p-52) * biased + 0x1p-149;
      const double kappa = am * (b.gamma * cn + rho + b.mu_c * root);
      const double nu = am * ((1 + b.gamma) * cn + b.mu_c * root);
      const double lambda = beta + 0x1p-149 + am * (b.mu_x * root * cn + double(b.steps) * 0x1p-126);
      atomicMax(&b.out->kappa_bits, bits_of(kappa * (1 + 0x1p-30)));
      atomicMax(&b.out->nu_bits, bits_of(nu * (1 + 0x1p-30)));
      atomicMax(&b.out->lambda_bits, bits_of(lambda * (1 + 0x1p-30)));
    }
  }
}
template <class Op, class Acc>
__global__ void prepare_operands(PrepareArgs p, Op* terms, Acc* bias, Acc* mul) {
  prepare_operand_row<Op, Acc>(p, blockIdx.x, terms, bias, mul);
}

#endif  // device compiler

}  // namespace fkm::cuda
