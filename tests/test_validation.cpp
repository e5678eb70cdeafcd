// Every error path of validation: each gives fkm::Error with a message naming the problem.
#include <limits>

#include "support.hpp"

using fkm::ErrorCode;
using fkm_test::check_error;

namespace {
fkm::KMeansParams params_k(std::int64_t k) {
  fkm::KMeansParams p;
  p.k = k;
  p.max_iter = 3;
  return p;
}
}  // namespace

TEST_CASE("validation: options", "[validation]") {
  const auto x = fkm_test::uniform_data(20, 3, 1);
  const auto v = fkm::host_view(x.data(), 20, 3);
  auto fit = [&](fkm::KMeansParams p) { return [=] { fkm::fit(v, p); }; };
  check_error(fit(params_k(0)), ErrorCode::InvalidArgument, "k must be at least 1");
  check_error(fit(params_k(-3)), ErrorCode::InvalidArgument, "k must be at least 1");
  check_error(fit(params_k(21)), ErrorCode::InvalidArgument, "larger than the number of points");
  auto p = params_k(2);
  p.n_init = 0;
  check_error(fit(p), ErrorCode::InvalidArgument, "n_init");
  p = params_k(2);
  p.max_iter = 0;
  check_error(fit(p), ErrorCode::InvalidArgument, "max_iter");
  p = params_k(2);
  p.tol = -1;
  check_error(fit(p), ErrorCode::InvalidArgument, "tol");
  p.tol = std::numeric_limits<double>::quiet_NaN();
  check_error(fit(p), ErrorCode::InvalidArgument, "tol");
  p = params_k(2);
  p.num_threads = -1;
  check_error(fit(p), ErrorCode::InvalidArgument, "num_threads");
  p.num_threads = fkm::kMaxThreads + 1;  // libgomp would crash or exit on a huge team
  check_error(fit(p), ErrorCode::InvalidArgument, "num_threads must be between 0 and 4096");
  p = params_k(2);
  p.metric = static_cast<fkm::Metric>(17);
  check_error(fit(p), ErrorCode::InvalidArgument, "metric");
  p = params_k(2);
  p.init = static_cast<fkm::Init>(9);
  check_error(fit(p), ErrorCode::InvalidArgument, "init");
  p = params_k(2);
  p.kmeans_parallel_rounds = 0;
  check_error(fit(p), ErrorCode::InvalidArgument, "kmeans_parallel_rounds");
  p = params_k(2);
  p.kmeans_parallel_oversampling = 0;
  check_error(fit(p), ErrorCode::InvalidArgument, "oversampling");
}

TEST_CASE("validation: option names", "[validation]") {
  CHECK(fkm::parse_init("kmeans-parallel") == fkm::Init::KMeansParallel);
  CHECK(fkm::parse_metric("ip") == fkm::Metric::InnerProduct);
  CHECK(fkm::parse_backend("cpu") == fkm::BackendKind::Cpu);
  check_error([] { fkm::parse_init("kmeans+"); }, ErrorCode::InvalidArgument, "unknown init 'kmeans+'");
  check_error([] { fkm::parse_metric("l1"); }, ErrorCode::InvalidArgument, "accepted: l2, cosine, ip");
  check_error([] { fkm::parse_backend("tpu"); }, ErrorCode::InvalidArgument, "unknown backend");
  check_error([] { fkm::parse_precision("half"); }, ErrorCode::InvalidArgument, "precision");
  check_error([] { fkm::parse_empty_policy("drop"); }, ErrorCode::InvalidArgument, "empty-cluster");
}

TEST_CASE("validation: data shape", "[validation]") {
  const auto x = fkm_test::uniform_data(20, 3, 1);
  const auto p = params_k(2);
  check_error([&] { fkm::fit(fkm::host_view(x.data(), 0, 3), p); }, ErrorCode::InvalidData, "0 rows");
  check_error([&] { fkm::fit(fkm::host_view(x.data(), 20, 0), p); }, ErrorCode::InvalidData, "0 columns");
  check_error([&] { fkm::fit(fkm::host_view(static_cast<const double*>(nullptr), 20, 3), p); }, ErrorCode::InvalidData,
              "null data");
  check_error([&] { fkm::fit(fkm::host_view(x.data(), 10, 3, 2), p); }, ErrorCode::InvalidData, "row_stride");
  auto bad = fkm::host_view(x.data(), 20, 3);
  bad.dtype = static_cast<fkm::DType>(42);
  check_error([&] { fkm::fit(bad, p); }, ErrorCode::InvalidData, "dtype");
}

TEST_CASE("validation: non-finite data names row and column", "[validation]") {
  for (const double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity()}) {
    auto x = fkm_test::uniform_data(30, 4, 2);
    x[17 * 4 + 2] = bad;
    for (auto backend : fkm_test::backends_under_test()) {
      auto p = params_k(3);
      p.backend = backend;
      check_error([&] { fkm::fit(fkm::host_view(x.data(), 30, 4), p); }, ErrorCode::InvalidData, "row 17, column 2");
    }
    auto p = params_k(3);
    p.backend = fkm::BackendKind::Reference;
    check_error([&] { fkm::fit(fkm::host_view(x.data(), 30, 4), p); }, ErrorCode::InvalidData, "row 17, column 2");
    // fp32 storage too (NaN/Inf survive narrowing)
    std::vector<float> xf(x.begin(), x.end());
    check_error([&] { fkm::fit(fkm::host_view(xf.data(), 30, 4), params_k(3)); }, ErrorCode::InvalidData, "row 17");
  }
}

TEST_CASE("validation: finite values whose distances overflow float64 are an error, not garbage labels",
          "[validation]") {
  // |x| ~ 1e160: every squared distance is beyond 1e308, so every point ties at +inf.
  auto x = fkm_test::uniform_data(40, 3, 5);
  for (double& v : x) v *= 1e160;
  const auto v = fkm::host_view(x.data(), 40, 3);
  for (auto backend : fkm_test::backends_under_test()) {
    // Caught in the initialisation's potential (k-means++, k-means||) or the first assignment.
    for (const auto init : {fkm::Init::KMeansPlusPlus, fkm::Init::KMeansParallel, fkm::Init::Random}) {
      for (const double tol : {0.0, 1e-4}) {
        auto p = params_k(3);
        p.backend = backend;
        p.init = init;
        p.tol = tol;
        check_error([&] { fkm::fit(v, p); }, ErrorCode::InvalidData, "overflow float64");
      }
    }
    auto p = params_k(2);
    p.backend = backend;
    fkm::KMeans km(p);
    km.set_centroids({1e160, 0, 0, -1e160, 0, 0}, 2, 3);
    check_error([&] { km.predict(v); }, ErrorCode::InvalidData, "overflow float64");
    check_error([&] { km.score(v); }, ErrorCode::InvalidData, "overflow float64");
  }
}

TEST_CASE("validation: weights", "[validation]") {
  const auto x = fkm_test::uniform_data(30, 4, 2);
  const auto v = fkm::host_view(x.data(), 30, 4);
  const auto p = params_k(3);
  std::vector<double> w(30, 1.0);
  check_error([&] { fkm::fit(v, p, fkm::host_vector(w.data(), 29)); }, ErrorCode::InvalidData, "weights have 29 values but data has 30 rows");
  w[5] = -1;
  check_error([&] { fkm::fit(v, p, fkm::host_vector(w.data(), 30)); }, ErrorCode::InvalidData, "weights: value at row 5");
  w[5] = std::numeric_limits<double>::quiet_NaN();
  check_error([&] { fkm::fit(v, p, fkm::host_vector(w.data(), 30)); }, ErrorCode::InvalidData, "weights: value at row 5");
  w[5] = std::numeric_limits<double>::infinity();
  check_error([&] { fkm::fit(v, p, fkm::host_vector(w.data(), 30)); }, ErrorCode::InvalidData, "weights: value at row 5");
  std::vector<double> zeros(30, 0.0);
  check_error([&] { fkm::fit(v, p, fkm::host_vector(zeros.data(), 30)); }, ErrorCode::InvalidData, "total weight");
  zeros[3] = zeros[9] = 1;  // two points of positive weight, k = 3
  check_error([&] { fkm::fit(v, p, fkm::host_vector(zeros.data(), 30)); }, ErrorCode::InvalidArgument,
              "number of points with positive weight (2)");
  std::vector<fkm::half> hw(30);
  fkm::VectorView wrong{hw.data(), 30, fkm::DType::F16, fkm::MemorySpace::Host, 0};
  check_error([&] { fkm::fit(v, p, wrong); }, ErrorCode::InvalidData, "weights must be float32 or float64");
}

TEST_CASE("validation: given centroids", "[validation]") {
  const auto x = fkm_test::uniform_data(30, 4, 2);
  const auto v = fkm::host_view(x.data(), 30, 4);
  auto p = params_k(3);
  p.init = fkm::Init::Given;
  check_error([&] { fkm::fit(v, p); }, ErrorCode::InvalidArgument, "no initial centroids");
  std::vector<double> c(3 * 5, 0.5);
  p.initial_centroids = fkm::host_view(c.data(), 3, 5);
  check_error([&] { fkm::fit(v, p); }, ErrorCode::InvalidArgument, "shape (3, 5) but (k, d) = (3, 4)");
  p.initial_centroids = fkm::host_view(c.data(), 2, 4);
  check_error([&] { fkm::fit(v, p); }, ErrorCode::InvalidArgument, "shape (2, 4)");
  c[6] = std::numeric_limits<double>::quiet_NaN();
  p.initial_centroids = fkm::host_view(c.data(), 3, 4);
  check_error([&] { fkm::fit(v, p); }, ErrorCode::InvalidArgument, "row 1, column 2");
}

TEST_CASE("validation: backends not compiled in name their CMake option", "[validation]") {
  for (const auto& b : fkm::list_backends()) {
    if (b.compiled) continue;
    const auto x = fkm_test::uniform_data(10, 2, 1);
    auto p = params_k(2);
    p.backend = b.kind;
    check_error([&] { fkm::fit(fkm::host_view(x.data(), 10, 2), p); }, ErrorCode::Unsupported, b.cmake_option);
  }
  const auto x = fkm_test::uniform_data(10, 2, 1);
  auto p = params_k(2);
  p.backend = fkm::BackendKind::Reference;
  check_error([&] { fkm::fit(fkm::device_view(x.data(), 10, 2), p); }, ErrorCode::Unsupported, "device memory");
}

TEST_CASE("validation: predict, transform and score before fit or with the wrong width", "[validation]") {
  const auto x = fkm_test::uniform_data(10, 2, 1);
  fkm::KMeans km(params_k(2));
  check_error([&] { km.predict(fkm::host_view(x.data(), 10, 2)); }, ErrorCode::InvalidArgument, "before fit");
  km.fit(fkm::host_view(x.data(), 10, 2));
  check_error([&] { km.predict(fkm::host_view(x.data(), 5, 4)); }, ErrorCode::InvalidData, "4 columns but the centroids have 2");
  check_error([&] { km.transform(fkm::host_view(x.data(), 0, 2)); }, ErrorCode::InvalidData, "0 rows");
  check_error([&] { km.set_centroids({1.0, 2.0, 3.0}, 2, 2); }, ErrorCode::InvalidArgument, "set_centroids");
}
