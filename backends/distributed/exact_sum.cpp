#include "exact_sum.hpp"

#include "../../core/src/fixed_point.hpp"

#include <cmath>
#include <cstring>
#include <limits>

namespace fkm::detail {
namespace {

constexpr int kBias = kLongBias;
// Each add changes a limb by less than 2^32: normalising every 2^30 adds keeps |limb| < 2^63.
constexpr std::int64_t kFlushEvery = std::int64_t(1) << 30;
constexpr int kNan = kLongNan, kPosInf = kLongPosInf, kNegInf = kLongNegInf;

}  // namespace

void ExactSum::add(double v) {
  const LongTerm t = long_term(v);  // the device kernels add the same parts (long_accumulator.hpp)
  if (t.limb < 0) return;
  if (t.limb >= kLimbs) {  // NaN, +Inf, -Inf
    ++words_[t.limb];
    return;
  }
  words_[t.limb] += t.part[0];
  words_[t.limb + 1] += t.part[1];
  words_[t.limb + 2] += t.part[2];
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

void FixedVector::set(std::int64_t i, __int128 v) { split_fixed(to_fixed_sum(v), &words_[i * kWordsPer]); }

__int128 FixedVector::get(std::int64_t i) const { return from_fixed_sum(join_fixed(&words_[i * kWordsPer])); }

int fixed_exponent(double bound) {
  if (!(bound > 0)) return 0;
  return std::ilogb(bound) + 1 - 62;  // bound < 2^(ilogb + 1) = 2^(e + 62)
}

double fixed_to_double(__int128 v, int exponent) { return fixed_to_double(to_fixed_sum(v), exponent); }

}  // namespace fkm::detail
