// The rounding allowance of the CPU backend's pruned assignment (KMeansParams::pruning).
//
// Pruning keeps a point's label without meeting every centroid when a bound proves that the
// score kernel would pick that label again. The kernel does not compute exact distances: it
// scores fp32-rounded, centred vectors with an fp32 dot product. So a proof must beat the exact
// gap by the most that rounding can move two scores; then the kept label is the one the full
// kernel gives, and labels, distances, sums and inertia are the plain assignment's, bit for bit.
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>

namespace fkm::cpu {

/// How far the score kernel can be from exact arithmetic on the true rows and centroids: it
/// scores x~ = fl(x - fl(mean)) against c~ = fl(c - mean), each at most rho(|x|) from the true
/// vector (Euclidean), with a rounded dot product. With unit roundoff u, gamma = D u / (1 - D u)
/// and |c~| <= C, the score fl(fl(|c~|^2) - 2 dot~) is within
///   2 gamma |x~| C            (the dot product: a chain of D fused multiply-adds)
/// + u C^2                     (|c~|^2 rounded to the kernel's type)
/// + u (C^2 + 2 |x~| C)        (the final rounding)
/// of the exact score of (x~, c~); score_error() doubles that sum, and rho() doubles the vector
/// rounding: a loose bound costs pruning, never a label.
struct RoundingBounds {
  double eps = 0;        ///< machine epsilon of the kernel's type
  double c_max = 0;      ///< largest |c - shift| over the centroids
  double mean_norm = 0;  ///< |shift| (0 when the data are not centred)
  double d = 0;          ///< features
  double safe_r2 = 0;    ///< (|x| + c_max + mean_norm)^2 below this (scaled): no score can overflow
  double scale = 1;      ///< the power of two the kernel's rows and centroids are multiplied by

  double rho(double xn) const { return 2 * eps * (xn + c_max + mean_norm); }
  double score_error(double xn) const {
    const double u = eps / 2, du = d * u, gamma = du < 0.5 ? du / (1 - du) : 2 * du;
    const double x = xn + rho(xn), c = c_max;
    return 2 * (2 * gamma * x * c + u * c * c + u * (c * c + 2 * x * c));
  }
  /// The analysis holds where no score overflows, and where the scaled vectors are far enough
  /// from zero that products lost to underflow (at most 2^-149 each) stay far below the bound.
  bool in_range(double xn) const {
    const double r = (xn + c_max + mean_norm) * scale, tiny = std::ldexp(1.0, -40);
    return r * r < safe_r2 && xn * scale > tiny && c_max * scale > tiny;
  }
  /// The least lower bound that proves the label: every centroid at a true distance above it
  /// from x scores surely above the centroid at exact squared distance dist (x2 = |x - shift|^2),
  /// so the kernel cannot prefer it. +inf when nothing can be proved (scores could overflow).
  double min_proving_lower(double x2, double dist) const {
    const double xn = std::sqrt(x2);
    if (!in_range(xn)) return std::numeric_limits<double>::infinity();
    const double r = rho(xn), u = std::sqrt(dist) * (1 + 1e-12) + r;
    // proved when l = lower (1 - 1e-12) - r > 0 and l^2 - u^2 > 2 E
    return (std::sqrt(u * u + 2 * score_error(xn)) + r) / (1 - 1e-12);
  }
  /// A lower bound on the true distance of x to every centroid the kernel scored at least
  /// `score` (x2 = |x - shift|^2); 0 (no proof) for +inf or NaN scores: those mean overflow.
  double lower_bound(double x2, double score) const {
    const double xn = std::sqrt(x2);
    if (!(score < std::numeric_limits<double>::infinity()) || !in_range(xn)) return 0;
    const double r = rho(xn), xlo = std::max(0.0, xn - r);
    const double d2 = score + xlo * xlo - score_error(xn);
    return std::max(0.0, std::sqrt(std::max(0.0, d2)) * (1 - 1e-12) - r);
  }
};

/// Bounds are kept in fp32 (one per point), rounded toward zero so that they stay bounds.
inline float bound_down(double v) {
  if (!(v > 0)) return 0.f;
  if (v == std::numeric_limits<double>::infinity()) return std::numeric_limits<float>::infinity();
  float f = float(v);
  if (double(f) > v) f = std::nextafter(f, 0.f);
  return f;
}

}  // namespace fkm::cpu
