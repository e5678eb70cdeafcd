// Cosine's unit-length rows on the host, in the reference's arithmetic. Every backend that
// normalises centroids on the host uses these, so its centroids have the reference's bits.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

namespace fkm::detail {

/// v (d values) scaled to unit length as the reference does it: the sum of squares in feature
/// order, then one multiply by 1 / sqrt of it; a zero row stays zero.
inline void normalise(double* v, std::int64_t d) {
  double s = 0;
  for (std::int64_t f = 0; f < d; ++f) s += v[f] * v[f];
  if (s > 0) {
    const double inv = 1.0 / std::sqrt(s);
    for (std::int64_t f = 0; f < d; ++f) v[f] *= inv;
  }
}

/// m rows of d values: unit-length copies when `cosine`, else plain copies.
inline std::vector<double> prepared_rows(const double* c, std::int64_t m, std::int64_t d, bool cosine) {
  std::vector<double> out(c, c + m * d);
  if (cosine)
    for (std::int64_t j = 0; j < m; ++j) normalise(&out[j * d], d);
  return out;
}

}  // namespace fkm::detail
