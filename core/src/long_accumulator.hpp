// The words of a long accumulator (Kulisch) and how one double is added to them: the layout of
// detail::ExactSum (backends/distributed/exact_sum.hpp), here so that a device kernel can add
// into the same words (Problem::exact_weighted_distance_sum) with the very function the host
// uses. FKM_HD, double and 64-bit integer arithmetic only, no library calls.
//
// A sum is 72 limbs of 32 bits held in int64 words (limb 0, bit 0 weighs 2^-1152: every double
// from the smallest subnormal to the largest, with 64 bits of headroom for carries), then three
// counters: NaN, +Inf and -Inf terms. Adding a finite double adds its 53-bit mantissa, split into
// three parts below 2^32, to three consecutive limbs (subtracts, when negative): integer additions,
// exact and associative, so any grouping of the terms gives the same words once normalised.
#pragma once
#include <cstdint>
#include <cstring>

#include "../kernels/platform.hpp"

namespace fkm::detail {

inline constexpr int kLongLimbs = 72;
inline constexpr int kLongWords = kLongLimbs + 3;  ///< limbs, then counts of NaN, +Inf, -Inf terms
inline constexpr int kLongBias = 1152;             ///< limb 0, bit 0 weighs 2^-kLongBias
inline constexpr int kLongNan = kLongLimbs, kLongPosInf = kLongLimbs + 1, kLongNegInf = kLongLimbs + 2;

/// What adding one double does to the words: words[limb + q] += part[q] (q < 3), or, for NaN and
/// infinities, words[limb] += 1 with part = {1, 0, 0}; limb < 0: nothing (a zero).
struct LongTerm {
  int limb = -1;
  std::int64_t part[3] = {0, 0, 0};  ///< each of magnitude < 2^32, with the term's sign
};

/// The bits of a double (std::memcpy is host-only in HIP's device dialect).
FKM_HD inline std::uint64_t bits_of_double(double v) {
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
  return std::uint64_t(__double_as_longlong(v));
#else
  std::uint64_t u;
  std::memcpy(&u, &v, sizeof u);
  return u;
#endif
}

FKM_HD inline LongTerm long_term(double v) {
  // v = +-mant * 2^exp2 read from its bits
  const std::uint64_t u = bits_of_double(v);
  const int biased = int((u >> 52) & 0x7ff);
  std::uint64_t mant = u & ((std::uint64_t(1) << 52) - 1);
  const bool negative = (u >> 63) != 0;
  LongTerm t;
  if (biased == 0x7ff) {
    t.limb = mant != 0 ? kLongNan : (negative ? kLongNegInf : kLongPosInf);
    t.part[0] = 1;
    return t;
  }
  int exp2 = -1074;  // subnormal (or zero)
  if (biased != 0) {
    mant |= std::uint64_t(1) << 52;
    exp2 = biased - 1075;
  } else if (mant == 0) {
    return t;
  }
  const int lsb = exp2 + kLongBias;  // bit index of mant's lowest bit, >= 78
  const int shift = lsb % 32;
  t.limb = lsb / 32;
  // mant << shift spans at most 85 bits: three 32-bit parts, without a 128-bit type.
  const std::uint64_t low = mant << shift;                               // bits 0..63
  const std::uint64_t high = shift == 0 ? 0 : mant >> (64 - shift);      // bits 64..84
  const std::int64_t p0 = std::int64_t(low & 0xffffffffu), p1 = std::int64_t(low >> 32), p2 = std::int64_t(high);
  t.part[0] = negative ? -p0 : p0;
  t.part[1] = negative ? -p1 : p1;
  t.part[2] = negative ? -p2 : p2;
  return t;
}

}  // namespace fkm::detail
