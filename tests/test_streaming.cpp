// Out-of-core fits (GPU backends): data streamed from host memory in chunks gives exactly the
// result of the resident fit (same labels, centroids, inertia, history: bit for bit), at sizes
// that stress the chunking: a last chunk shorter than an assignment tile, K larger than a chunk,
// K = 1, every 16-bit and 32-bit dtype, every init, weights, empties, every metric; a budget
// that forces streaming; a budget too small for the centroids themselves. On backends without
// streaming (CPU, reference, Kokkos) only the memory-size parser and the placement plan (plain
// C++) run.
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "../backends/cuda_hip/stream_plan.hpp"
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
  CHECK((streamed.placement.transfer == "staged" || streamed.placement.transfer == "page-locked in place"));
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
    // clusters of many groups: the resident fit folds them with the staged kernel (16384 rows a
    // cluster or more on average; 128 groups a batch), the chunks with the other one; K = 1 over
    // 2 batches, K = 2 weighted, a third of the features in a partial slice
    cases.push_back({9 * kQuantum + 11, 33, 1, fkm::DType::F16, fkm::Metric::L2, fkm::Init::Random, fkm::Precision::Fast});
    cases.push_back({17 * kQuantum + 7, 65, 2, fkm::DType::F32, fkm::Metric::L2, fkm::Init::KMeansPlusPlus,
                     fkm::Precision::Exact, true, 2 * kQuantum});
    for (const Case& c : cases) {
      INFO(describe(c));
      check_streamed_equals_resident(backend, c, fkm_test::blob_data(c.n, c.d, 23, 3.0, std::uint64_t(c.n + c.d)));
    }
    // rows in the device layout (16-byte rows) are copied from the caller's memory locked in
    // place; FKM_CUDA_STREAM_STAGING=1 sends them through the staging buffers instead
    for (const char* staging : {"0", "1"}) {
      ::setenv("FKM_CUDA_STREAM_STAGING", staging, 1);
      const Case c{2 * kQuantum + 9, 16, 13, fkm::DType::F16};
      INFO(describe(c) << ", FKM_CUDA_STREAM_STAGING=" << staging);
      check_streamed_equals_resident(backend, c, fkm_test::blob_data(c.n, c.d, 13, 3.0, 8));
      fkm::KMeansParams p;
      p.k = 3;
      p.max_iter = 1;
      p.backend = backend;
      p.stream_chunk_rows = kQuantum;
      const auto data = fkm_test::as_dtype(fkm_test::uniform_data(c.n, c.d, 2), c.n, c.d, fkm::DType::F16);
      const std::string transfer = fkm::fit(data.view(), p).placement.transfer;
      if (staging[0] == '1') CHECK(transfer == "staged");
      else if (transfer != "page-locked in place") WARN("the host memory could not be page-locked: " << transfer);
    }
    ::unsetenv("FKM_CUDA_STREAM_STAGING");
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

// Small enough for compute-sanitizer (perf/device/streaming.sh runs it by name, with and without
// FKM_CUDA_STREAM_STAGING=1): every streamed kernel and copy of a fit, staged and in place,
// k-means++, random and k-means|| init, weights, cosine.
TEST_CASE("streaming: tiny streamed fit", "[.][streaming-tiny]") {
  for (const auto backend : gpu_backends()) {
    const std::int64_t n = kQuantum + 5, d = 9;
    Case c{n, d, 5, fkm::DType::F16, fkm::Metric::L2, fkm::Init::KMeansPlusPlus};
    check_streamed_equals_resident(backend, c, fkm_test::blob_data(n, d, 5, 2.0, 3));
    c = Case{n, d, 4, fkm::DType::F32, fkm::Metric::Cosine, fkm::Init::KMeansParallel, fkm::Precision::Exact, true};
    check_streamed_equals_resident(backend, c, fkm_test::blob_data(n, d, 4, 2.0, 4));
    // 32-byte rows: copied from the caller's memory locked in place (unless staging is forced)
    c = Case{n, 8, 6, fkm::DType::F32, fkm::Metric::L2, fkm::Init::Random, fkm::Precision::Fast, true};
    check_streamed_equals_resident(backend, c, fkm_test::blob_data(n, 8, 6, 2.0, 5));
  }
}

// The placement plan itself (plain C++: runs on every CI machine, GPU or not).
TEST_CASE("streaming: the placement plan", "[streaming]") {
  fkm::gpu::PlacementCosts c;
  c.n = 1000000;
  c.resident_bytes = 300000000;
  c.streamed_fixed_bytes = 10000000;
  c.streamed_row_bytes = 800;
  c.copy_row_bytes = 256;
  fkm::gpu::PlacementRequest r;
  r.budget_bytes = 400000000;
  r.h2d_bytes_per_second = 50e9;
  r.assign_rows_per_second = 1e9;
  // fits: resident, whatever the rates
  auto p = fkm::gpu::plan_placement(c, r, "cuda");
  CHECK_FALSE(p.streamed);
  CHECK(p.device_bytes_needed == c.resident_bytes);
  // does not fit: streamed, chunks of whole quanta, at most what the budget holds
  r.budget_bytes = r.cap_bytes = 200000000;
  p = fkm::gpu::plan_placement(c, r, "cuda");
  REQUIRE(p.streamed);
  CHECK(p.chunk_choice == "auto");
  CHECK(p.chunk_rows % fkm::gpu::kRowQuantum == 0);
  CHECK(c.streamed_fixed_bytes + p.chunk_rows * c.streamed_row_bytes <= r.budget_bytes);
  CHECK(p.chunks == (c.n + p.chunk_rows - 1) / p.chunk_rows);
  // the IO-aware size: sqrt(N * overhead / (copy + compute)), rounded up to a quantum
  const double per_row = 256 / 50e9 + 1 / 1e9;
  const auto ideal = std::int64_t(std::sqrt(1e6 * fkm::gpu::kChunkOverheadSeconds / per_row));
  CHECK(p.chunk_rows == (ideal + fkm::gpu::kRowQuantum - 1) / fkm::gpu::kRowQuantum * fkm::gpu::kRowQuantum);
  // slower compute (large K): longer per-row time, smaller chunks
  r.assign_rows_per_second = 1e7;
  CHECK(fkm::gpu::plan_placement(c, r, "cuda").chunk_rows < p.chunk_rows);
  // a tight budget clamps the chunk
  r.assign_rows_per_second = 1e9;
  r.budget_bytes = r.cap_bytes = c.streamed_fixed_bytes + 5000 * c.streamed_row_bytes;
  CHECK(fkm::gpu::plan_placement(c, r, "cuda").chunk_rows == fkm::gpu::kRowQuantum);
  // forced: the given rows, rounded up, even when the data fits
  r.budget_bytes = 400000000;
  r.cap_bytes = 0;
  r.chunk_rows = 10000;
  p = fkm::gpu::plan_placement(c, r, "cuda");
  CHECK(p.streamed);
  CHECK(p.chunk_rows == 3 * fkm::gpu::kRowQuantum);
  CHECK(p.chunk_choice == "stream_chunk_rows");
  // never longer than the data (in whole quanta)
  c.n = 5000;
  r.chunk_rows = 1 << 30;
  CHECK(fkm::gpu::plan_placement(c, r, "cuda").chunk_rows == 2 * fkm::gpu::kRowQuantum);
  // too small: the minimum is named
  c.n = 1000000;
  r.chunk_rows = 0;
  r.budget_bytes = r.cap_bytes = 1000000;
  const std::string minimum = std::to_string(fkm::gpu::minimum_streaming_bytes(c));
  fkm_test::check_error([&] { fkm::gpu::plan_placement(c, r, "cuda"); }, fkm::ErrorCode::OutOfMemory,
                        "max_device_bytes = 1000000 is too small");
  fkm_test::check_error([&] { fkm::gpu::plan_placement(c, r, "cuda"); }, fkm::ErrorCode::OutOfMemory,
                        "need at least " + minimum + " bytes");
  // a device view cannot be streamed: over the budget is an error saying so
  r.can_stream = false;
  fkm_test::check_error([&] { fkm::gpu::plan_placement(c, r, "cuda"); }, fkm::ErrorCode::OutOfMemory, "device view");
}
