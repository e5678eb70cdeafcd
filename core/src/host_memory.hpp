// Sizes that must fit in 64 bits, and host allocations that fail as fkm::Error(OutOfMemory)
// naming the bytes asked, instead of std::bad_alloc / std::length_error (or an abort).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "fkm/error.hpp"

namespace fkm::detail {

/// The product of non-negative factors, or -1 when it exceeds 2^63 - 1.
inline std::int64_t checked_product(std::initializer_list<std::int64_t> factors) {
  std::int64_t p = 1;
  for (std::int64_t f : factors) {
    if (f < 0) return -1;
    if (__builtin_mul_overflow(p, f, &p)) return -1;
  }
  return p;
}

/// "1234567 bytes (1.2 GiB)" for messages.
std::string bytes_string(std::int64_t bytes);

/// A zero-filled host vector of `count` T; on failure Error(OutOfMemory) saying `what` and the
/// bytes asked. `count` must already be known to fit (checked_product).
template <class T>
std::vector<T> allocate_host(std::int64_t count, const std::string& what) {
  try {
    return std::vector<T>(std::size_t(count));
  } catch (const std::bad_alloc&) {
  } catch (const std::length_error&) {
  }
  throw Error(ErrorCode::OutOfMemory,
              what + ": cannot allocate " + bytes_string(std::int64_t(sizeof(T)) * count) + " of host memory");
}

}  // namespace fkm::detail
