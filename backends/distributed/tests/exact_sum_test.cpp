// Unit tests of the exact accumulators behind distributed determinism (exact_sum.hpp) and of
// the fixed-point rounding every backend shares (core/src/fixed_point.hpp).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "../../../core/src/fixed_point.hpp"
#include "../exact_sum.hpp"

using fkm::detail::ExactSum;
using fkm::detail::FixedVector;

namespace {

std::uint64_t bits(double v) {
  std::uint64_t u;
  std::memcpy(&u, &v, 8);
  return u;
}

double sum_of(const std::vector<double>& v) {
  ExactSum s;
  for (double x : v) s.add(x);
  return s.value();
}

/// Values over the whole double range, both signs, subnormals included.
std::vector<double> wild_values(std::size_t n, unsigned seed) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> m(-1, 1);
  std::uniform_int_distribution<int> e(-1070, 1000);
  std::vector<double> v(n);
  for (auto& x : v) x = std::ldexp(m(g), e(g) / 8 * (g() % 9 == 0 ? 8 : 1));
  v.push_back(std::numeric_limits<double>::denorm_min());
  v.push_back(-std::numeric_limits<double>::min() / 3);
  return v;
}

}  // namespace

TEST_CASE("ExactSum gives the exact sum where floating-point addition cannot", "[exact]") {
  CHECK(sum_of({1e100, 1.0, -1e100}) == 1.0);
  CHECK(sum_of({0x1p-1074, 0x1p1000, -0x1p1000}) == 0x1p-1074);
  // The three doubles nearest 0.1, 0.2 and 0.3 sum exactly to 2^-55 (computed with fractions).
  CHECK(sum_of({0.1, 0.2, -0.3}) == 0x1p-55);
  CHECK(sum_of({}) == 0.0);
  CHECK(sum_of({-0.0}) == 0.0);
  CHECK(sum_of({std::ldexp(1.0, 1023), std::ldexp(1.0, 1023)}) == std::numeric_limits<double>::infinity());
  CHECK(sum_of({std::ldexp(1.0, 1023), std::ldexp(1.0, 1023), -std::ldexp(1.0, 1023)}) == std::ldexp(1.0, 1023));
  CHECK(std::isnan(sum_of({1.0, std::nan("")})));
  CHECK(sum_of({1.0, INFINITY}) == INFINITY);
  CHECK(std::isnan(sum_of({INFINITY, -INFINITY})));
  // Rounding: 1 + 2^-53 + 2^-105 is just above the half-way point, so it rounds up.
  CHECK(sum_of({1.0, 0x1p-53, 0x1p-105}) == 1.0 + 0x1p-52);
  CHECK(sum_of({1.0, 0x1p-53}) == 1.0);                       // tie to even
  CHECK(sum_of({1.0 + 0x1p-52, 0x1p-53}) == 1.0 + 0x1p-51);   // tie to even, upward
  CHECK(sum_of({-1.0, -0x1p-53, -0x1p-105}) == -(1.0 + 0x1p-52));
}

TEST_CASE("ExactSum of integers is exact and its value is correctly rounded", "[exact]") {
  std::mt19937_64 g(3);
  std::vector<double> v;
  long double ref = 0;  // integers below 2^52 summed below 2^64: exact in long double on x86
  for (int i = 0; i < 100000; ++i) {
    const double x = double(std::int64_t(g() >> 13) - (std::int64_t(1) << 50));
    v.push_back(x);
    ref += x;
  }
  CHECK(sum_of(v) == double(ref));
}

TEST_CASE("ExactSum does not depend on order or on how the terms are split", "[exact]") {
  auto v = wild_values(20000, 11);
  const double whole = sum_of(v);
  std::mt19937_64 g(5);
  for (int trial = 0; trial < 5; ++trial) {
    std::shuffle(v.begin(), v.end(), g);
    // Split into uneven parts, sum each, combine the parts both ways the distributed layer does.
    std::vector<ExactSum> parts(1 + trial);
    for (std::size_t i = 0; i < v.size(); ++i) parts[(i * i) % parts.size()].add(v[i]);
    ExactSum merged;
    std::vector<std::int64_t> words(ExactSum::kWords, 0);
    for (auto& p : parts) {
      merged.add(p);
      p.normalise();
      for (int w = 0; w < ExactSum::kWords; ++w) words[w] += p.words()[w];
    }
    ExactSum reduced;
    std::copy(words.begin(), words.end(), reduced.words());
    CHECK(bits(merged.value()) == bits(whole));
    CHECK(bits(reduced.value()) == bits(whole));
  }
}

TEST_CASE("FixedVector keeps 128-bit totals through an int64 word sum", "[exact]") {
  const __int128 big = (__int128(1) << 126) - 12345;
  const std::vector<__int128> values = {0, 1, -1, big, -big, __int128(1) << 62, -(__int128(1) << 90) + 7};
  FixedVector a(std::int64_t(values.size())), b(std::int64_t(values.size()));
  for (std::size_t i = 0; i < values.size(); ++i) {
    a.set(std::int64_t(i), values[i]);
    CHECK(a.get(std::int64_t(i)) == values[i]);
    b.set(std::int64_t(i), values[i] / 3);
  }
  // The word-wise sum of two vectors is the vector of sums (what an int64 all-reduce does).
  for (std::int64_t w = 0; w < a.word_count(); ++w) a.words()[w] += b.words()[w];
  for (std::size_t i = 0; i < values.size(); ++i) CHECK(a.get(std::int64_t(i)) == values[i] + values[i] / 3);
}

TEST_CASE("fixed_to_double in 64-bit words rounds as the 128-bit conversion does", "[exact]") {
  // The device converts all-reduced totals with the FixedSum form (core/src/fixed_point.hpp);
  // it must give the double the host's ldexp(double(__int128)) gives, at every magnitude,
  // halfway cases and subnormal results included.
  std::mt19937_64 g(23);
  std::vector<__int128> values = {0, 1, -1, (__int128(1) << 53) + 1, (__int128(1) << 54) + 2, (__int128(1) << 54) + 6,
                                  -((__int128(1) << 54) + 2), __int128(-1) << 127, ~(__int128(-1) << 127),
                                  (__int128(1) << 64), (__int128(1) << 64) - 1, -((__int128(1) << 64) + 1)};
  for (int i = 0; i < 200000; ++i) {
    const unsigned __int128 u = (static_cast<unsigned __int128>(g()) << 64) | g();
    const int shift = int(g() % 128);
    __int128 v = static_cast<__int128>(u) >> shift;  // every magnitude
    if (i % 4 == 1) v = (v >> 20) << 20 | (__int128(1) << 19);  // ties below the kept bits
    values.push_back(v);
  }
  for (const __int128 v : values) {
    for (int e : {0, -62, 40, -1074 - 30, -1100, 900}) {
      const double want = std::ldexp(static_cast<double>(v), e);
      const double got = fkm::detail::fixed_to_double(fkm::detail::to_fixed_sum(v), e);
      REQUIRE(std::memcmp(&want, &got, sizeof want) == 0);
    }
    // and the split into words joins back to the same total
    std::int64_t w[fkm::detail::kFixedWords];
    fkm::detail::split_fixed(fkm::detail::to_fixed_sum(v), w);
    REQUIRE(fkm::detail::from_fixed_sum(fkm::detail::join_fixed(w)) == v);
  }
}

TEST_CASE("fixed_exponent bounds every rounded term by 2^62", "[exact]") {
  for (double bound : {1.0, 3.0, 0.7, 1e-300, 1e300, 5e-324, 1.7976931348623157e308}) {
    const int e = fkm::detail::fixed_exponent(bound);
    const auto s = fkm::detail::fixed_scale(e);
    const __int128 q = fkm::detail::fixed_term(bound, s);
    CHECK(q <= (__int128(1) << 62));
    CHECK(q > (__int128(1) << 60));  // and uses the grid's resolution
    CHECK(fkm::detail::fixed_term(-bound, s) == -q);
  }
  CHECK(fkm::detail::fixed_exponent(0.0) == 0);
}

TEST_CASE("round_to_even rounds as nearbyint does", "[exact]") {
  std::mt19937_64 g(17);
  std::vector<double> v = {0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999999999999994, 0x1p52 - 0.5, -(0x1p52 - 0.5),
                           0x1p52 + 1, 0x1p62, -0x1p62, 4503599627370495.5, 0.0, -0.0, 1e-300};
  for (int i = 0; i < 100000; ++i) v.push_back(std::ldexp(double(std::int64_t(g())) / 0x1p63, int(g() % 70)));
  for (double x : v) CHECK(fkm::detail::round_to_even(x) == std::nearbyint(x));
}

TEST_CASE("add_term keeps a 128-bit total in two 64-bit words, as __int128 does", "[exact]") {
  // Terms of up to 2^62 in magnitude (the format's bound), of both signs, long runs of one sign
  // (totals far beyond 64 bits, carries and borrows across the low word) and sign changes.
  std::mt19937_64 g(23);
  for (int run = 0; run < 20; ++run) {
    fkm::FixedSum two_words;
    __int128 wide = 0;
    const int bias = run % 3;  // mostly positive, mostly negative, mixed
    for (int i = 0; i < 20000; ++i) {
      std::int64_t term = std::int64_t(g() >> 1) >> (g() % 3 == 0 ? 40 : 1);  // in [0, 2^62)
      if ((bias == 1 && g() % 8 != 0) || (bias == 2 && g() % 2 == 0) || (bias == 0 && g() % 8 == 0)) term = -term;
      fkm::detail::add_term(two_words, term);
      wide += term;
      if (i % 997 == 0) REQUIRE(fkm::detail::from_fixed_sum(two_words) == wide);
    }
    REQUIRE(fkm::detail::from_fixed_sum(two_words) == wide);
    const fkm::FixedSum round_trip = fkm::detail::to_fixed_sum(wide);
    CHECK(round_trip.lo == two_words.lo);
    CHECK(round_trip.hi == two_words.hi);
  }
  // Edges: crossing zero both ways, and the extreme terms.
  fkm::FixedSum s;
  fkm::detail::add_term(s, -1);
  CHECK((s.lo == ~std::uint64_t(0) && s.hi == -1));
  fkm::detail::add_term(s, 1);
  CHECK((s.lo == 0 && s.hi == 0));
  for (int i = 0; i < 8; ++i) fkm::detail::add_term(s, std::int64_t(1) << 62);
  CHECK((s.lo == 0 && s.hi == 2));  // 8 * 2^62 = 2^65
  for (int i = 0; i < 16; ++i) fkm::detail::add_term(s, -(std::int64_t(1) << 62));
  CHECK((s.lo == 0 && s.hi == -2));
  CHECK(fkm::detail::fixed_term64(-2.5, fkm::detail::fixed_scale(0)) == -2);
  CHECK(fkm::detail::fixed_term64(0x1p62, fkm::detail::fixed_scale(0)) == (std::int64_t(1) << 62));
}
