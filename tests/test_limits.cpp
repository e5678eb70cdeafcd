// Limits: sizes that cannot be addressed are refused with a clear fkm::Error before any
// allocation or any read of the data (the views below point at a few real bytes, so touching
// more would be caught by the sanitizers), and a host allocation that fails is
// Error(OutOfMemory) naming the bytes asked.
#include <cstdint>

#include "support.hpp"

namespace {

constexpr std::int64_t kTwo(int p) { return std::int64_t(1) << p; }

/// A view claiming rows x cols elements over a tiny buffer: only valid if never read.
fkm::MatrixView huge_view(std::int64_t rows, std::int64_t cols, fkm::DType dtype) {
  static const double few[4] = {0, 0, 0, 0};
  fkm::MatrixView v;
  v.data = few;
  v.rows = rows;
  v.cols = cols;
  v.row_stride = cols;
  v.dtype = dtype;
  return v;
}

fkm::KMeans fitted_two_centroids() {
  fkm::KMeans km(fkm::KMeansParams{});
  km.set_centroids({0.0, 1.0}, 2, 1);
  return km;
}

bool under_a_sanitizer() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  return true;
#endif
#endif
  return false;
}

}  // namespace

TEST_CASE("limits: data whose byte size overflows 64 bits is refused before it is read", "[limits]") {
  fkm::KMeansParams p;
  p.k = 2;
  // N x D x 4 bytes beyond 2^63.
  fkm_test::check_error([&] { fkm::fit(huge_view(kTwo(62), 4, fkm::DType::F32), p); }, fkm::ErrorCode::InvalidData,
                        "overflow 64-bit");
  // Stored in 2^62 bytes as fp16, but 2^64 bytes as the fp64 rows a backend works with.
  fkm_test::check_error([&] { fkm::fit(huge_view(kTwo(61), 1, fkm::DType::F16), p); }, fkm::ErrorCode::InvalidData,
                        "too large");
  const auto km = fitted_two_centroids();
  fkm_test::check_error([&] { km.predict(huge_view(kTwo(62), 1, fkm::DType::F32)); }, fkm::ErrorCode::InvalidData,
                        "too large");
  fkm_test::check_error([&] { km.score(huge_view(kTwo(62), 1, fkm::DType::F32)); }, fkm::ErrorCode::InvalidData,
                        "too large");
}

TEST_CASE("limits: k x d centroids beyond 64-bit sizes, and k beyond int32 labels, are refused", "[limits]") {
  fkm::KMeansParams p;
  p.k = kTwo(30);
  fkm_test::check_error([&] { fkm::fit(huge_view(kTwo(31), kTwo(31), fkm::DType::F16), p); }, fkm::ErrorCode::InvalidData,
                        "too large");
  fkm_test::check_error([&] { fkm::fit(huge_view(2, kTwo(40), fkm::DType::F16), p); }, fkm::ErrorCode::InvalidArgument,
                        "centroids (as float64) overflow");
  p.k = kTwo(31);
  fkm_test::check_error([&] { fkm::fit(huge_view(kTwo(32), 1, fkm::DType::F32), p); }, fkm::ErrorCode::InvalidArgument,
                        "labels are int32");
}

TEST_CASE("limits: transform refuses an n x k output beyond 64-bit sizes", "[limits]") {
  const auto km = fitted_two_centroids();
  // 2^60 fp16 rows fit (2^61 bytes; 2^63 as fp64 would not, so one column less: 2^59 rows)...
  // ...but their 2^59 x 2 x 8 = 2^63 bytes of distances do not.
  fkm_test::check_error([&] { km.transform(huge_view(kTwo(59), 1, fkm::DType::F16)); }, fkm::ErrorCode::InvalidArgument,
                        "distance matrix overflows");
}

TEST_CASE("limits: a host allocation that fails is Error(OutOfMemory) with the bytes asked", "[limits]") {
  // ASan and TSan abort on an impossible allocation instead of throwing std::bad_alloc.
  if (under_a_sanitizer()) return;
  const auto km = fitted_two_centroids();
  // 2^50 rows x 2 centroids x 8 bytes = 2^54 bytes (16 PiB): beyond any address space, refused by
  // the allocator before the (fake) data is touched.
  fkm_test::check_error([&] { km.transform(huge_view(kTwo(50), 1, fkm::DType::F16)); }, fkm::ErrorCode::OutOfMemory,
                        "cannot allocate 18014398509481984 bytes (16.0 PiB)");
}
