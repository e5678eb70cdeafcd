// The Kokkos backend against the fp64 reference, operation by operation (Problem interface)
// and for whole fits. Complements the shared behaviour tests in tests/, which run every
// backend through the public API: these check the Kokkos-specific promises -- labels equal to
// the reference's except at near-ties, distances and per-cluster sums bitwise equal to the
// reference's index-order fp64 arithmetic, every dtype, strided rows, and bitwise determinism.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <vector>

#include "cluster_order.hpp"
#include "fkm/fkm.hpp"
#include "kokkos_runtime.hpp"

namespace {

using fkm::BackendKind;
using fkm::DType;
using fkm::Metric;

struct Data {
  std::int64_t n = 0, d = 0, stride = 0;
  std::vector<double> values;  ///< n x stride, the exact values every dtype stores
  std::vector<float> f32;
  std::vector<fkm::half> f16;
  std::vector<fkm::bfloat16> bf16;

  fkm::MatrixView view(DType t) const {
    switch (t) {
      case DType::F64: return fkm::host_view(values.data(), n, d, stride);
      case DType::F32: return fkm::host_view(f32.data(), n, d, stride);
      case DType::F16: return fkm::host_view(f16.data(), n, d, stride);
      case DType::BF16: return fkm::host_view(bf16.data(), n, d, stride);
    }
    return {};
  }
};

/// n x d points: `blobs` well-separated Gaussian blobs (0: uniform in [-1, 1]), values rounded
/// to what bf16 can hold so that every dtype stores exactly the same numbers.
Data make_data(std::int64_t n, std::int64_t d, std::int64_t blobs, std::uint64_t seed, std::int64_t pad = 0) {
  Data x;
  x.n = n;
  x.d = d;
  x.stride = d + pad;
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> noise(0.0, 0.05);
  std::uniform_real_distribution<double> uni(-1.0, 1.0);
  std::vector<double> centres(std::max<std::int64_t>(blobs, 1) * d);
  for (auto& c : centres) c = 4.0 * uni(gen);
  x.values.assign(n * x.stride, 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t f = 0; f < d; ++f) {
      const double v = blobs > 0 ? centres[(i % blobs) * d + f] + noise(gen) : uni(gen);
      x.values[i * x.stride + f] = double(fkm::to_float(fkm::to_bfloat16(float(v))));
    }
  for (double v : x.values) {
    x.f32.push_back(float(v));
    x.f16.push_back(fkm::to_half(float(v)));
    x.bf16.push_back(fkm::to_bfloat16(float(v)));
  }
  return x;
}

std::unique_ptr<fkm::Problem> bind(BackendKind kind, const fkm::MatrixView& x, Metric metric,
                                   const std::vector<double>* weights = nullptr) {
  fkm::ProblemSpec s;
  s.x = x;
  s.metric = metric;
  if (weights) s.weights = fkm::host_vector(weights->data(), std::int64_t(weights->size()));
  return fkm::select_backend(kind).bind(s);
}

/// K rows of the data (every (n/k)-th point) as fp64 centroids.
std::vector<double> pick_centroids(const Data& x, std::int64_t k) {
  std::vector<double> c(k * x.d);
  for (std::int64_t j = 0; j < k; ++j)
    for (std::int64_t f = 0; f < x.d; ++f) c[j * x.d + f] = x.values[(j * x.n / k) * x.stride + f];
  return c;
}

template <class T>
std::vector<T> labels_of(const fkm::Problem& p) {
  std::vector<T> out(p.n());
  p.get_labels(out.data());
  return out;
}
std::vector<double> distances_of(const fkm::Problem& p) {
  std::vector<double> out(p.n());
  p.get_distances(out.data());
  return out;
}
std::vector<double> centroids_of(const fkm::Problem& p, std::int64_t k) {
  std::vector<double> out(k * p.d());
  p.get_centroids(out.data());
  return out;
}

/// One assign + accumulate + update on both problems. Where the labels agree the distances
/// must be the same bits; a label may differ only at a near-tie of fp32 scores. Returns whether
/// all labels agreed (then the centroids must be the same bits too; checked here).
bool lloyd_step_matches(fkm::Problem& kk, fkm::Problem& ref, std::int64_t k, DType dtype) {
  const double inertia_k = kk.assign(), inertia_r = ref.assign();
  const auto lk = labels_of<std::int32_t>(kk), lr = labels_of<std::int32_t>(ref);
  const auto dk = distances_of(kk), dr = distances_of(ref);
  bool same = true;
  for (std::int64_t i = 0; i < kk.n(); ++i) {
    REQUIRE(lk[i] >= 0);
    REQUIRE(lk[i] < k);
    if (lk[i] == lr[i]) {
      REQUIRE(dk[i] == dr[i]);
      continue;
    }
    same = false;
    // Near-tie: the Kokkos label's exact distance is within the fp32 score error of the best.
    REQUIRE(dtype != DType::F64);
    REQUIRE(dk[i] - dr[i] <= 1e-4 * (1.0 + std::abs(dr[i])));
  }
  REQUIRE(inertia_k == Approx(inertia_r).epsilon(1e-9).margin(1e-12));
  kk.accumulate();
  ref.accumulate();
  const auto ek = kk.update(), er = ref.update();
  if (same) {
    REQUIRE(ek == er);
    REQUIRE(centroids_of(kk, k) == centroids_of(ref, k));
    REQUIRE(kk.shift() == Approx(ref.shift()).epsilon(1e-9).margin(1e-300));
  }
  return same;
}

/// run() must throw an fkm::Error with this code and a message containing `needle`.
template <class Run>
void require_error(fkm::ErrorCode code, const std::string& needle, const Run& run) {
  try {
    run();
    FAIL("no fkm::Error; expected one containing '" << needle << "'");
  } catch (const fkm::Error& e) {
    REQUIRE(e.code() == code);
    REQUIRE(std::string(e.what()).find(needle) != std::string::npos);
  }
}

const DType kDtypes[] = {DType::F64, DType::F32, DType::F16, DType::BF16};
const Metric kMetrics[] = {Metric::L2, Metric::Cosine, Metric::InnerProduct};

}  // namespace

TEST_CASE("kokkos backend is compiled in and selectable", "[kokkos]") {
  bool listed = false;
  for (const auto& b : fkm::list_backends())
    if (b.kind == BackendKind::Kokkos) {
      listed = true;
      REQUIRE(b.compiled);
      REQUIRE(b.cmake_option == "FKM_ENABLE_KOKKOS");
      REQUIRE_FALSE(b.devices.empty());
      REQUIRE(b.devices[0].name.find("Kokkos") != std::string::npos);
    }
  REQUIRE(listed);
  REQUIRE(fkm::select_backend(BackendKind::Kokkos).name() == "kokkos");
  // Auto prefers the CPU backend to Kokkos on a host execution space.
  bool cpu_compiled = false;
  for (const auto& b : fkm::list_backends()) cpu_compiled = cpu_compiled || (b.kind == BackendKind::Cpu && b.compiled);
  if (!fkm::select_backend(BackendKind::Kokkos).accepts(fkm::MemorySpace::Device)) {
    REQUIRE(fkm::select_backend(BackendKind::Auto).kind() == (cpu_compiled ? BackendKind::Cpu : BackendKind::Kokkos));
  } else {
    REQUIRE(fkm::select_backend(BackendKind::Auto, fkm::MemorySpace::Device).kind() != BackendKind::Reference);
  }
}

TEST_CASE("kokkos Lloyd steps equal the reference (odd sizes, every dtype and metric)", "[kokkos]") {
  struct Shape {
    std::int64_t n, d, k, blobs, pad;
  };
  // Not multiples of any tile; K = 1; K = N; D = 1; a large D; strided rows.
  const Shape shapes[] = {{597, 43, 37, 37, 0}, {131, 7, 1, 3, 0},   {65, 5, 65, 65, 3},
                          {300, 1, 9, 9, 0},    {70, 2100, 5, 5, 0}, {1029, 19, 130, 130, 2}};
  for (const Shape& s : shapes)
    for (DType t : kDtypes)
      for (Metric m : kMetrics) {
        CAPTURE(s.n, s.d, s.k, fkm::to_string(t), fkm::to_string(m));
        const Data x = make_data(s.n, s.d, s.blobs, 7 + s.n);
        auto kk = bind(BackendKind::Kokkos, x.view(t), m);
        auto ref = bind(BackendKind::Reference, x.view(DType::F64), m);
        const auto c0 = pick_centroids(x, s.k);
        kk->set_centroids(c0.data(), s.k);
        ref->set_centroids(c0.data(), s.k);
        REQUIRE(centroids_of(*kk, s.k) == centroids_of(*ref, s.k));
        for (int step = 0; step < 3; ++step) REQUIRE(lloyd_step_matches(*kk, *ref, s.k, t));
      }
}

TEST_CASE("kokkos labels on uniform data differ from fp64 only at near-ties", "[kokkos]") {
  const Data x = make_data(1001, 33, 0, 11);
  for (DType t : kDtypes)
    for (Metric m : kMetrics) {
      CAPTURE(fkm::to_string(t), fkm::to_string(m));
      auto kk = bind(BackendKind::Kokkos, x.view(t), m);
      auto ref = bind(BackendKind::Reference, x.view(DType::F64), m);
      const auto c0 = pick_centroids(x, 100);
      kk->set_centroids(c0.data(), 100);
      ref->set_centroids(c0.data(), 100);
      lloyd_step_matches(*kk, *ref, 100, t);
    }
}

namespace {

/// x's values times 2^e, rounded to what bf16 holds (fp32 subnormals keep fewer bits), so that
/// fp64, fp32 and bf16 again store the same numbers (fp16 cannot hold them: left empty).
Data scaled(const Data& x, int e) {
  Data out = x;
  out.f32.clear();
  out.f16.clear();
  out.bf16.clear();
  for (double& v : out.values) {
    v = double(fkm::to_float(fkm::to_bfloat16(float(std::ldexp(v, e)))));
    out.f32.push_back(float(v));
    out.bf16.push_back(fkm::to_bfloat16(float(v)));
  }
  return out;
}

}  // namespace

// fp32 squares overflow beyond ~2^64 and underflow below ~2^-75 (subnormal fp32 data lies
// below 2^-126): the kernel scale keeps fp32 scores finite and exact, so the labels of
// well-separated blobs are the reference's and the fp64 distances its bits.
TEST_CASE("kokkos kernel scale: data around 2^70, 2^-90 and fp32 subnormals, centroids far beyond the data", "[kokkos][magnitudes]") {
  const Data base = make_data(777, 9, 11, 31, 1);
  for (const int e : {70, 100, -90, -129}) {
    const Data x = scaled(base, e);
    double largest = 0;
    for (double v : x.values) largest = std::max(largest, std::abs(v));
    // As meant: the largest magnitude is 2^(e+1)..2^(e+3) (for e = -129 every value is subnormal).
    REQUIRE(largest >= std::ldexp(1.0, e + 1));
    REQUIRE(largest < std::ldexp(1.0, e + 3));
    for (DType t : {DType::F64, DType::F32, DType::BF16})
      for (Metric m : kMetrics) {
        CAPTURE(e, fkm::to_string(t), fkm::to_string(m));
        auto kk = bind(BackendKind::Kokkos, x.view(t), m);
        auto ref = bind(BackendKind::Reference, x.view(DType::F64), m);
        const auto c0 = pick_centroids(x, 11);
        kk->set_centroids(c0.data(), 11);
        ref->set_centroids(c0.data(), 11);
        for (int step = 0; step < 2; ++step) REQUIRE(lloyd_step_matches(*kk, *ref, 11, t));
      }
  }
  // Data of ordinary size, every given centroid around 2^70: unscaled, every ||c||^2 is +inf
  // in fp32 and no centroid could win. The nearest is then the one of smallest norm.
  const Data x = make_data(501, 6, 7, 41);
  auto far = pick_centroids(x, 7);
  for (std::size_t q = 0; q < far.size(); ++q) far[q] = std::ldexp(far[q] + (q % 3 == 0 ? 9.0 : -9.0), 70);
  for (DType t : {DType::F32, DType::F16, DType::BF16}) {
    CAPTURE(fkm::to_string(t));
    auto kk = bind(BackendKind::Kokkos, x.view(t), Metric::L2);
    auto ref = bind(BackendKind::Reference, x.view(DType::F64), Metric::L2);
    kk->set_centroids(far.data(), 7);
    ref->set_centroids(far.data(), 7);
    for (int step = 0; step < 2; ++step) REQUIRE(lloyd_step_matches(*kk, *ref, 7, t));
  }
}

TEST_CASE("kokkos ties go to the lower index; duplicates and all-equal points", "[kokkos]") {
  // All points equal and all centroids equal: every label is 0, every other cluster is empty.
  std::vector<float> same(50 * 3, 1.5f);
  std::vector<double> c(4 * 3, 1.5);
  auto kk = bind(BackendKind::Kokkos, fkm::host_view(same.data(), 50, 3), Metric::L2);
  kk->set_centroids(c.data(), 4);
  REQUIRE(kk->assign() == 0.0);
  for (auto l : labels_of<std::int32_t>(*kk)) REQUIRE(l == 0);
  kk->accumulate();
  REQUIRE(kk->update() == std::vector<std::int64_t>{1, 2, 3});
  // The farthest points: all at distance 0, so the lowest indices.
  REQUIRE(kk->farthest_points(3) == std::vector<std::int64_t>{0, 1, 2});
}

TEST_CASE("kokkos weights: zeros, fp32 and fp64, sums equal the reference", "[kokkos]") {
  const Data x = make_data(403, 11, 6, 3);
  std::vector<double> w(403);
  std::mt19937_64 gen(5);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = i % 7 == 0 ? 0.0 : std::uniform_real_distribution<double>(0.1, 3)(gen);
  auto kk = bind(BackendKind::Kokkos, x.view(DType::F32), Metric::L2, &w);
  auto ref = bind(BackendKind::Reference, x.view(DType::F64), Metric::L2, &w);
  REQUIRE(kk->total_weight() == Approx(ref->total_weight()).epsilon(1e-12));
  REQUIRE(kk->check_values().positive_weights == ref->check_values().positive_weights);
  const auto c0 = pick_centroids(x, 6);
  kk->set_centroids(c0.data(), 6);
  ref->set_centroids(c0.data(), 6);
  REQUIRE(lloyd_step_matches(*kk, *ref, 6, DType::F32));
  // Zero-weight points are never the farthest.
  for (auto i : kk->farthest_points(50)) REQUIRE(w[i] > 0);
  REQUIRE(kk->farthest_points(50) == ref->farthest_points(50));
}

TEST_CASE("kokkos init primitives agree with the reference", "[kokkos]") {
  const Data x = make_data(2500, 9, 12, 21, 1);  // > 2 blocks of the ordered sums; strided
  std::vector<double> w(x.n);
  for (std::int64_t i = 0; i < x.n; ++i) w[i] = 0.5 + double(i % 5);
  for (Metric m : kMetrics) {
    CAPTURE(fkm::to_string(m));
    auto kk = bind(BackendKind::Kokkos, x.view(DType::F64), m, &w);
    auto ref = bind(BackendKind::Reference, x.view(DType::F64), m, &w);
    REQUIRE(kk->mean_variance() == Approx(ref->mean_variance()).epsilon(1e-12));
    const auto c = pick_centroids(x, 12);
    REQUIRE(kk->update_nearest(c.data(), 3, true, 0) == Approx(ref->update_nearest(c.data(), 3, true, 0)).epsilon(1e-12));
    REQUIRE(kk->update_nearest(c.data() + 3 * x.d, 9, false, 3) ==
            Approx(ref->update_nearest(c.data() + 3 * x.d, 9, false, 3)).epsilon(1e-12));
    REQUIRE(distances_of(*kk) == distances_of(*ref));
    REQUIRE(labels_of<std::int32_t>(*kk) == labels_of<std::int32_t>(*ref));
    // Weight per label: index-order sums, the same bits; labels >= m are left out.
    for (std::int64_t m : {12, 5}) {
      std::vector<double> nk(m), nr(m);
      kk->label_weights(m, nk.data());
      ref->label_weights(m, nr.data());
      REQUIRE(nk == nr);
    }

    std::vector<double> pk(4), pr(4);
    kk->potentials(c.data(), 4, pk.data());
    ref->potentials(c.data(), 4, pr.data());
    for (int j = 0; j < 4; ++j) REQUIRE(pk[j] == Approx(pr[j]).epsilon(1e-12));

    const double total = ref->update_nearest(c.data(), 12, true, 0);
    kk->update_nearest(c.data(), 12, true, 0);
    std::vector<double> targets = {0.0, 0.3 * total, 0.77 * total, 0.999 * total, 2 * total};
    for (bool by_weight : {false, true}) {
      std::vector<std::int64_t> sk(targets.size()), sr(targets.size());
      kk->sample(targets.data(), std::int64_t(targets.size()), by_weight, sk.data());
      ref->sample(targets.data(), std::int64_t(targets.size()), by_weight, sr.data());
      REQUIRE(sk == sr);
    }
    REQUIRE(kk->sample_independent(40.0, total, 99) == ref->sample_independent(40.0, total, 99));

    const std::vector<std::int64_t> idx = {0, 2499, 17, 17, 1024};
    std::vector<double> gk(idx.size() * x.d), gr(idx.size() * x.d);
    kk->gather_rows(idx.data(), std::int64_t(idx.size()), gk.data());
    ref->gather_rows(idx.data(), std::int64_t(idx.size()), gr.data());
    REQUIRE(gk == gr);

    REQUIRE(kk->farthest_points(7) == ref->farthest_points(7));

    const std::vector<std::int64_t> ids = {4, 0};
    const std::vector<double> rows(2 * x.d, 0.25);
    kk->set_centroids(c.data(), 12);
    ref->set_centroids(c.data(), 12);
    kk->replace_centroids(ids.data(), 2, rows.data());
    ref->replace_centroids(ids.data(), 2, rows.data());
    REQUIRE(centroids_of(*kk, 12) == centroids_of(*ref, 12));
  }
}

TEST_CASE("kokkos finds the first non-finite value and bad weight, as the reference", "[kokkos]") {
  Data x = make_data(3000, 4, 2, 1);
  x.values[2100 * 4 + 3] = std::numeric_limits<double>::quiet_NaN();
  x.values[2900 * 4 + 1] = std::numeric_limits<double>::infinity();
  std::vector<double> w(3000, 1.0);
  w[2500] = -1.0;
  auto kk = bind(BackendKind::Kokkos, x.view(DType::F64), Metric::L2, &w);
  REQUIRE(kk->check_values().bad_row == 2100);
  REQUIRE(kk->check_values().bad_col == 3);
  REQUIRE_FALSE(kk->check_values().in_weights);
  w[1000] = std::numeric_limits<double>::infinity();
  kk = bind(BackendKind::Kokkos, x.view(DType::F64), Metric::L2, &w);
  REQUIRE(kk->check_values().bad_row == 1000);
  REQUIRE(kk->check_values().in_weights);
  // Through the public API: an fkm::Error naming the row.
  fkm::KMeansParams p;
  p.k = 2;
  p.backend = BackendKind::Kokkos;
  require_error(fkm::ErrorCode::InvalidData, "row 2100", [&] { fkm::fit(x.view(DType::F64), p); });
}

TEST_CASE("kokkos fits equal the reference's and are bitwise deterministic", "[kokkos]") {
  const Data x = make_data(1500, 13, 21, 8);
  const auto given = pick_centroids(x, 21);
  // Seeded inits draw from w * dist, which has no meaning for the inner product's negative
  // "distances" (there the draws follow each backend's prefix sums); it starts from given
  // centroids instead.
  for (fkm::Init init : {fkm::Init::KMeansPlusPlus, fkm::Init::Random, fkm::Init::KMeansParallel, fkm::Init::Given})
    for (Metric m : kMetrics) {
      if (m == Metric::InnerProduct && init != fkm::Init::Given) continue;
      CAPTURE(fkm::to_string(init), fkm::to_string(m));
      fkm::KMeansParams p;
      p.k = 21;
      p.init = init;
      p.initial_centroids = fkm::host_view(given.data(), 21, 13);
      p.metric = m;
      p.max_iter = 20;
      p.seed = 3;
      p.backend = BackendKind::Kokkos;
      const auto a = fkm::fit(x.view(DType::F64), p);
      const auto b = fkm::fit(x.view(DType::F64), p);
      REQUIRE(a.backend == "kokkos");
      REQUIRE(a.centroids == b.centroids);
      REQUIRE(a.labels == b.labels);
      REQUIRE(a.inertia == b.inertia);
      p.backend = BackendKind::Reference;
      const auto r = fkm::fit(x.view(DType::F64), p);
      REQUIRE(a.labels == r.labels);
      REQUIRE(a.n_iter == r.n_iter);
      for (std::size_t q = 0; q < r.centroids.size(); ++q) REQUIRE(a.centroids[q] == Approx(r.centroids[q]).margin(1e-12));
      REQUIRE(a.inertia == Approx(r.inertia).epsilon(1e-10));
    }
}

namespace {

/// Fixed-point formats of accumulate_fixed: the distributed layer's own (the finest grid on which
/// no term exceeds 2^62: large totals, carries into the high word), a grid of 1/8 (many exact
/// ties between two grid points, for the rounding to even) and a grid of 4 (most terms round
/// to 0 or +-1).
std::vector<fkm::FixedPointFormat> fixed_formats(const Data& x, const std::vector<double>& w) {
  const double wmax = *std::max_element(w.begin(), w.end());
  fkm::FixedPointFormat finest;
  for (std::int64_t f = 0; f < x.d; ++f) {
    double mx = 1.0;  // >= 1: rows normalised for cosine stay within it
    for (std::int64_t i = 0; i < x.n; ++i) mx = std::max(mx, std::abs(x.values[i * x.stride + f]));
    finest.exponent.push_back(std::ilogb(wmax * mx) - 61);  // wmax * mx * 2^-e < 2^62
  }
  finest.weight_exponent = std::ilogb(wmax) - 61;
  fkm::FixedPointFormat ties{std::vector<int>(x.d, -3), -3}, coarse{std::vector<int>(x.d, 2), 2};
  return {finest, ties, coarse};
}

std::vector<fkm::FixedSum> fixed_sums_of(const fkm::Problem& p, const fkm::FixedPointFormat& format, std::int64_t k,
                                         std::vector<fkm::FixedSum>& weights) {
  std::vector<fkm::FixedSum> sums(k * p.d());
  weights.assign(k, fkm::FixedSum{});
  p.accumulate_fixed(format, sums.data(), weights.data());
  return sums;
}

bool same_fixed(const std::vector<fkm::FixedSum>& a, const std::vector<fkm::FixedSum>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t t = 0; t < a.size(); ++t)
    if (a[t].lo != b[t].lo || a[t].hi != b[t].hi) return false;
  return true;
}

}  // namespace

TEST_CASE("kokkos accumulate_fixed gives the reference's integers (every dtype, metric and grid)", "[kokkos]") {
  struct Shape {
    std::int64_t n, d, k, blobs, pad;
  };
  const Shape shapes[] = {{597, 43, 37, 37, 0}, {131, 7, 1, 3, 2}, {65, 5, 65, 65, 0}, {1029, 19, 130, 130, 1}};
  bool some_high_words = false;  // some total needs more than 64 bits: the carries were used
  for (const Shape& s : shapes) {
    const Data x = make_data(s.n, s.d, s.blobs, 5 + s.n, s.pad);
    std::vector<double> w(s.n);
    for (std::int64_t i = 0; i < s.n; ++i) w[i] = i % 7 == 3 ? 0.0 : 0.25 + double((i * 37) % 11) * 0.375;
    for (DType t : kDtypes)
      for (Metric m : kMetrics) {
        CAPTURE(s.n, s.d, s.k, fkm::to_string(t), fkm::to_string(m));
        auto kk = bind(BackendKind::Kokkos, x.view(t), m, &w);
        auto ref = bind(BackendKind::Reference, x.view(DType::F64), m, &w);
        const auto c0 = pick_centroids(x, s.k);
        kk->set_centroids(c0.data(), s.k);
        ref->set_centroids(c0.data(), s.k);
        kk->assign();
        ref->assign();
        // The integers are compared where both backends put every point in the same cluster
        // (always for fp64 data; fp32 scores may break a near-tie the other way).
        if (labels_of<std::int32_t>(*kk) != labels_of<std::int32_t>(*ref)) {
          REQUIRE(t != DType::F64);
          continue;
        }
        for (const auto& format : fixed_formats(x, w)) {
          std::vector<fkm::FixedSum> wk, wr;
          const auto sk = fixed_sums_of(*kk, format, s.k, wk), sr = fixed_sums_of(*ref, format, s.k, wr);
          REQUIRE(same_fixed(sk, sr));
          REQUIRE(same_fixed(wk, wr));
          for (const auto& v : sk) some_high_words = some_high_words || (v.hi != 0 && v.hi != -1);
        }
      }
  }
  CHECK(some_high_words);
}

TEST_CASE("kokkos accumulate_fixed: order-free, leaves accumulate's sums alone, checks the format", "[kokkos]") {
  const Data x = make_data(2500, 9, 12, 21, 1);
  std::vector<double> w(x.n, 1.0);
  auto kk = bind(BackendKind::Kokkos, x.view(DType::F32), Metric::L2, &w);
  const auto c0 = pick_centroids(x, 12);
  kk->set_centroids(c0.data(), 12);
  kk->assign();
  const fkm::FixedPointFormat format = fixed_formats(x, w)[0];
  std::vector<fkm::FixedSum> w1, w2;
  const auto s1 = fixed_sums_of(*kk, format, 12, w1);
  // The same rows in reverse order (a problem of its own) give the same integers per cluster.
  Data reversed = x;
  for (std::int64_t i = 0; i < x.n; ++i)
    for (std::int64_t f = 0; f < x.stride; ++f) reversed.f32[i * x.stride + f] = x.f32[(x.n - 1 - i) * x.stride + f];
  auto back = bind(BackendKind::Kokkos, reversed.view(DType::F32), Metric::L2, &w);
  back->set_centroids(c0.data(), 12);
  back->assign();
  REQUIRE(same_fixed(fixed_sums_of(*back, format, 12, w2), s1));
  REQUIRE(same_fixed(w2, w1));
  // The fp64 sums that update() uses are accumulate()'s, whatever accumulate_fixed did in between.
  auto plain = bind(BackendKind::Kokkos, x.view(DType::F32), Metric::L2, &w);
  plain->set_centroids(c0.data(), 12);
  plain->assign();
  plain->accumulate();
  plain->update();
  kk->accumulate();
  fixed_sums_of(*kk, fixed_formats(x, w)[2], 12, w2);
  kk->update();
  REQUIRE(centroids_of(*kk, 12) == centroids_of(*plain, 12));
  // A format for another number of features is refused, naming both numbers.
  fkm::FixedPointFormat wrong{std::vector<int>(8, 0), 0};
  std::vector<fkm::FixedSum> sums(12 * 9), weights(12);
  require_error(fkm::ErrorCode::InvalidArgument, "8 exponents for 9 features",
                [&] { kk->accumulate_fixed(wrong, sums.data(), weights.data()); });
}

TEST_CASE("kokkos update_from gives the reference's centroids and empties", "[kokkos]") {
  const Data x = make_data(403, 11, 6, 3);
  std::mt19937_64 gen(9);
  std::uniform_real_distribution<double> u(-50, 50);
  for (Metric m : kMetrics) {
    CAPTURE(fkm::to_string(m));
    auto kk = bind(BackendKind::Kokkos, x.view(DType::F64), m);
    auto ref = bind(BackendKind::Reference, x.view(DType::F64), m);
    const auto c0 = pick_centroids(x, 6);
    kk->set_centroids(c0.data(), 6);
    ref->set_centroids(c0.data(), 6);
    kk->assign();
    ref->assign();
    kk->accumulate();
    ref->accumulate();
    // Given totals (as the distributed layer passes them), clusters 1 and 4 empty.
    std::vector<double> sums(6 * 11), weights = {3.5, 0.0, 1.0, 17.25, 0.0, 0.125};
    for (auto& v : sums) v = u(gen);
    REQUIRE(kk->update_from(sums.data(), weights.data()) == std::vector<std::int64_t>{1, 4});
    REQUIRE(ref->update_from(sums.data(), weights.data()) == std::vector<std::int64_t>{1, 4});
    REQUIRE(centroids_of(*kk, 6) == centroids_of(*ref, 6));
    REQUIRE(kk->shift() == ref->shift());
    // update() still uses accumulate()'s own sums: the given ones were not kept.
    REQUIRE(kk->update() == ref->update());
    REQUIRE(centroids_of(*kk, 6) == centroids_of(*ref, 6));
  }
}

TEST_CASE("kokkos binds a shard with no rows (a process of a distributed fit)", "[kokkos]") {
  std::vector<float> none(4, 0.0f);
  for (std::int64_t stride : {3, 4}) {
    auto kk = bind(BackendKind::Kokkos, fkm::host_view(none.data(), 0, 3, stride), Metric::L2);
    REQUIRE(kk->n() == 0);
    REQUIRE(kk->check_values().bad_row < 0);
    REQUIRE(kk->check_values().positive_weights == 0);
    const std::vector<double> c = {1, 2, 3, 4, 5, 6};
    kk->set_centroids(c.data(), 2);
    REQUIRE(kk->assign() == 0.0);
    std::vector<fkm::FixedSum> sums(2 * 3, fkm::FixedSum{7, 7}), weights(2, fkm::FixedSum{7, 7});
    kk->accumulate_fixed(fkm::FixedPointFormat{{-10, -10, -10}, -10}, sums.data(), weights.data());
    REQUIRE(same_fixed(sums, std::vector<fkm::FixedSum>(6)));
    REQUIRE(same_fixed(weights, std::vector<fkm::FixedSum>(2)));
    const std::vector<double> zero_weights(2, 0.0), zero_sums(6, 0.0);
    REQUIRE(kk->update_from(zero_sums.data(), zero_weights.data()) == std::vector<std::int64_t>{0, 1});
    REQUIRE(centroids_of(*kk, 2) == c);
    REQUIRE(kk->update_nearest(c.data(), 2, true, 0) == 0.0);
    REQUIRE(kk->farthest_points(2).empty());
    REQUIRE(kk->sample_independent(2.0, 1.0, 5).empty());
  }
}

TEST_CASE("kokkos label sort: both methods give the unique stable order", "[kokkos]") {
  using namespace fkm::kokkos;
  ensure_initialized();
  for (Index n : {0, 1, 257, 5000}) {  // 0: the empty shard of a distributed fit
    for (Index m : {1, 7, 300}) {
      CAPTURE(n, m);
      std::vector<std::int32_t> host(n);
      std::mt19937 gen(std::uint32_t(n * 31 + m));
      for (auto& l : host) l = std::int32_t(gen() % std::uint32_t(m + 3));  // some labels >= m
      const auto labels = to_device("labels", host.data(), n);
      // Expected: indices by bucket (labels >= m share bucket m), index order inside.
      std::vector<Index> expected(n);
      for (Index i = 0; i < n; ++i) expected[i] = i;
      std::stable_sort(expected.begin(), expected.end(), [&](Index a, Index b) {
        return std::min<Index>(host[a], m) < std::min<Index>(host[b], m);
      });
      for (auto method : {LabelSorter::Method::BlockCounting, LabelSorter::Method::Keys}) {
        LabelSorter sorter(method);
        for (int repeat = 0; repeat < 2; ++repeat) {  // buffers reused on the second call
          const ClusterOrder& g = sorter.sort(labels, n, m);
          auto order = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.order);
          auto start = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.start);
          REQUIRE(std::vector<Index>(order.data(), order.data() + n) == expected);
          REQUIRE(start(0) == 0);
          REQUIRE(start(m + 1) == n);
          for (Index j = 0; j <= m; ++j)
            for (Index p = start(j); p < start(j + 1); ++p) REQUIRE(std::min<Index>(host[order(p)], m) == j);
        }
      }
    }
  }
}

namespace {

/// A copy of host bytes in Kokkos' memory space (device memory on a GPU space).
Kokkos::View<unsigned char*, fkm::kokkos::MemSpace> device_copy(const void* host, std::size_t bytes) {
  Kokkos::View<unsigned char*, fkm::kokkos::MemSpace> out("test::device_copy", bytes);
  Kokkos::deep_copy(out, Kokkos::View<const unsigned char*, Kokkos::HostSpace>(static_cast<const unsigned char*>(host), bytes));
  return out;
}

}  // namespace

TEST_CASE("kokkos device views: viewed in place, the bits of host views; bad device pointers are errors", "[kokkos][device]") {
  using fkm::MemorySpace;
  fkm::kokkos::ensure_initialized();
  const fkm::Backend& kokkos = fkm::select_backend(BackendKind::Kokkos);
  if (!kokkos.accepts(MemorySpace::Device)) {  // a host execution space: refused up front
    require_error(fkm::ErrorCode::Unsupported, "device memory", [] { fkm::select_backend(BackendKind::Kokkos, MemorySpace::Device); });
    return;
  }
  const int device = fkm::kokkos::device_ordinal();
  const Data x = make_data(1029, 19, 130, 5, 3);  // strided rows: viewed with their stride
  std::vector<float> w(x.n);
  for (std::int64_t i = 0; i < x.n; ++i) w[i] = i % 11 == 0 ? 0.0f : 0.5f + float(i % 7);
  const auto dev_w = device_copy(w.data(), w.size() * sizeof(float));
  for (DType t : kDtypes)
    for (Metric m : {Metric::L2, Metric::Cosine}) {
      CAPTURE(fkm::to_string(t), fkm::to_string(m));
      const fkm::MatrixView host = x.view(t);
      const auto dev_x = device_copy(host.data, fkm::size_of(t) * std::size_t(x.n * x.stride));
      fkm::MatrixView on_device = host;
      on_device.data = dev_x.data();
      on_device.space = MemorySpace::Device;
      on_device.device = device;
      fkm::ProblemSpec hs, ds;
      hs.x = host;
      hs.metric = m;
      hs.weights = fkm::host_vector(w.data(), x.n);
      ds = hs;
      ds.x = on_device;
      ds.weights = fkm::VectorView{dev_w.data(), x.n, DType::F32, MemorySpace::Device, device};
      auto from_host = kokkos.bind(hs);
      auto from_device = fkm::select_backend(BackendKind::Kokkos, MemorySpace::Device).bind(ds);
      const auto c0 = pick_centroids(x, 130);
      from_host->set_centroids(c0.data(), 130);
      from_device->set_centroids(c0.data(), 130);
      REQUIRE(from_device->total_weight() == from_host->total_weight());
      for (int step = 0; step < 3; ++step) {
        REQUIRE(from_device->assign() == from_host->assign());
        REQUIRE(labels_of<std::int32_t>(*from_device) == labels_of<std::int32_t>(*from_host));
        REQUIRE(distances_of(*from_device) == distances_of(*from_host));
        from_host->accumulate();
        from_device->accumulate();
        REQUIRE(from_device->update() == from_host->update());
        REQUIRE(centroids_of(*from_device, 130) == centroids_of(*from_host, 130));
      }
    }
  // The public API on device views: the same result as on host views.
  fkm::KMeansParams p;
  p.k = 37;
  p.seed = 11;
  p.max_iter = 10;
  p.backend = BackendKind::Kokkos;
  const auto dev_x = device_copy(x.f32.data(), x.f32.size() * sizeof(float));
  const auto on_host = fkm::fit(x.view(DType::F32), p);
  const auto on_device = fkm::fit(fkm::device_view(static_cast<const float*>(static_cast<const void*>(dev_x.data())), x.n, x.d,
                                                   device, x.stride),
                                  p);
  REQUIRE(on_device.labels == on_host.labels);
  REQUIRE(on_device.centroids == on_host.centroids);
  REQUIRE(on_device.inertia == on_host.inertia);
#if defined(KOKKOS_ENABLE_CUDA)
  // Kokkos-Cuda checks the pointer: host memory, or a view naming another device, is an error.
  fkm::ProblemSpec bad;
  bad.x = x.view(DType::F32);
  bad.x.space = MemorySpace::Device;
  bad.x.device = device;
  const fkm::Backend& for_device = fkm::select_backend(BackendKind::Kokkos, MemorySpace::Device);
  require_error(fkm::ErrorCode::InvalidData, "not device memory", [&] { for_device.bind(bad); });
  bad.x.data = dev_x.data();
  bad.x.device = device + 1;
  require_error(fkm::ErrorCode::InvalidData, "says device", [&] { for_device.bind(bad); });
  bad.x.device = device;
  bad.weights = fkm::host_vector(w.data(), x.n);
  bad.weights.space = MemorySpace::Device;
  bad.weights.device = device;
  require_error(fkm::ErrorCode::InvalidData, "weights is not device memory", [&] { for_device.bind(bad); });
#endif
}

TEST_CASE("kokkos GPU assignment schedules (registers, scratch) give the same bits", "[kokkos][device]") {
  if (fkm::select_backend(BackendKind::Kokkos).accepts(fkm::MemorySpace::Host) &&
      !fkm::select_backend(BackendKind::Kokkos).accepts(fkm::MemorySpace::Device))
    return;  // host execution spaces have one schedule
  struct Shape {
    std::int64_t n, d, k;
  };
  const Shape shapes[] = {{597, 43, 37}, {131, 7, 1}, {65, 5, 65}, {1029, 130, 300}, {300, 1, 9}};
  for (const Shape& s : shapes)
    for (DType t : kDtypes)
      for (Metric m : kMetrics) {
        CAPTURE(s.n, s.d, s.k, fkm::to_string(t), fkm::to_string(m));
        const Data x = make_data(s.n, s.d, s.k, 3 + s.n);
        auto kk = bind(BackendKind::Kokkos, x.view(t), m);
        const auto c0 = pick_centroids(x, s.k);
        kk->set_centroids(c0.data(), s.k);
        ::unsetenv("FKM_KOKKOS_ASSIGN");
        const double registers = kk->assign();
        const auto labels = labels_of<std::int32_t>(*kk);
        const auto dist = distances_of(*kk);
        ::setenv("FKM_KOKKOS_ASSIGN", "scratch", 1);
        const double scratch = kk->assign();
        ::unsetenv("FKM_KOKKOS_ASSIGN");
        REQUIRE(labels_of<std::int32_t>(*kk) == labels);
        REQUIRE(distances_of(*kk) == dist);
        REQUIRE(scratch == registers);
      }
}
