#include "exact_sum.hpp"

#include <cmath>
#include <cstring>
#include <limits>

namespace fkm::detail {
namespace {

constexpr int kBias = 1152;  // limb 0, bit 0 weighs 2^-kBias; the lowest bit of a double is 2^-1074
constexpr std::int64_t kMask32 = 0xffffffff;
// Each add changes a limb by less than 2^32: normalising every 2^30 adds keeps |limb| < 2^63.
constexpr std::int64_t kFlushEvery = std::int64_t(1) << 30;
constexpr int kNan = ExactSum::kLimbs, kPosInf = kNan + 1, kNegInf = kNan + 2;

}  // namespace

void ExactSum::add(double v) {
  // v = ±mant * 2^exp2 read from its bits (no library calls: this runs once per point).
  std::uint64_t u;
  std::memcpy(&u, &v, sizeof u);
  const int biased = int((u >> 52) & 0x7ff);
  std::uint64_t mant = u & ((std::uint64_t(1) << 52) - 1);
  const bool negative = (u >> 63) != 0;
  if (biased == 0x7ff) {
    ++words_[mant != 0 ? kNan : (negative ? kNegInf : kPosInf)];
    return;
  }
  int exp2 = -1074;  // subnormal (or zero)
  if (biased != 0) {
    mant |= std::uint64_t(1) << 52;
    exp2 = biased - 1075;
  } else if (mant == 0) {
    return;
  }
  const int lsb = exp2 + kBias;  // bit index of mant's lowest bit, >= 78
  const int k = lsb / 32;
  const unsigned __int128 t = static_cast<unsigned __int128>(mant) << (lsb % 32);
  const std::int64_t p0 = std::int64_t(t & kMask32), p1 = std::int64_t((t >> 32) & kMask32), p2 = std::int64_t(t >> 64);
  if (negative) {
    words_[k] -= p0;
    words_[k + 1] -= p1;
    words_[k + 2] -= p2;
  } else {
    words_[k] += p0;
    words_[k + 1] += p1;
    words_[k + 2] += p2;
  }
  if (++pending_ == kFlushEvery) normalise();
}

void ExactSum::add(const ExactSum& other) {
  ExactSum o = other;
  o.normalise();
  normalise();
  for (int i = 0; i < kWords; ++i) words_[i] += o.words_[i];
  pending_ = 1;
}

void ExactSum::normalise() {
  // Carries upward: every limb but the top one ends in [0, 2^32); the top one keeps the sign.
  // This form is unique for each integer, so equal sums have equal words.
  for (int i = 0; i + 1 < kLimbs; ++i) {
    const std::int64_t carry = words_[i] >> 32;  // floor division by 2^32
    words_[i] -= carry * (std::int64_t(1) << 32);
    words_[i + 1] += carry;
  }
  pending_ = 0;
}

double ExactSum::value() const {
  const bool pos_inf = words_[kPosInf] > 0, neg_inf = words_[kNegInf] > 0;
  if (words_[kNan] > 0 || (pos_inf && neg_inf)) return std::numeric_limits<double>::quiet_NaN();
  if (pos_inf) return std::numeric_limits<double>::infinity();
  if (neg_inf) return -std::numeric_limits<double>::infinity();

  ExactSum s = *this;
  s.normalise();
  const bool negative = s.words_[kLimbs - 1] < 0;
  if (negative) {
    for (int i = 0; i < kLimbs; ++i) s.words_[i] = -s.words_[i];
    s.normalise();
  }
  int top = kLimbs - 1;
  while (top >= 0 && s.words_[top] == 0) --top;
  if (top < 0) return 0.0;
  // The top three limbs hold at least 65 significant bits; a sticky bit below them makes the
  // one conversion to double round as the exact value would.
  unsigned __int128 u = static_cast<unsigned __int128>(s.words_[top]) << 64;
  if (top >= 1) u |= static_cast<unsigned __int128>(s.words_[top - 1]) << 32;
  if (top >= 2) u |= static_cast<unsigned __int128>(s.words_[top - 2]);
  bool sticky = false;
  for (int i = 0; i + 2 < top; ++i) sticky = sticky || s.words_[i] != 0;
  if (sticky) u |= 1;
  const double r = std::ldexp(static_cast<double>(u), 32 * (top - 2) - kBias);
  return negative ? -r : r;
}

void FixedVector::set(std::int64_t i, __int128 v) {
  constexpr std::int64_t mask = (std::int64_t(1) << 43) - 1;
  std::int64_t* w = &words_[i * kWordsPer];
  w[0] = std::int64_t(v & mask);
  v >>= 43;  // arithmetic: floor division
  w[1] = std::int64_t(v & mask);
  v >>= 43;
  w[2] = std::int64_t(v);  // |v| < 2^42
}

__int128 FixedVector::get(std::int64_t i) const {
  const std::int64_t* w = &words_[i * kWordsPer];
  // Modulo 2^128, which is exact whenever the true total fits (FixedPointFormat's promise).
  const unsigned __int128 u = static_cast<unsigned __int128>(__int128(w[0])) +
                              (static_cast<unsigned __int128>(__int128(w[1])) << 43) +
                              (static_cast<unsigned __int128>(__int128(w[2])) << 86);
  return static_cast<__int128>(u);
}

int fixed_exponent(double bound) {
  if (!(bound > 0)) return 0;
  return std::ilogb(bound) + 1 - 62;  // bound < 2^(ilogb + 1) = 2^(e + 62)
}

double fixed_to_double(__int128 v, int exponent) { return std::ldexp(static_cast<double>(v), exponent); }

}  // namespace fkm::detail
