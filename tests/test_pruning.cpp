// Pruning is a pure speed option: every backend gives the same fit, bit for bit, with and
// without it (backends that do not prune ignore it). The data here is chosen to make pruning
// both work (separated blobs, so most points keep their label) and fail (ties, duplicates,
// all-equal points, data far from the origin, K = 1, K = N).
#include "support.hpp"

namespace {

struct Case {
  const char* what;
  std::int64_t n, d, k;
  std::vector<double> values;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  out.push_back({"awkward sizes", 597, 43, 37, fkm_test::blob_data(597, 43, 18, 3.0, 1)});
  out.push_back({"D = 1", 200, 1, 5, fkm_test::blob_data(200, 1, 3, 3.0, 2)});
  out.push_back({"D > 2048", 61, 2049, 7, fkm_test::blob_data(61, 2049, 4, 3.0, 3)});
  out.push_back({"K = 1", 150, 17, 1, fkm_test::blob_data(150, 17, 2, 3.0, 4)});
  out.push_back({"K = N", 41, 6, 41, fkm_test::blob_data(41, 6, 20, 3.0, 5)});
  out.push_back({"separated blobs", 1501, 16, 50, fkm_test::blob_data(1501, 16, 50, 40.0, 6)});
  {  // far from the origin: the CPU backend centres the data before scoring
    auto v = fkm_test::blob_data(800, 9, 12, 2.0, 7);
    for (double& x : v) x += 1e4;
    out.push_back({"far from the origin", 800, 9, 12, std::move(v)});
  }
  {  // integer grid: many points exactly halfway between centroids (exact ties)
    std::vector<double> v;
    for (int a = 0; a < 12; ++a)
      for (int b = 0; b < 12; ++b) v.insert(v.end(), {double(a), double(b % 6), double((a + b) % 3)});
    out.push_back({"grid with exact ties", 144, 3, 9, std::move(v)});
  }
  {  // few distinct points: duplicates, and clusters that empty and are reseeded
    std::vector<double> v;
    for (int i = 0; i < 300; ++i) v.insert(v.end(), {double(i % 3), double(i % 3), 1.0, -2.0});
    out.push_back({"duplicates and empties", 300, 4, 8, std::move(v)});
  }
  return out;
}

fkm::KMeansParams params_for(std::int64_t k, fkm::Pruning pruning, fkm::BackendKind backend) {
  fkm::KMeansParams p;
  p.k = k;
  p.n_init = 2;
  p.max_iter = 25;
  p.tol = 1e-6;
  p.seed = 3;
  p.pruning = pruning;
  p.backend = backend;
  return p;
}

void require_identical(const fkm::KMeansResult& a, const fkm::KMeansResult& b) {
  REQUIRE(a.labels == b.labels);
  REQUIRE(a.centroids == b.centroids);  // bitwise: the same doubles
  REQUIRE(a.inertia == b.inertia);
  REQUIRE(a.n_iter == b.n_iter);
  REQUIRE(a.best_init == b.best_init);
  REQUIRE(a.history.size() == b.history.size());
  for (std::size_t i = 0; i < a.history.size(); ++i) {
    REQUIRE(a.history[i].inertia == b.history[i].inertia);
    REQUIRE(a.history[i].shift == b.history[i].shift);
    REQUIRE(a.history[i].n_empty == b.history[i].n_empty);
  }
}

std::vector<fkm::BackendKind> all_backends() {
  auto b = fkm_test::backends_under_test();
  b.push_back(fkm::BackendKind::Reference);
  return b;
}

}  // namespace

TEST_CASE("pruning: the same fit as without it, bit for bit", "[pruning]") {
  for (const Case& c : cases()) {
    for (const fkm::DType dtype : {fkm::DType::F32, fkm::DType::F64, fkm::DType::F16, fkm::DType::BF16}) {
      const auto data = fkm_test::as_dtype(c.values, c.n, c.d, dtype);
      const auto w = fkm_test::random_weights(c.n, 11, c.k == c.n ? 0 : 5);  // K = N needs N positive weights
      for (const bool weighted : {false, true}) {
        const fkm::VectorView wv = weighted ? fkm::host_vector(w.data(), c.n) : fkm::VectorView{};
        for (const auto backend : all_backends()) {
          INFO(c.what << ": n=" << c.n << " d=" << c.d << " k=" << c.k << ", " << fkm::to_string(dtype)
                      << (weighted ? ", weighted" : "") << ", backend " << fkm_test::describe(backend));
          const auto plain = fkm::fit(data.view(), params_for(c.k, fkm::Pruning::Off, backend), wv);
          const auto pruned = fkm::fit(data.view(), params_for(c.k, fkm::Pruning::Hamerly, backend), wv);
          require_identical(pruned, plain);
          for (const auto& h : plain.history) REQUIRE(h.n_skipped == 0);
        }
      }
    }
  }
}

TEST_CASE("pruning: the same fit from given centroids, every metric (only L2 prunes)", "[pruning]") {
  const std::int64_t n = 997, d = 21, k = 31;
  const auto values = fkm_test::blob_data(n, d, 15, 6.0, 9);
  const auto data = fkm_test::as_dtype(values, n, d, fkm::DType::F32);
  const std::vector<double> init(data.exact.begin(), data.exact.begin() + k * d);
  for (const fkm::Metric metric : {fkm::Metric::L2, fkm::Metric::Cosine, fkm::Metric::InnerProduct})
    for (const auto backend : all_backends()) {
      INFO(fkm::to_string(metric) << ", backend " << fkm_test::describe(backend));
      auto p = params_for(k, fkm::Pruning::Off, backend);
      p.metric = metric;
      p.init = fkm::Init::Given;
      p.initial_centroids = fkm::host_view(init.data(), k, d);
      p.tol = 0;
      p.max_iter = 12;
      const auto plain = fkm::fit(data.view(), p);
      p.pruning = fkm::Pruning::Hamerly;
      require_identical(fkm::fit(data.view(), p), plain);
    }
}

TEST_CASE("pruning: the CPU backend skips most points once the clusters settle", "[pruning][cpu]") {
  bool have_cpu = false;
  for (const auto b : fkm_test::backends_under_test()) have_cpu |= b == fkm::BackendKind::Cpu;
  if (!have_cpu) {
    WARN("the CPU backend is not under test: nothing to check");
    return;
  }
  const std::int64_t n = 5003, d = 24, k = 40;
  const auto data = fkm_test::as_dtype(fkm_test::blob_data(n, d, k, 50.0, 12), n, d, fkm::DType::F32);
  auto p = params_for(k, fkm::Pruning::Hamerly, fkm::BackendKind::Cpu);
  p.n_init = 1;
  p.tol = 0;
  p.max_iter = 8;
  const auto r = fkm::fit(data.view(), p);
  REQUIRE(r.history.size() == 8);
  REQUIRE(r.history[0].n_skipped == 0);  // no bounds before the first assignment
  // Well separated blobs: after a few iterations nearly every label is proved without a search.
  INFO("skipped in the last iteration: " << r.history.back().n_skipped << " of " << n);
  CHECK(r.history.back().n_skipped > n / 2);
  for (const auto& h : r.history) REQUIRE(h.n_skipped <= n);
}

TEST_CASE("pruning: an unknown value is refused", "[pruning][validation]") {
  const auto data = fkm_test::as_dtype(fkm_test::uniform_data(20, 3, 1), 20, 3, fkm::DType::F32);
  auto p = params_for(2, fkm::Pruning::Off, fkm::BackendKind::Reference);
  p.pruning = static_cast<fkm::Pruning>(7);
  fkm_test::check_error([&] { fkm::fit(data.view(), p); }, fkm::ErrorCode::InvalidArgument, "pruning");
  CHECK(fkm::parse_pruning("hamerly") == fkm::Pruning::Hamerly);
  fkm_test::check_error([] { fkm::parse_pruning("elkan"); }, fkm::ErrorCode::InvalidArgument, "off, hamerly");
}
