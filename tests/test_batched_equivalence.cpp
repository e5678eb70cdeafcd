// The batched contract: problem b of fit_batched gives, bit for bit, the result of fitting
// problem b alone with the same params (the same seed for every problem), on every backend, at
// awkward sizes, for every dtype, with and without (zero) weights, for every init method.
#include <algorithm>

#include "support.hpp"

namespace {

struct Shape {
  std::int64_t problems, n, d, k;
};
// Tile-unfriendly sizes; K = 1; K = N; D = 1.
const Shape kShapes[] = {{3, 97, 13, 7}, {2, 50, 6, 1}, {3, 23, 5, 23}, {4, 60, 1, 4}};

/// problems x n x d values: each problem its own blobs, so a problem read at the wrong offset
/// (or fitted with another problem's weights) gives a different result.
std::vector<double> batch_values(const Shape& s) {
  std::vector<double> v;
  for (std::int64_t b = 0; b < s.problems; ++b) {
    const auto one = fkm_test::blob_data(s.n, s.d, std::max<std::int64_t>(1, s.k / 2), 3.0 + double(b), 100 + b);
    v.insert(v.end(), one.begin(), one.end());
  }
  return v;
}

/// Runs fit_batched and each problem alone (from its own contiguous copy) and compares.
void check_batch_equals_separate(const Shape& s, fkm::DType dtype, const fkm::KMeansParams& p, bool weighted,
                                 bool per_problem_init) {
  const auto values = batch_values(s);
  const auto all = fkm_test::as_dtype(values, s.problems * s.n, s.d, dtype);
  // K = N needs every point of positive weight; otherwise every 5th weight is zero.
  const auto w = fkm_test::random_weights(s.problems * s.n, 9, s.k == s.n ? 0 : 5);
  // Per-problem initial centroids: each problem's own last k rows.
  std::vector<double> init(std::size_t(s.problems * s.k * s.d));
  for (std::int64_t b = 0; b < s.problems; ++b)
    std::copy_n(all.exact.begin() + ((b + 1) * s.n - s.k) * s.d, s.k * s.d, init.begin() + b * s.k * s.d);

  fkm::BatchedFitOptions options;
  if (weighted) options.weights = fkm::host_batched_vector(w.data(), s.problems, s.n);
  if (per_problem_init) options.initial_centroids = fkm::host_batched_view(init.data(), s.problems, s.k, s.d);
  const auto batched = fkm::fit_batched(fkm_test::batch_of(all.view(), s.problems), p, options);
  REQUIRE(std::int64_t(batched.size()) == s.problems);

  for (std::int64_t b = 0; b < s.problems; ++b) {
    INFO("problem " << b);
    const std::vector<double> mine(values.begin() + b * s.n * s.d, values.begin() + (b + 1) * s.n * s.d);
    const auto alone_data = fkm_test::as_dtype(mine, s.n, s.d, dtype);
    fkm::KMeansParams one = p;
    if (per_problem_init) one.initial_centroids = fkm::host_view(init.data() + b * s.k * s.d, s.k, s.d);
    const auto alone = fkm::fit(alone_data.view(), one,
                                weighted ? fkm::host_vector(w.data() + b * s.n, s.n) : fkm::VectorView{});
    fkm_test::check_same_result(batched[std::size_t(b)], alone);
  }
}

}  // namespace

TEST_CASE("batched: every problem equals its own fit, bit for bit", "[batched]") {
  for (const auto backend : fkm_test::backends_with_reference()) {
    for (const Shape& s : kShapes) {
      for (const fkm::DType dtype : {fkm::DType::F32, fkm::DType::F64, fkm::DType::F16, fkm::DType::BF16}) {
        for (const bool weighted : {false, true}) {
          for (const fkm::Init init : {fkm::Init::KMeansPlusPlus, fkm::Init::Random, fkm::Init::KMeansParallel}) {
            INFO("backend " << fkm_test::describe(backend) << ", B=" << s.problems << " N=" << s.n << " D=" << s.d
                            << " K=" << s.k << ", " << fkm::to_string(dtype) << (weighted ? ", weighted" : "")
                            << ", init " << fkm::to_string(init));
            fkm::KMeansParams p;
            p.k = s.k;
            p.init = init;
            p.n_init = 2;  // the restarts' seeds are the same for every problem too
            p.seed = 41;
            p.max_iter = 20;
            p.backend = backend;
            check_batch_equals_separate(s, dtype, p, weighted, false);
          }
        }
      }
    }
  }
}

TEST_CASE("batched: given initial centroids, shared or per problem, every metric", "[batched]") {
  const Shape s = kShapes[0];
  for (const auto backend : fkm_test::backends_with_reference()) {
    for (const fkm::Metric metric : {fkm::Metric::L2, fkm::Metric::Cosine, fkm::Metric::InnerProduct}) {
      for (const fkm::DType dtype : {fkm::DType::F32, fkm::DType::F64}) {
        INFO("backend " << fkm_test::describe(backend) << ", " << fkm::to_string(metric) << ", " << fkm::to_string(dtype));
        // The same K x D start for every problem (params.initial_centroids)...
        const auto shared = fkm_test::uniform_data(s.k, s.d, 3, -3, 3);
        fkm::KMeansParams p;
        p.k = s.k;
        p.metric = metric;
        p.max_iter = 30;
        p.backend = backend;
        p.init = fkm::Init::Given;
        p.initial_centroids = fkm::host_view(shared.data(), s.k, s.d);
        check_batch_equals_separate(s, dtype, p, true, false);
        // ... or each problem's own (BatchedFitOptions::initial_centroids).
        p.initial_centroids = {};
        check_batch_equals_separate(s, dtype, p, true, true);
        check_batch_equals_separate(s, dtype, p, false, true);
      }
    }
  }
}

TEST_CASE("batched: strided views and a problem's place in the batch do not change its result", "[batched]") {
  const std::int64_t problems = 3, n = 71, d = 9, k = 5, row_stride = 12, batch_stride = n * row_stride + 7;
  std::vector<double> padded(std::size_t(problems * batch_stride), -1e300);  // padding would wreck any fit that read it
  std::vector<double> contiguous;
  for (std::int64_t b = 0; b < problems; ++b) {
    const auto one = fkm_test::blob_data(n, d, k, 4.0, 7 + b);
    contiguous.insert(contiguous.end(), one.begin(), one.end());
    for (std::int64_t i = 0; i < n; ++i)
      std::copy_n(one.begin() + i * d, d, padded.begin() + b * batch_stride + i * row_stride);
  }
  // The problems in reverse order, contiguous.
  std::vector<double> reversed;
  for (std::int64_t b = problems - 1; b >= 0; --b)
    reversed.insert(reversed.end(), contiguous.begin() + b * n * d, contiguous.begin() + (b + 1) * n * d);
  for (const auto backend : fkm_test::backends_with_reference()) {
    INFO("backend " << fkm_test::describe(backend));
    fkm::KMeansParams p;
    p.k = k;
    p.seed = 2;
    p.backend = backend;
    const auto plain = fkm::fit_batched(fkm::host_batched_view(contiguous.data(), problems, n, d), p);
    const auto strided = fkm::fit_batched(fkm::host_batched_view(padded.data(), problems, n, d, row_stride, batch_stride), p);
    const auto backwards = fkm::fit_batched(fkm::host_batched_view(reversed.data(), problems, n, d), p);
    for (std::int64_t b = 0; b < problems; ++b) {
      INFO("problem " << b);
      fkm_test::check_same_result(strided[std::size_t(b)], plain[std::size_t(b)]);
      fkm_test::check_same_result(backwards[std::size_t(problems - 1 - b)], plain[std::size_t(b)]);
    }
    // batch_stride 0: every problem is the same matrix, so every result is the same.
    const auto repeated = fkm::fit_batched(fkm::host_batched_view(contiguous.data(), problems, n, d, d, 0), p);
    for (std::int64_t b = 0; b < problems; ++b) fkm_test::check_same_result(repeated[std::size_t(b)], plain[0]);
  }
}
