// Exact sums of doubles whose result does not depend on the order of the terms, on the thread
// count or on how the terms are split across processes.
//
// ExactSum is a long accumulator (Kulisch): the sum is kept as a 2304-bit fixed-point integer
// in 72 limbs of 32 bits held in int64 words, covering every double from the smallest
// subnormal (2^-1074) to the largest, with 64 bits of headroom for carries. Adding a double adds
// its 53-bit mantissa into three limbs; integer additions are exact and associative, so any
// grouping gives the same integer. value() rounds that integer to the nearest double (one
// rounding). Partial accumulators of several processes combine by summing their normalised
// words as int64 (plain integer all-reduce; each word stays below 2^32 before the sum).
//
// FixedVector holds 128-bit fixed-point totals (Problem::accumulate_fixed) and splits each into
// three int64 words of 43 bits, so that they too combine with a plain int64 sum (up to 2^20
// processes) — no custom reduction operator, so an NCCL or device all-reduce can do it as well.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "../../core/src/fixed_point.hpp"
#include "../../core/src/long_accumulator.hpp"
#include "fkm/backend.hpp"

namespace fkm::detail {

class ExactSum {
 public:
  static constexpr int kLimbs = kLongLimbs;
  static constexpr int kWords = kLongWords;  ///< limbs, then counts of NaN, +Inf, -Inf terms

  void add(double v);
  /// This sum plus another one (e.g. a block's partial sum).
  void add(const ExactSum& other);
  /// The exact sum rounded to the nearest double (NaN if a term was NaN or both infinities
  /// occurred; +-Inf if one did; overflows to +-Inf).
  double value() const;

  /// Words for an element-wise int64 sum across processes: normalise() first. Words may also be
  /// added to directly (core/src/long_accumulator.hpp: a device sum), each limb below 2^62 in
  /// magnitude; normalise() then before anything else.
  void normalise();
  std::int64_t* words() { return words_.data(); }
  const std::int64_t* words() const { return words_.data(); }

 private:
  std::array<std::int64_t, kWords> words_{};
  std::int64_t pending_ = 0;  ///< additions since the last normalise()
};

/// n 128-bit integers as 3n int64 words of 43 bits (the top word signed).
class FixedVector {
 public:
  static constexpr int kWordsPer = kFixedWords;  ///< core/src/fixed_point.hpp: split_fixed
  explicit FixedVector(std::int64_t n = 0) : words_(n * kWordsPer, 0) {}
  std::int64_t size() const { return std::int64_t(words_.size()) / kWordsPer; }
  void set(std::int64_t i, __int128 v);
  __int128 get(std::int64_t i) const;
  std::int64_t* words() { return words_.data(); }
  std::int64_t word_count() const { return std::int64_t(words_.size()); }

 private:
  std::vector<std::int64_t> words_;
};

/// The exponent e of a fixed-point grid on which every value of magnitude <= bound rounds to an
/// integer of magnitude <= 2^62 (see FixedPointFormat). bound must be finite and >= 0.
int fixed_exponent(double bound);

/// v * 2^exponent as a double (rounded once; core/src/fixed_point.hpp's conversion, which a
/// device computes too).
double fixed_to_double(__int128 v, int exponent);

}  // namespace fkm::detail
