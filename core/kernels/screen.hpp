// Exact labels from fast arithmetic: the screen of precision = exact on tensor cores.
//
// The fast pass scores every centroid with one reduced-precision term (fp16/bf16 points against
// centroids rounded to the same type, or TF32 for fp32 points) and keeps, per row, the best
// score s1 (centroid j1) and the second best s2. A row whose label the rounding cannot have
// changed is finished there; the others are listed and re-scored with fp32-accurate arithmetic
// (backends/cuda/cuda_problem.cu: the split-centroid tensor-core kernel, or FFMA for fp32 data).
//
// The bound. Scores are in units sigma = 2^-s (a power of two per Problem, chosen so that
// fp32 neither overflows nor underflows: backends/cuda/operands.cuh). For row x (the stored
// values) and centroid c_j (fp64) the exact score is
//     S_j = sigma * (b_j + m * <x, c_j>),   b_j = ||c_j||^2 (L2) or 0,  m = -2 (L2) or -1,
// and the kernel computes s_j = fl32(fma(mul_j, a_j, bias_j)) with mul_j = sigma * m * 2^t_j
// (exact: a power of two times m), bias_j = fl32(sigma * b_j), and a_j the tensor cores' sum of
// x~_f * c~_jf over dpad features in `steps` mma k-steps, c~_j = round(c_j * 2^-t_j) in the
// operand type, x~ = x (fp16/bf16) or rna_tf32(x). Then, with |.| the Euclidean norm:
//   (1) the fma rounds once:              |s_j - (mul_j a_j + bias_j)| <= u' |s_j| + 2^-149
//   (2) the bias, rounded from fp64:      |bias_j - sigma b_j| <= beta_j
//   (3) the accumulation: each k-step adds <= 16 exact products to the accumulator with an
//       error <= delta (|acc| + sum |p|) (products exact, aligned and truncated; Fasi, Higham,
//       Mikaitis, Pranesh 2021 measured ~2^-23 on V100/T4/A100; delta = 2^-20 leaves 8x), so
//       |a_j - <x~, c~_j>| <= gamma sum_f |x~_f c~_jf| <= gamma |x~| |c~_j|,
//       gamma = steps delta / (1 - steps delta); operands below the smallest normal mu_x, mu_c
//       and subnormal partial sums are allowed to be flushed to zero:
//       + mu_x sqrt(dpad) |c~_j| + mu_c sqrt(dpad) |x| + steps 2^-126
//   (4) TF32 points:                      |<x~ - x, c~_j>| <= u_x |x| |c~_j|,  u_x = 2^-11
//   (5) the centroid's rounding:          |<x, c~_j - c_j 2^-t_j>| <= |x| rho_j,
//       rho_j = |c~_j - c_j 2^-t_j| computed exactly from the stored operand (operands.cuh).
// Summed: |s_j - S_j| <= u'|s_j| + |x| kappa_j + lambda_j with
//   kappa_j  = |mul_j| ((gamma (1 + u_x) + u_x) |c~_j| + rho_j + mu_c sqrt(dpad))
//   lambda_j = beta_j + 2^-149 + |mul_j| (mu_x sqrt(dpad) |c~_j| + steps 2^-126).
// The operand preparation reduces kappa = max_j kappa_j and lambda = max_j lambda_j (rounded up).
//
// The proof. Let S^ be j1's exact score computed in fp64 from the row (the same pass that gives
// the reported distance), |S^ - S_j1| <= eps64. For j != j1, s_j >= s2 and v - u'|v| grows with
// v, so S_j >= s2 - u'|s2| - |x| kappa - lambda. If that exceeds S^ + eps64, every other centroid
// is strictly farther than j1 in exact arithmetic: j1 is the unique nearest centroid, the label
// the fp64 reference computes (up to its own fp64 rounding). The test itself runs in fp64 with
// a 2^-40 relative allowance for its own rounding. Rows that fail it (near-ties, or scores that
// are not finite) are re-scored. A loose bound costs re-scored rows, never a label.
#pragma once
#include <cstdint>

#include "tile.hpp"

namespace fkm::kernels {

/// The fast pass's error bound for one operand set: |s_j - S_j| <= u'|s_j| + |x| kappa + lambda.
/// Stored as fp32 bit patterns so the preparation can reduce them with integer atomicMax (the
/// order of non-negative floats is the order of their bits).
struct ScreenBound {
  unsigned kappa_bits = 0, lambda_bits = 0;
};

/// What the screening fast pass needs besides the assign arguments.
struct ScreenArgs {
  const ScreenBound* bound = nullptr;  ///< device: the operand set's bound
  double sigma = 1;                    ///< score unit (a power of two)
  std::int64_t k = 0;                  ///< real centroids (a single centroid needs no proof)
  bool force = false;                  ///< list every row (tests the re-score path)
  std::int32_t* rows = nullptr;        ///< device: rows left to re-score, in no particular order
  std::int32_t* count = nullptr;       ///< device: how many (zeroed before the pass)
};

/// fp32 rounding allowance of one fma (rounding to nearest, relative to the result), doubled.
inline constexpr double kScoreRounding = 0x1p-23;

/// Best and second-best score of a row, and the best one's column.
struct Best2 {
  float best, second;
  std::int32_t index;
};

#if defined(__CUDACC__) || defined(__HIPCC__)

/// Adds score `s` of column `j` (columns visited in ascending order: strict '<' keeps the lower
/// index among equal scores).
FKM_DEVICE FKM_FORCEINLINE void push(Best2& b, float s, std::int32_t j) {
  b.second = fminf(b.second, fmaxf(b.best, s));
  if (s < b.best) {
    b.best = s;
    b.index = j;
  }
}

/// The two smallest of two candidates' sets (ties: the lower index is best, and the equal score
/// is also the second best, so a tie is never proved).
FKM_DEVICE FKM_FORCEINLINE Best2 merge(Best2 a, Best2 b) {
  Best2 r;
  r.second = fminf(fminf(a.second, b.second), fmaxf(a.best, b.best));
  const bool take_b = b.best < a.best || (b.best == a.best && b.index < a.index);
  r.best = take_b ? b.best : a.best;
  r.index = take_b ? b.index : a.index;
  return r;
}

/// merge() over groups of `Width` consecutive lanes; every lane of a group gets the result.
template <int Width>
FKM_DEVICE FKM_FORCEINLINE Best2 group_best2(Best2 a) {
  static_assert((Width & (Width - 1)) == 0 && Width <= kWarpSize, "group width: a power of two within a warp");
  for (int m = Width / 2; m > 0; m /= 2)
    a = merge(a, Best2{shuffle_xor(a.best, m), shuffle_xor(a.second, m), shuffle_xor(a.index, m)});
  return a;
}

/// Whether the fast label of a row is the exact one (see the proof above). s1, s2: the fast
/// best and second best; exact: j1's score in fp64 (unit 1, not sigma); exact_err: a bound on
/// its fp64 error; xx = |x|^2 in fp64; d: features.
FKM_DEVICE FKM_FORCEINLINE bool proves_label(const ScreenArgs& s, float s1, float s2, double exact, double exact_err,
                                             double xx, std::int64_t d) {
  if (s.force) return false;
  if (s.k <= 1) return true;
  if (!isfinite(s1) || !isfinite(s2)) return false;
  const double kappa = double(__uint_as_float(s.bound->kappa_bits));
  const double lambda = double(__uint_as_float(s.bound->lambda_bits));
  const double norm = sqrt(xx) * (1 + double(d + 8) * 0x1p-52);
  const double hat = exact * s.sigma, hat_err = exact_err * s.sigma;
  const double second = double(s2);
  const double margin = kScoreRounding * fabs(second) + norm * kappa + lambda + 0x1p-40 * (fabs(second) + fabs(hat));
  return second - margin > hat + hat_err;
}

#endif  // device compiler

}  // namespace fkm::kernels
