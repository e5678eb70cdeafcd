// Rounding of one term onto a fixed-point grid (FixedPointFormat, fkm/backend.hpp). Every
// backend that implements Problem::accumulate_fixed uses these, so a term rounds to the same
// integer on every backend, thread and process.
#pragma once
#include <cmath>
#include <cstdint>

#include "fkm/backend.hpp"

namespace fkm::detail {

/// 2^-exponent as a product of two normal doubles (2^-exponent alone may not be representable:
/// exponents span about -1130 .. 1090).
struct FixedScale {
  double hi = 1, lo = 1;
};

inline FixedScale fixed_scale(int exponent) {
  const int a = -exponent / 2, b = -exponent - a;
  return {std::ldexp(1.0, a), std::ldexp(1.0, b)};
}

/// v rounded to the nearest integer, ties to even (as std::nearbyint in the default rounding
/// mode, without its library call: this runs once per element of every accumulation).
inline double round_to_even(double v) {
  constexpr double kTwo52 = 0x1p52;  // from here on every double is an integer
  if (!(std::fabs(v) < kTwo52)) return v;
  return v >= 0 ? (v + kTwo52) - kTwo52 : (v - kTwo52) + kTwo52;
}

/// round(v * 2^-exponent) to nearest, ties to even. The format guarantees |result| <= 2^62.
inline __int128 fixed_term(double v, FixedScale s) { return __int128(std::int64_t(round_to_even(v * s.hi * s.lo))); }

inline FixedSum to_fixed_sum(__int128 v) {
  return FixedSum{std::uint64_t(static_cast<unsigned __int128>(v)), std::int64_t(v >> 64)};
}

inline __int128 from_fixed_sum(const FixedSum& s) {
  return __int128(static_cast<unsigned __int128>(std::uint64_t(s.hi)) << 64 | s.lo);
}

}  // namespace fkm::detail
