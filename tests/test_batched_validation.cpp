// Every bad input of a batched fit or predict gives fkm::Error with a message naming what is
// wrong, and the problem when it is one problem's fault.
#include <limits>

#include "support.hpp"

using fkm::ErrorCode;
using fkm_test::check_error;

namespace {

constexpr std::int64_t kProblems = 3, kN = 20, kD = 4;

struct Batch {
  std::vector<double> x = fkm_test::uniform_data(kProblems * kN, kD, 1);
  std::vector<double> w = std::vector<double>(kProblems * kN, 1.0);
  fkm::BatchedMatrixView view() const { return fkm::host_batched_view(x.data(), kProblems, kN, kD); }
  fkm::BatchedVectorView weights() const { return fkm::host_batched_vector(w.data(), kProblems, kN); }
};

fkm::KMeansParams params_k(std::int64_t k) {
  fkm::KMeansParams p;
  p.k = k;
  p.max_iter = 3;
  return p;
}

auto fit(const fkm::BatchedMatrixView& x, const fkm::KMeansParams& p, const fkm::BatchedFitOptions& o = {}) {
  return [=] { fkm::fit_batched(x, p, o); };
}

}  // namespace

TEST_CASE("batched validation: shapes of the batch", "[batched][validation]") {
  Batch b;
  auto v = b.view();
  v.problems = 0;
  check_error(fit(v, params_k(2)), ErrorCode::InvalidData, "the batch has 0 problems");
  v = b.view();
  v.rows = 0;
  check_error(fit(v, params_k(2)), ErrorCode::InvalidData, "it has 0 rows");
  v = b.view();
  v.cols = 0;
  check_error(fit(v, params_k(2)), ErrorCode::InvalidData, "0 columns");
  v = b.view();
  v.batch_stride = -1;
  check_error(fit(v, params_k(2)), ErrorCode::InvalidData, "batch_stride -1 is negative");
  v = b.view();
  v.row_stride = 2;
  check_error(fit(v, params_k(2)), ErrorCode::InvalidData, "row_stride");
  v = b.view();
  v.data = nullptr;
  check_error(fit(v, params_k(2)), ErrorCode::InvalidData, "null data pointer");
  v = b.view();
  v.batch_stride = std::numeric_limits<std::int64_t>::max() / 4;
  check_error(fit(v, params_k(2)), ErrorCode::InvalidData, "overflows 64-bit");
  check_error(fit(b.view(), params_k(kN + 1)), ErrorCode::InvalidArgument,
              "k = 21 is larger than the number of points per problem (20)");
  check_error(fit(b.view(), params_k(0)), ErrorCode::InvalidArgument, "k must be at least 1");
  // Device views need a GPU backend with a device; without one the error says so.
  bool have_gpu = false;
  for (const auto& s : fkm::list_backends())
    have_gpu |= (s.kind == fkm::BackendKind::Cuda || s.kind == fkm::BackendKind::Hip) && !s.devices.empty();
  if (!have_gpu) {
    v = b.view();
    v.space = fkm::MemorySpace::Device;
    check_error(fit(v, params_k(2)), ErrorCode::Unsupported, "device");
  }
}

TEST_CASE("batched validation: weights of the wrong shape", "[batched][validation]") {
  Batch b;
  fkm::BatchedFitOptions o;
  o.weights = b.weights();
  o.weights.problems = 2;
  check_error(fit(b.view(), params_k(2), o), ErrorCode::InvalidData, "weights hold 2 problems but data holds 3");
  o.weights = b.weights();
  o.weights.size = kN - 1;
  check_error(fit(b.view(), params_k(2), o), ErrorCode::InvalidData, "weights have 19 values but data has 20 rows");
  o.weights = b.weights();
  o.weights.batch_stride = -5;
  check_error(fit(b.view(), params_k(2), o), ErrorCode::InvalidData, "weights: batch_stride -5 is negative");
  o.weights = b.weights();
  o.weights.data = nullptr;
  check_error(fit(b.view(), params_k(2), o), ErrorCode::InvalidData, "null data pointer");
  o.weights = fkm::BatchedVectorView{};
  o.weights.problems = kProblems;  // a shape but no data is not "no weights"
  o.weights.size = kN;
  check_error(fit(b.view(), params_k(2), o), ErrorCode::InvalidData, "weights: null data pointer for 3 problems");
  o.weights = b.weights();
  o.weights.dtype = fkm::DType::F16;
  check_error(fit(b.view(), params_k(2), o), ErrorCode::InvalidData, "weights must be float32 or float64");
}

TEST_CASE("batched validation: bad values name their problem", "[batched][validation]") {
  for (const auto backend : fkm_test::backends_with_reference()) {
    INFO("backend " << fkm_test::describe(backend));
    auto p = params_k(2);
    p.backend = backend;
    Batch b;
    b.x[(2 * kN + 17) * kD + 2] = std::numeric_limits<double>::quiet_NaN();  // problem 2, row 17, column 2
    check_error(fit(b.view(), p), ErrorCode::InvalidData, "problem 2: non-finite value (NaN or Inf) at row 17, column 2");
    // ... found before any problem is fitted: no iteration ran.
    int iterations = 0;
    fkm::BatchedFitOptions counting;
    counting.on_iteration = [&](std::int64_t, int, int, const fkm::IterationRecord&) { return ++iterations > 0; };
    check_error([&] { fkm::fit_batched(b.view(), p, counting); }, ErrorCode::InvalidData, "problem 2: non-finite");
    CHECK(iterations == 0);
    b = Batch{};
    b.x[(1 * kN + 3) * kD] = std::numeric_limits<double>::infinity();
    check_error(fit(b.view(), p), ErrorCode::InvalidData, "problem 1: non-finite value (NaN or Inf) at row 3, column 0");

    b = Batch{};
    fkm::BatchedFitOptions o;
    b.w[1 * kN + 5] = -1;
    o.weights = b.weights();
    check_error(fit(b.view(), p, o), ErrorCode::InvalidData, "problem 1: weights: value at row 5 is negative");
    // Problem 2 has a single point of positive weight: fewer than k = 2.
    b = Batch{};
    for (std::int64_t i = 1; i < kN; ++i) b.w[2 * kN + i] = 0;
    o.weights = b.weights();
    check_error(fit(b.view(), p, o), ErrorCode::InvalidArgument, "problem 2: k = 2 is larger than the number of points with positive weight (1)");
    // Problem 0 weighs nothing at all.
    b = Batch{};
    for (std::int64_t i = 0; i < kN; ++i) b.w[i] = 0;
    o.weights = b.weights();
    check_error(fit(b.view(), p, o), ErrorCode::InvalidData, "problem 0: weights: the total weight must be positive");
  }
}

TEST_CASE("batched validation: initial centroids", "[batched][validation]") {
  Batch b;
  const std::int64_t k = 2;
  std::vector<double> c(std::size_t(kProblems * k * kD), 0.5);
  fkm::BatchedFitOptions o;
  o.initial_centroids = fkm::host_batched_view(c.data(), kProblems, k, kD);
  auto p = params_k(k);
  check_error(fit(b.view(), p, o), ErrorCode::InvalidArgument, "init is 'kmeans++', not 'given'");
  p.init = fkm::Init::Given;
  p.initial_centroids = fkm::host_view(c.data(), k, kD);
  check_error(fit(b.view(), p, o), ErrorCode::InvalidArgument, "both params.initial_centroids and per-problem");
  p.initial_centroids = {};
  o.initial_centroids = fkm::host_batched_view(c.data(), kProblems - 1, k, kD);
  check_error(fit(b.view(), p, o), ErrorCode::InvalidArgument, "shape (2, 2, 4) but (problems, k, d) = (3, 2, 4)");
  o.initial_centroids = fkm::host_batched_view(c.data(), kProblems, k, kD - 1);
  check_error(fit(b.view(), p, o), ErrorCode::InvalidArgument, "shape (3, 2, 3) but (problems, k, d) = (3, 2, 4)");
  o.initial_centroids = fkm::host_batched_view(c.data(), kProblems, k, kD);
  o.initial_centroids.space = fkm::MemorySpace::Device;
  check_error(fit(b.view(), p, o), ErrorCode::InvalidArgument, "problem 0: initial centroids must be in host memory");
  o.initial_centroids = fkm::host_batched_view(c.data(), kProblems, k, kD);
  c[std::size_t((2 * k + 1) * kD + 3)] = std::numeric_limits<double>::quiet_NaN();
  check_error(fit(b.view(), p, o), ErrorCode::InvalidArgument, "problem 2: initial centroids: non-finite value at row 1, column 3");
  // Init::Given without any centroids.
  check_error(fit(b.view(), p), ErrorCode::InvalidArgument, "no initial centroids were provided");
}

TEST_CASE("batched validation: predict and score", "[batched][validation]") {
  Batch b;
  fkm::BatchedKMeans km(params_k(2));
  check_error([&] { km.predict(b.view()); }, ErrorCode::InvalidArgument, "predict called before fit");
  km.fit(b.view());
  auto v = b.view();
  v.problems = 2;
  check_error([&] { km.predict(v); }, ErrorCode::InvalidData, "data holds 2 problems but there are 3 models");
  v = b.view();
  v.cols = 3;
  v.row_stride = kD;
  check_error([&] { km.score(v); }, ErrorCode::InvalidData, "data has 3 columns but the centroids have 4");
  b.x[(1 * kN + 4) * kD + 1] = std::numeric_limits<double>::quiet_NaN();
  check_error([&] { km.predict(b.view()); }, ErrorCode::InvalidData, "problem 1: non-finite value (NaN or Inf) at row 4, column 1");

  std::vector<double> c(std::size_t(2 * 2 * kD), 1.0);
  check_error([&] { km.set_centroids(c, 3, 2, kD); }, ErrorCode::InvalidArgument, "expected problems x k x d = 3 x 2 x 4 values, got 16");
  c[std::size_t(2 * kD + 5)] = std::numeric_limits<double>::infinity();
  check_error([&] { km.set_centroids(c, 2, 2, kD); }, ErrorCode::InvalidArgument, "problem 1: set_centroids: non-finite value at row 1, column 1");
}
