// The last step of the vector argmin kernels: each row kept a running (min, index) per vector
// lane, and optionally the second-least score per lane; reduce the lanes to one answer per row.
#pragma once
#include <algorithm>
#include <cstdint>

namespace fkm::cpu {

/// Per row i: best[i], label[i] := the least lane minimum, ties to the lower centroid index
/// (the order the scalar kernel gives). With second (and lane_second): second[i] := the least
/// score of every centroid but label[i]: the winning lane's second, or another lane's minimum.
template <class T>
inline void reduce_lanes(const T* lane_best, const std::int32_t* lane_label, const T* lane_second, int lanes,
                         std::int64_t rows, std::int32_t* label, T* best, T* second) {
  for (std::int64_t i = 0; i < rows; ++i) {
    const T* b = lane_best + i * lanes;
    const std::int32_t* l = lane_label + i * lanes;
    int win = 0;
    for (int c = 1; c < lanes; ++c)
      if (b[c] < b[win] || (b[c] == b[win] && l[c] < l[win])) win = c;
    best[i] = b[win];
    label[i] = l[win];
    if (second) {
      T s = lane_second[i * lanes + win];
      for (int c = 0; c < lanes; ++c)
        if (c != win) s = std::min(s, b[c]);
      second[i] = s;
    }
  }
}

}  // namespace fkm::cpu
