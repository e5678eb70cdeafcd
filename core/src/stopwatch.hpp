// Wall-clock seconds for the timings of KMeansResult and IterationRecord (steady clock: never
// goes back when the system time is set).
#pragma once
#include <chrono>

namespace fkm::detail {

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace fkm::detail
