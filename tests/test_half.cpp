// fp16 / bf16 storage conversions: exact widening, round-to-nearest-even narrowing.
#include <cmath>
#include <cstring>

#include "support.hpp"

TEST_CASE("half: every finite binary16 value survives float and back", "[half]") {
  for (std::uint32_t bits = 0; bits < 0x10000u; ++bits) {
    const fkm::half h{std::uint16_t(bits)};
    const float f = fkm::to_float(h);
    if (std::isnan(f)) {
      CHECK((bits & 0x7c00u) == 0x7c00u);
      CHECK(std::isnan(fkm::to_float(fkm::to_half(f))));
      continue;
    }
    REQUIRE(fkm::to_half(f).bits == bits);
  }
}

TEST_CASE("half: known values and rounding", "[half]") {
  CHECK(fkm::to_float(fkm::half{0x3c00}) == 1.0f);
  CHECK(fkm::to_float(fkm::half{0xc000}) == -2.0f);
  CHECK(fkm::to_float(fkm::half{0x7bff}) == 65504.0f);
  CHECK(fkm::to_float(fkm::half{0x0001}) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(fkm::to_half(65520.0f).bits == 0x7c00);                      // rounds to +inf
  CHECK(fkm::to_half(1.0f + std::ldexp(1.0f, -11)).bits == 0x3c00);  // halfway: to even
  CHECK(fkm::to_half(1.0f + 3 * std::ldexp(1.0f, -11)).bits == 0x3c02);
  CHECK(fkm::to_half(std::ldexp(1.0f, -25)).bits == 0x0000);         // halfway to smallest: to even (0)
  CHECK(fkm::to_half(std::ldexp(1.5f, -25)).bits == 0x0001);
}

TEST_CASE("bfloat16: widening is exact and narrowing rounds to nearest even", "[half]") {
  for (std::uint32_t bits = 0; bits < 0x10000u; bits += 7) {
    const fkm::bfloat16 b{std::uint16_t(bits)};
    const float f = fkm::to_float(b);
    if (std::isnan(f)) continue;
    REQUIRE(fkm::to_bfloat16(f).bits == bits);
  }
  CHECK(fkm::to_bfloat16(1.0f).bits == 0x3f80);
  float halfway;  // 1 + 2^-8: exactly between two bfloat16 values, rounds to even (1.0)
  const std::uint32_t u = 0x3f808000u;
  std::memcpy(&halfway, &u, 4);
  CHECK(fkm::to_bfloat16(halfway).bits == 0x3f80);
  CHECK(std::isnan(fkm::to_float(fkm::to_bfloat16(NAN))));
}
