// IEEE binary16 and bfloat16 storage types with exact, portable conversions.
// fkm never does arithmetic in these types: data is widened tile by tile and accumulated in
// fp32 or wider.
#pragma once
#include <cstdint>
#include <cstring>

namespace fkm {

/// IEEE 754 binary16, stored as its 16 bits.
struct half {
  std::uint16_t bits = 0;
};
/// bfloat16 (the upper 16 bits of an fp32), stored as its 16 bits.
struct bfloat16 {
  std::uint16_t bits = 0;
};

inline float to_float(half h) noexcept {
  const std::uint32_t sign = std::uint32_t(h.bits & 0x8000u) << 16;
  std::uint32_t exp = (h.bits >> 10) & 0x1fu;
  std::uint32_t man = h.bits & 0x3ffu;
  std::uint32_t out;
  if (exp == 0x1f) {
    out = sign | 0x7f800000u | (man << 13);  // Inf / NaN
  } else if (exp == 0) {
    if (man == 0) {
      out = sign;  // +-0
    } else {       // subnormal: normalise
      int e = -1;
      do {
        man <<= 1;
        ++e;
      } while ((man & 0x400u) == 0);
      out = sign | (std::uint32_t(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
    }
  } else {
    out = sign | ((exp + (127 - 15)) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &out, sizeof f);
  return f;
}

inline float to_float(bfloat16 b) noexcept {
  const std::uint32_t u = std::uint32_t(b.bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

/// Round-to-nearest-even fp32 -> binary16 (overflow gives Inf, NaN stays NaN).
inline half to_half(float f) noexcept {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  const std::uint16_t sign = std::uint16_t((u >> 16) & 0x8000u);
  const std::uint32_t absu = u & 0x7fffffffu;
  if (absu >= 0x7f800000u) return {std::uint16_t(sign | 0x7c00u | (absu > 0x7f800000u ? 0x200u : 0u))};
  if (absu >= 0x477ff000u) return {std::uint16_t(sign | 0x7c00u)};  // rounds to >= 65520: Inf
  if (absu < 0x38800000u) {                                          // result is subnormal or zero
    if (absu < 0x33000000u) return {sign};                            // below half the smallest subnormal
    const std::uint32_t man = (absu & 0x7fffffu) | 0x800000u;
    const int shift = 126 - int(absu >> 23);  // 14 + (113 - exp)
    const std::uint32_t halfway = 1u << (shift - 1);
    std::uint32_t r = man >> shift;
    const std::uint32_t rem = man & ((1u << shift) - 1);
    if (rem > halfway || (rem == halfway && (r & 1u))) ++r;
    return {std::uint16_t(sign | r)};
  }
  std::uint32_t r = ((absu >> 13) - (112u << 10));
  const std::uint32_t rem = absu & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ++r;
  return {std::uint16_t(sign | r)};
}

/// Round-to-nearest-even fp32 -> bfloat16 (NaN stays NaN).
inline bfloat16 to_bfloat16(float f) noexcept {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return {std::uint16_t((u >> 16) | 0x40u)};
  const std::uint32_t lsb = (u >> 16) & 1u;
  u += 0x7fffu + lsb;
  return {std::uint16_t(u >> 16)};
}

}  // namespace fkm
