// Rounding of one term onto a fixed-point grid (FixedPointFormat, fkm/backend.hpp). Every
// backend that implements Problem::accumulate_fixed uses these, so a term rounds to the same
// integer on every backend, thread and process.
//
// The per-term functions (round_to_even, fixed_term64, add_term) are FKM_HD: device kernels
// (Kokkos on Cuda / HIP) call these very functions, not copies. They use only double and 64-bit
// integer arithmetic, which every device has; a 128-bit total is two 64-bit words (FixedSum).
#pragma once
#include <cmath>
#include <cstdint>
#include <string>

#include "../kernels/platform.hpp"
#include "fkm/backend.hpp"
#include "fkm/error.hpp"

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

/// Throws Error(InvalidArgument) unless `format` has one exponent per feature (d of them).
inline void check_format(const FixedPointFormat& format, std::int64_t d, const std::string& backend) {
  if (std::int64_t(format.exponent.size()) != d)
    throw Error(ErrorCode::InvalidArgument, backend + " backend: accumulate_fixed got a format of " +
                                                std::to_string(format.exponent.size()) + " exponents for " +
                                                std::to_string(d) + " features");
}

/// v rounded to the nearest integer, ties to even (as std::nearbyint in the default rounding
/// mode, without its library call: this runs once per element of every accumulation). The
/// magnitude is written out because std::fabs is not callable in every device dialect.
FKM_HD inline double round_to_even(double v) {
  constexpr double kTwo52 = 0x1p52;  // from here on every double is an integer
  if (!((v < 0 ? -v : v) < kTwo52)) return v;
  return v >= 0 ? (v + kTwo52) - kTwo52 : (v - kTwo52) + kTwo52;
}

/// round(v * 2^-exponent) to nearest, ties to even. The format guarantees |result| <= 2^62.
/// s.hi and s.lo are powers of two, so the products are exact (or underflow to a value that
/// rounds to 0 anyway): a compiler that contracts the last product and the + 2^52 of
/// round_to_even into an FMA (NVCC does) gets the same integer.
FKM_HD inline std::int64_t fixed_term64(double v, FixedScale s) { return std::int64_t(round_to_even(v * s.hi * s.lo)); }
inline __int128 fixed_term(double v, FixedScale s) { return __int128(fixed_term64(v, s)); }

/// sum += term on a 128-bit two's-complement total held as two 64-bit words: the low words
/// add modulo 2^64, the high word takes the carry and the term's sign extension.
FKM_HD inline void add_term(FixedSum& sum, std::int64_t term) {
  const std::uint64_t lo = sum.lo + std::uint64_t(term);
  sum.hi += (term < 0 ? -1 : 0) + (lo < sum.lo ? 1 : 0);
  sum.lo = lo;
}

inline FixedSum to_fixed_sum(__int128 v) {
  return FixedSum{std::uint64_t(static_cast<unsigned __int128>(v)), std::int64_t(v >> 64)};
}

inline __int128 from_fixed_sum(const FixedSum& s) {
  return __int128(static_cast<unsigned __int128>(std::uint64_t(s.hi)) << 64 | s.lo);
}

}  // namespace fkm::detail
