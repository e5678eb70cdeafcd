// Out-of-core fits (GPU backends): data streamed from host memory in chunks gives exactly the
// result of the resident fit (same labels, centroids, inertia, history: bit for bit), at sizes
// that stress the chunking: a last chunk shorter than an assignment tile, K larger than a chunk,
// K = 1, every 16-bit and 32-bit dtype, every init, weights, empties, every metric; a budget
// that forces streaming; a budget too small for the centroids themselves. On backends without
// streaming (CPU, reference, Kokkos) only the memory-size parser runs.
#include <cstring>

#include "support.hpp"

namespace {

/// The GPU backends under test (they may stream).
std::vector<fkm::BackendKind> gpu_backends() {
  std::vector<fkm::BackendKind> out;
  for (auto b : fkm_test::backends_under_test())
    if (b == fkm::BackendKind::Cuda || b == fkm::BackendKind::Hip) out.push_back(b);
  return out;
}

constexpr std::int64_t kQuantum = 4096;  // chunks are whole multiples of it (stream_plan.hpp)

struct Case {
  std::int64_t n, d, k;
  fkm::DType dtype;
  fkm::Metric metric = fkm::Metric::L2;
  fkm::Init init = fkm::Init::KMeansPlusPlus;
  fkm::Precision precision = fkm::Precision::Exact;
  bool weighted = false;
  std::int64_t chunk_rows = 1;  // rounded up to one quantum
};

/// The resident fit and the streamed one (stream_chunk_rows forces streaming) of the same
/// data and options must agree in every bit; the streamed one must really have streamed.
void check_streamed_equals_resident(fkm::BackendKind backend, const Case& c, const std::vector<double>& values) {
  const auto data = fkm_test::as_dtype(values, c.n, c.d, c.dtype);
  const auto w = fkm_test::random_weights(c.n, 9, 7);
  fkm::KMeansParams p;
  p.k = c.k;
  p.init = c.init;
  p.metric = c.metric;
  p.precision = c.precision;
  p.seed = 12;
  p.max_iter = 6;
  p.tol = 0;
  p.backend = backend;
  const fkm::VectorView wv = c.weighted ? fkm::host_vector(w.data(), c.n) : fkm::VectorView{};
  const auto resident = fkm::fit(data.view(), p, wv);
  p.stream_chunk_rows = c.chunk_rows;
  const auto streamed = fkm::fit(data.view(), p, wv);
  CHECK_FALSE(resident.placement.streamed);
  REQUIRE(streamed.placement.streamed);
  const std::int64_t rows = (c.chunk_rows + kQuantum - 1) / kQuantum * kQuantum;
  CHECK(streamed.placement.chunk_rows == std::min(rows, (c.n + kQuantum - 1) / kQuantum * kQuantum));
  CHECK(streamed.placement.chunks == (c.n + streamed.placement.chunk_rows - 1) / streamed.placement.chunk_rows);
  CHECK(streamed.placement.chunk_choice == "stream_chunk_rows");
  CHECK(streamed.placement.h2d_bytes_per_second > 0);
  fkm_test::check_same_result(streamed, resident);
}

std::string describe(const Case& c) {
  return "n " + std::to_string(c.n) + " d " + std::to_string(c.d) + " k " + std::to_string(c.k) + " " +
         fkm::to_string(c.dtype) + " " + fkm::to_string(c.metric) + " " + fkm::to_string(c.init) + " " +
         fkm::to_string(c.precision) + (c.weighted ? " weighted" : "") + " chunk " + std::to_string(c.chunk_rows);
}

}  // namespace

TEST_CASE("streaming: memory sizes parse as bytes with binary suffixes", "[streaming]") {
  CHECK(fkm::parse_memory_size("auto") == 0);
  CHECK(fkm::parse_memory_size("0") == 0);
  CHECK(fkm::parse_memory_size("1048576") == 1048576);
  CHECK(fkm::parse_memory_size("512M") == 512LL << 20);
  CHECK(fkm::parse_memory_size("4G") == 4LL << 30);
  CHECK(fkm::parse_memory_size("4g") == 4LL << 30);
  CHECK(fkm::parse_memory_size("4GiB") == 4LL << 30);
  CHECK(fkm::parse_memory_size("4GB") == 4LL << 30);
  CHECK(fkm::parse_memory_size("1.5K") == 1536);
  CHECK(fkm::parse_memory_size("2T") == 2LL << 40);
  CHECK(fkm::parse_memory_size("100B") == 100);
  for (const char* bad : {"", "G", "-1", "4X", "1e9", "4G4", "four", "1..5G", "9999999999T", "4 G"})
    fkm_test::check_error([&] { fkm::parse_memory_size(bad); }, fkm::ErrorCode::InvalidArgument, "memory size");
  fkm::KMeansParams p;
  p.stream_chunk_rows = -1;
  const auto x = fkm_test::uniform_data(10, 2, 1);
  fkm_test::check_error([&] { fkm::fit(fkm::host_view(x.data(), 10, 2), p); }, fkm::ErrorCode::InvalidArgument,
                        "stream_chunk_rows");
}

TEST_CASE("streaming: streamed fits equal resident fits bit for bit at awkward sizes", "[streaming]") {
  for (const auto backend : gpu_backends()) {
    INFO("backend " << fkm_test::describe(backend));
    std::vector<Case> cases;
    for (fkm::DType t : {fkm::DType::F16, fkm::DType::BF16, fkm::DType::F32}) {
      // 3 chunks, the last of 5 rows: shorter than any assignment tile or reduction block
      cases.push_back({2 * kQuantum + 5, 43, 37, t});
      // K = 1; the last chunk 1 row
      cases.push_back({kQuantum + 1, 16, 1, t, fkm::Metric::L2, fkm::Init::Random});
    }
    // K larger than a chunk (5000 > 4096 rows)
    cases.push_back({3 * kQuantum + 77, 8, 5000, fkm::DType::F32, fkm::Metric::L2, fkm::Init::Random});
    cases.push_back({3 * kQuantum + 77, 8, 5000, fkm::DType::F16, fkm::Metric::L2, fkm::Init::Random, fkm::Precision::Fast});
    // weights, metrics, inits, precision = fast, fp64, a chunk of two quanta, D = 1 and D = 130
    cases.push_back({3 * kQuantum + 999, 24, 19, fkm::DType::F32, fkm::Metric::Cosine, fkm::Init::KMeansParallel,
                     fkm::Precision::Exact, true, 2 * kQuantum - 5});
    cases.push_back({2 * kQuantum + 333, 5, 11, fkm::DType::F16, fkm::Metric::InnerProduct, fkm::Init::KMeansPlusPlus,
                     fkm::Precision::Fast, true});
    cases.push_back({kQuantum + 17, 130, 9, fkm::DType::BF16, fkm::Metric::Cosine, fkm::Init::Random});
    cases.push_back({kQuantum + 3, 1, 6, fkm::DType::F64, fkm::Metric::L2, fkm::Init::KMeansPlusPlus,
                     fkm::Precision::Exact, true});
    cases.push_back({2 * kQuantum + 100, 12, 7, fkm::DType::F32, fkm::Metric::L2, fkm::Init::KMeansPlusPlus,
                     fkm::Precision::Fast});
    for (const Case& c : cases) {
      INFO(describe(c));
      check_streamed_equals_resident(backend, c, fkm_test::blob_data(c.n, c.d, 23, 3.0, std::uint64_t(c.n + c.d)));
    }
  }
}

TEST_CASE("streaming: empty clusters are reseeded from the streamed distances as when resident", "[streaming]") {
  for (const auto backend : gpu_backends()) {
    INFO("backend " << fkm_test::describe(backend));
    // 6 distinct points repeated: k-means++ and random pick duplicates, so clusters go empty
    // and are reseeded at the farthest points (from the host copy of the distances)
    const std::int64_t n = 2 * kQuantum + 61, d = 4;
    auto x = fkm_test::uniform_data(6, d, 3);
    std::vector<double> values(n * d);
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t f = 0; f < d; ++f) values[i * d + f] = x[(i * 7 % 6) * d + f] + (i % 97 == 0 ? 1e-3 * double(i % 5) : 0);
    for (fkm::Init init : {fkm::Init::Random, fkm::Init::KMeansPlusPlus}) {
      Case c{n, d, 12, fkm::DType::F32, fkm::Metric::L2, init};
      INFO(describe(c));
      check_streamed_equals_resident(backend, c, values);
      c.weighted = true;
      check_streamed_equals_resident(backend, c, values);
    }
  }
}

TEST_CASE("streaming: a device budget smaller than the data streams it; predict and score agree", "[streaming]") {
  for (const auto backend : gpu_backends()) {
    INFO("backend " << fkm_test::describe(backend));
    const std::int64_t n = 60011, d = 64, k = 16;
    const auto data = fkm_test::as_dtype(fkm_test::blob_data(n, d, 16, 2.0, 5), n, d, fkm::DType::F32);
    fkm::KMeansParams p;
    p.k = k;
    p.seed = 4;
    p.max_iter = 5;
    p.backend = backend;
    fkm::KMeans resident_km(p);
    const auto resident = resident_km.fit(data.view());
    REQUIRE_FALSE(resident.placement.streamed);
    p.max_device_bytes = 16LL << 20;  // the data alone is 15.4 MB, resident needs more
    fkm::KMeans streamed_km(p);
    const auto streamed = streamed_km.fit(data.view());
    REQUIRE(streamed.placement.streamed);
    CHECK(streamed.placement.chunk_choice == "auto");
    CHECK(streamed.placement.chunks >= 2);
    CHECK(streamed.placement.chunk_rows % kQuantum == 0);
    CHECK(streamed.placement.device_budget_bytes <= p.max_device_bytes);
    CHECK(streamed.placement.device_bytes_needed > p.max_device_bytes);
    fkm_test::check_same_result(streamed, resident);
    CHECK(streamed_km.predict(data.view()) == resident_km.predict(data.view()));
    const double a = streamed_km.score(data.view()), b = resident_km.score(data.view());
    CHECK(std::memcmp(&a, &b, sizeof a) == 0);
  }
}

TEST_CASE("streaming: a budget too small for the centroids and one chunk names the minimum", "[streaming]") {
  for (const auto backend : gpu_backends()) {
    INFO("backend " << fkm_test::describe(backend));
    const std::int64_t n = 20000, d = 64;
    const auto x = fkm_test::uniform_data(n, d, 2);
    const auto data = fkm_test::as_dtype(x, n, d, fkm::DType::F32);
    fkm::KMeansParams p;
    p.k = 10;
    p.backend = backend;
    p.max_device_bytes = 1 << 20;
    fkm_test::check_error([&] { fkm::fit(data.view(), p); }, fkm::ErrorCode::OutOfMemory, "need at least");
    // many centroids: their state alone is over the budget
    p.k = 20000;
    p.max_device_bytes = 64LL << 20;
    p.init = fkm::Init::Random;
    fkm_test::check_error([&] { fkm::fit(data.view(), p); }, fkm::ErrorCode::OutOfMemory, "max_device_bytes = 67108864");
    // and the fit works once the budget holds the minimum
    p.k = 10;
    p.max_device_bytes = 0;
    p.stream_chunk_rows = kQuantum;
    p.max_iter = 2;
    CHECK(fkm::fit(data.view(), p).placement.streamed);
  }
}

// Small enough for compute-sanitizer (perf/device/streaming.sh runs it by name): every streamed
// kernel and copy of a fit, k-means++ and k-means|| init, weights, cosine, empties.
TEST_CASE("streaming: tiny streamed fit", "[.][streaming-tiny]") {
  for (const auto backend : gpu_backends()) {
    const std::int64_t n = kQuantum + 5, d = 9;
    Case c{n, d, 5, fkm::DType::F16, fkm::Metric::L2, fkm::Init::KMeansPlusPlus};
    check_streamed_equals_resident(backend, c, fkm_test::blob_data(n, d, 5, 2.0, 3));
    c = Case{n, d, 4, fkm::DType::F32, fkm::Metric::Cosine, fkm::Init::KMeansParallel, fkm::Precision::Exact, true};
    check_streamed_equals_resident(backend, c, fkm_test::blob_data(n, d, 4, 2.0, 4));
  }
}
