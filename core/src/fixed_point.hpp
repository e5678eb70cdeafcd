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

/// A 128-bit total as kFixedWords int64 words of 43 bits (the top one signed, below 2^42 in
/// magnitude): totals of up to 2^20 processes combine by a plain element-wise int64 sum of
/// these words, with no custom reduction: on the host (MPI, FixedVector) or in device memory
/// (NCCL, Problem::accumulate_fixed_words).
inline constexpr int kFixedWords = 3;

FKM_HD inline void split_fixed(const FixedSum& v, std::int64_t* w) {
  constexpr std::uint64_t kMask = (std::uint64_t(1) << 43) - 1;
  w[0] = std::int64_t(v.lo & kMask);
  w[1] = std::int64_t(((v.lo >> 43) | (std::uint64_t(v.hi) << 21)) & kMask);
  w[2] = v.hi >> 22;  // arithmetic: the floor of v / 2^86
}

/// sum += v * 2^shift (v sign-extended), modulo 2^128.
FKM_HD inline void add_shifted(FixedSum& sum, std::int64_t v, int shift) {
  std::uint64_t lo = 0, hi = 0;
  if (shift == 0) {
    lo = std::uint64_t(v);
    hi = std::uint64_t(v >> 63);
  } else if (shift < 64) {
    lo = std::uint64_t(v) << shift;
    hi = std::uint64_t(v >> (64 - shift));
  } else {
    hi = std::uint64_t(v) << (shift - 64);
  }
  const std::uint64_t low = sum.lo + lo;
  sum.hi = std::int64_t(std::uint64_t(sum.hi) + hi + (low < sum.lo ? 1 : 0));
  sum.lo = low;
}

/// The total whose words (split_fixed, then summed over processes: any int64 values) are w,
/// modulo 2^128: exact whenever the true total fits (FixedPointFormat's promise).
FKM_HD inline FixedSum join_fixed(const std::int64_t* w) {
  FixedSum s;
  add_shifted(s, w[0], 0);
  add_shifted(s, w[1], 43);
  add_shifted(s, w[2], 86);
  return s;
}

/// v * 2^exponent as a double, rounded once to nearest, ties to even (the one rounding of
/// std::ldexp(double(__int128 v), exponent)), in 64-bit arithmetic: the host and the device
/// convert the same total to the same double.
FKM_HD inline double fixed_to_double(const FixedSum& v, int exponent) {
  const bool negative = v.hi < 0;
  std::uint64_t lo = v.lo, hi = std::uint64_t(v.hi);
  if (negative) {  // the magnitude, two's complement (2^127 included, as unsigned)
    lo = ~lo + 1;
    hi = ~hi + (lo == 0 ? 1 : 0);
  }
  double m;
  int scale = exponent;
  if (hi == 0) {
    m = double(lo);  // one rounding, to nearest even
  } else {
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
    const int lz = __clzll(static_cast<long long>(hi));
#else
    const int lz = __builtin_clzll(hi);
#endif
    // the top 64 bits, and a sticky bit for the rest: the one conversion then rounds as the
    // exact value would (the sticky bit lies below the rounding position)
    const std::uint64_t top = lz == 0 ? hi : (hi << lz) | (lo >> (64 - lz));
    const std::uint64_t rest = lz == 0 ? lo : lo << lz;
    m = double(top | (rest != 0 ? 1 : 0));
    scale += 64 - lz;
  }
  return ::ldexp(negative ? -m : m, scale);
}

inline FixedSum to_fixed_sum(__int128 v) {
  return FixedSum{std::uint64_t(static_cast<unsigned __int128>(v)), std::int64_t(v >> 64)};
}

inline __int128 from_fixed_sum(const FixedSum& s) {
  return __int128(static_cast<unsigned __int128>(std::uint64_t(s.hi)) << 64 | s.lo);
}

}  // namespace fkm::detail
