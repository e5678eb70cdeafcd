// Exact labels from fast arithmetic: the screen of precision = exact on tensor cores.
//
// Three passes (backends/cuda/assign_mma.cuh, MmaRole), each over fewer rows:
//   Screen      every row, one reduced-precision term (fp16/bf16 points against centroids
//               rounded to the same type, or TF32 for fp32 points), keeping the best score s1
//               (centroid j1) and the second best s2. A row whose label the rounding cannot have
//               changed (proof 1 below) is finished there; the others go to the `near` list.
//   Pairs       the near rows again with the same arithmetic, keeping the two best centroids
//               j1, j2 and the third-best score s3. When no third centroid can be the nearest
//               (proof 2), the row takes whichever of j1, j2 is nearer in fp64 (the reference's
//               own comparison); the others go to the `open` list.
//   Rescore     the open rows with fp32-accurate arithmetic (the split-centroid tensor-core
//               kernel, or FFMA for fp32 data): the old exact mode, on a few rows.
// The proofs make the labels of the first two passes those of exact arithmetic; the third gives
// fp32-accurate ones. Near-ties, where fp64 and fp32 may differ, are the only differences from
// the fp64 reference (the behaviour tests' allowance).
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
//   (4) TF32 points:                      |<x~ - x, c~_j>| <= |x~ - x| |c~_j|, where |x~ - x| is
//       computed exactly for each row from the same rounding (0 for fp16/bf16 points)
//   (5) the centroid's rounding:          |<x, c~_j - c_j 2^-t_j>| <= |x| rho_j,
//       rho_j = |c~_j - c_j 2^-t_j| computed exactly from the stored operand (operands.cuh).
// Summed, with |x~| <= |x| + |x~ - x|:
//   |s_j - S_j| <= u'|s_j| + |x| kappa_j + |x~ - x| nu_j + lambda_j,
//   kappa_j  = |mul_j| (gamma |c~_j| + rho_j + mu_c sqrt(dpad))
//   nu_j     = |mul_j| ((1 + gamma) |c~_j| + mu_c sqrt(dpad))
//   lambda_j = beta_j + 2^-149 + |mul_j| (mu_x sqrt(dpad) |c~_j| + steps 2^-126).
// The operand preparation reduces kappa, nu, lambda = the maxima over j (inflated by 2^-30 for
// the fp64 rounding of their own computation).
//
// Proof 1 (Screen). Let S^ be j1's exact score computed in fp64 from the row (the same pass that
// gives the reported distance), |S^ - S_j1| <= eps64. For j != j1, s_j >= s2 and v - u'|v| grows
// with v, so S_j >= s2 - u'|s2| - |x| kappa - |x~ - x| nu - lambda =: low(s2). If low(s2) exceeds
// S^ + eps64, every other centroid is strictly farther than j1 in exact arithmetic: j1 is the
// unique nearest centroid, the label the fp64 reference computes (up to its own fp64 rounding).
// Proof 2 (Pairs). Every j outside {j1, j2} has s_j >= s3, so S_j >= low(s3). If low(s3) exceeds
// min(S^_1 + eps_1, S^_2 + eps_2), the nearest centroid is j1 or j2, and their fp64 distances
// decide (ties to the lower index, as the reference).
// The tests run in fp64 with a 2^-40 relative allowance for their own rounding. Rows that fail
// (near-ties, or scores that are not finite) go on. A loose bound costs work, never a label.
#pragma once
#include <cstdint>

#include "tile.hpp"

namespace fkm::kernels {

/// The fast pass's error bound for one operand set:
/// |s_j - S_j| <= u'|s_j| + |x| kappa + |x~ - x| nu + lambda. Stored as fp64 bit patterns so the
/// preparation can reduce them with integer atomicMax (non-negative doubles order as their bits);
/// fp64 because kappa and nu convert raw row norms into score units, a factor up to ~2^250.
struct ScreenBound {
  unsigned long long kappa_bits = 0, nu_bits = 0, lambda_bits = 0;
};

/// What the screen's passes need besides the assign arguments.
struct ScreenArgs {
  const ScreenBound* bound = nullptr;  ///< device: the operand set's bound
  double sigma = 1;                    ///< score unit (a power of two)
  std::int64_t k = 0;                  ///< real centroids (a single centroid needs no proof)
  bool force_screen = false;           ///< proof 1 proves nothing (tests the later passes)
  bool force_pairs = false;            ///< proof 2 proves nothing (tests the re-score)
  std::int32_t* near_rows = nullptr;   ///< device: rows the screen left, in no particular order
  std::int32_t* near_count = nullptr;  ///< device: how many (zeroed before the screen)
  std::int32_t* open_rows = nullptr;   ///< device: rows the pairs pass left
  std::int32_t* open_count = nullptr;  ///< device: how many (zeroed before the screen)
};

/// A row's exact score in fp64 (unit 1: score = b + m <x, c>) and a bound on its fp64 error.
struct ExactScore {
  double value, err;
};

/// fp32 rounding allowance of one fma (rounding to nearest, relative to the result), doubled.
inline constexpr double kScoreRounding = 0x1p-23;

/// Best and second-best score of a row, and the best one's column (the screen).
struct Best2 {
  float best, second;
  std::int32_t index;
};

/// The three best scores of a row and the two best columns (the pairs pass).
struct Best3 {
  float s1, s2, s3;
  std::int32_t j1, j2;
};

#if defined(__CUDACC__) || defined(__HIPCC__)

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

/// Adds score s of column j (-1: a score whose column is not needed, which can only land third).
FKM_DEVICE FKM_FORCEINLINE void push(Best3& b, float s, std::int32_t j) {
  if (!(s < b.s3)) return;
  if (s < b.s2) {
    b.s3 = b.s2;
    if (s < b.s1) {
      b.s2 = b.s1;
      b.j2 = b.j1;
      b.s1 = s;
      b.j1 = j;
    } else {
      b.s2 = s;
      b.j2 = j;
    }
  } else {
    b.s3 = s;
  }
}

/// The pairs pass's candidates over groups of `Width` consecutive lanes (every lane gets them).
/// Which of two equal scores is first does not matter here: both are candidates, and fp64
/// decides between them.
template <int Width>
FKM_DEVICE FKM_FORCEINLINE Best3 group_best3(Best3 a) {
  static_assert((Width & (Width - 1)) == 0 && Width <= kWarpSize, "group width: a power of two within a warp");
  for (int m = Width / 2; m > 0; m /= 2) {
    const float o1 = shuffle_xor(a.s1, m), o2 = shuffle_xor(a.s2, m), o3 = shuffle_xor(a.s3, m);
    const std::int32_t i1 = shuffle_xor(a.j1, m), i2 = shuffle_xor(a.j2, m);
    // the partner's values in ascending order: o3 cannot pass two values already placed
    push(a, o1, i1);
    push(a, o2, i2);
    push(a, o3, -1);
  }
  return a;
}

/// The least exact score any centroid with computed score >= s can have (the bound above),
/// minus a 2^-40 allowance for the test's own fp64 rounding; -inf when s is not finite.
/// norm = |x|, dnorm = |x~ - x| (fp64, rounded up).
FKM_DEVICE FKM_FORCEINLINE double lowest_exact(const ScreenArgs& a, float s, double norm, double dnorm) {
  if (!isfinite(s)) return -__builtin_inf();
  const double kappa = __longlong_as_double((long long)a.bound->kappa_bits);
  const double nu = __longlong_as_double((long long)a.bound->nu_bits);
  const double lambda = __longlong_as_double((long long)a.bound->lambda_bits);
  const double v = double(s);
  return v - (kScoreRounding + 0x1p-40) * fabs(v) - norm * kappa - dnorm * nu - lambda;
}

/// |x| and |x~ - x| from their fp64 sums of squares, rounded up.
FKM_DEVICE FKM_FORCEINLINE double norm_up(double sum_sq, std::int64_t d) {
  return sqrt(sum_sq) * (1 + double(d + 8) * 0x1p-52);
}

/// The upper end of an exact score's interval, in sigma units.
FKM_DEVICE FKM_FORCEINLINE double highest(const ScreenArgs& a, ExactScore e) {
  const double v = e.value * a.sigma;
  return v + e.err * a.sigma + 0x1p-40 * fabs(v);
}

/// Proof 1: the screen's label j1 (best s1, second best s2, exact score `e`) is the exact one.
FKM_DEVICE FKM_FORCEINLINE bool proves_label(const ScreenArgs& a, float s1, float s2, ExactScore e, double norm,
                                             double dnorm) {
  if (a.force_screen) return false;
  if (a.k <= 1) return true;
  return isfinite(s1) && lowest_exact(a, s2, norm, dnorm) > highest(a, e);
}

/// Proof 2: the nearest centroid is one of the pairs pass's j1, j2 (exact scores e1, e2; third
/// best computed score s3).
FKM_DEVICE FKM_FORCEINLINE bool proves_pair(const ScreenArgs& a, float s3, ExactScore e1, ExactScore e2, double norm,
                                            double dnorm) {
  if (a.force_pairs) return false;
  if (a.k <= 2) return true;
  const double h1 = highest(a, e1), h2 = highest(a, e2);
  return lowest_exact(a, s3, norm, dnorm) > (h1 < h2 ? h1 : h2);
}

#endif  // device compiler

}  // namespace fkm::kernels
