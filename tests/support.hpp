// Test support: data generators, the backends under test, and comparisons with the reference
// that allow genuine near-ties.
#pragma once
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "fkm/fkm.hpp"

namespace fkm_test {

/// Every compiled backend that has a device, except the reference itself. FKM_TEST_BACKENDS
/// (comma-separated names) narrows the list.
std::vector<fkm::BackendKind> backends_under_test();
/// backends_under_test() and the reference last (for behaviour that every backend, the oracle
/// included, must have).
std::vector<fkm::BackendKind> backends_with_reference();

/// n x d values uniform in [-1, 1] around `centres` random blob centres in [-scale, scale].
std::vector<double> blob_data(std::int64_t n, std::int64_t d, std::int64_t centres, double scale, std::uint64_t seed);
std::vector<double> uniform_data(std::int64_t n, std::int64_t d, std::uint64_t seed, double lo = -1, double hi = 1);
/// Weights in [0.5, 2), with every `zero_every`-th one zero (0: none).
std::vector<double> random_weights(std::int64_t n, std::uint64_t seed, std::int64_t zero_every);

/// Data stored in one dtype, with the exact fp64 values the backend will see.
struct TypedData {
  fkm::DType dtype;
  std::int64_t n, d;
  std::vector<float> f32;
  std::vector<double> f64;
  std::vector<fkm::half> f16;
  std::vector<fkm::bfloat16> bf16;
  std::vector<double> exact;  ///< the stored values, widened
  fkm::MatrixView view() const;
};
TypedData as_dtype(const std::vector<double>& values, std::int64_t n, std::int64_t d, fkm::DType dtype);

/// The rows of `all` (problems x n rows, contiguous or row-strided) as a batch of `problems`
/// problems of n rows each.
fkm::BatchedMatrixView batch_of(const fkm::MatrixView& all, std::int64_t problems);

/// Every field of two results that a fit determines (all but the timings) is bitwise equal.
void check_same_result(const fkm::KMeansResult& got, const fkm::KMeansResult& want);

/// fp64 distance as the reference defines it (rows/centroids normalised for cosine).
double distance(const double* x, const double* c, std::int64_t d, fkm::Metric metric);

/// Unit roundoff of the arithmetic a backend uses for data of this dtype.
double unit_roundoff(fkm::DType t);

/// Labels of `got` equal the fp64 nearest-centroid labels for `centroids`, except where the
/// two candidates' fp64 distances differ by less than the arithmetic's error bound.
void check_labels_near_ties(const TypedData& x, const std::vector<double>& centroids, std::int64_t k,
                            const std::vector<std::int32_t>& got, fkm::Metric metric);

/// max |a - b| <= tol * (1 + max |b|)
void check_close(const std::vector<double>& a, const std::vector<double>& b, double tol, const std::string& what);

std::string describe(fkm::BackendKind b);

/// Runs f and checks it throws fkm::Error with `code` and a message containing `needle`.
void check_error(const std::function<void()>& f, fkm::ErrorCode code, const std::string& needle);

}  // namespace fkm_test
