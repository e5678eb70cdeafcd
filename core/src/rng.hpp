// Counter-based random numbers: uniform01(seed, i) depends only on its arguments, so a draw for
// point i is the same on every backend, thread count and MPI sharding.
#pragma once
#include <cstdint>

namespace fkm::detail {

/// SplitMix64 finaliser: a bijective 64-bit mixer.
constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/// Uniform double in [0, 1) with 53 random bits.
constexpr double uniform01(std::uint64_t seed, std::uint64_t i) noexcept {
  return double(mix64(seed ^ mix64(i)) >> 11) * 0x1.0p-53;
}

/// A stream of uniforms for sequential host-side choices.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : seed_(mix64(seed)) {}
  double uniform() noexcept { return uniform01(seed_, counter_++); }
  std::uint64_t next_seed() noexcept { return mix64(seed_ ^ mix64(~counter_++)); }

 private:
  std::uint64_t seed_;
  std::uint64_t counter_ = 0;
};

}  // namespace fkm::detail
