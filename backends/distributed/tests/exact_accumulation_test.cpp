// The two Problem calls of distributed fits, on every compiled backend that has a device,
// against the fp64 reference backend: accumulate_fixed must give the reference's integers bit
// for bit (every dtype, metric and grid), and update_from the reference's centroids and empty
// clusters bit for bit. Then a distributed fit gives the same sums on any mix of these backends'
// shards, and the CUDA backend's GPU sums are those of the CPU. Also the exact inertia a backend
// may sum where its distances are (exact_weighted_distance_sum).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "../exact_sum.hpp"
#include "fkm/backend.hpp"
#include "fkm/fkm.hpp"

namespace {

using fkm::BackendKind;
using fkm::DType;
using fkm::Metric;

constexpr Metric kMetrics[] = {Metric::L2, Metric::Cosine, Metric::InnerProduct};
constexpr DType kDtypes[] = {DType::F64, DType::F32, DType::F16, DType::BF16};

std::vector<BackendKind> backends_under_test() {
  std::vector<BackendKind> out;
  for (const auto& b : fkm::list_backends())
    if (b.compiled && !b.devices.empty() && b.kind != BackendKind::Reference) out.push_back(b.kind);
  return out;
}

/// n x d values in every dtype: blobs around k centres of norm 20 (far apart in angle too, so
/// every backend and precision puts each point in its blob's cluster), stored as bytes; `f64`
/// holds the values the stored dtype rounds them to.
struct Data {
  std::int64_t n, d;
  std::vector<double> centres;  ///< k x d
  std::vector<double> f64;
  std::vector<float> f32;
  std::vector<fkm::half> f16;
  std::vector<fkm::bfloat16> bf16;

  fkm::MatrixView view(DType t) const {
    switch (t) {
      case DType::F32: return fkm::host_view(f32.data(), n, d);
      case DType::F16: return fkm::host_view(f16.data(), n, d);
      case DType::BF16: return fkm::host_view(bf16.data(), n, d);
      case DType::F64: break;
    }
    return fkm::host_view(f64.data(), n, d);
  }
  /// The values as dtype t stores them, widened.
  std::vector<double> rounded(DType t) const {
    std::vector<double> out(f64.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
      switch (t) {
        case DType::F32: out[i] = f32[i]; break;
        case DType::F16: out[i] = fkm::to_float(f16[i]); break;
        case DType::BF16: out[i] = fkm::to_float(bf16[i]); break;
        case DType::F64: out[i] = f64[i]; break;
      }
    }
    return out;
  }
};

Data make_data(std::int64_t n, std::int64_t d, std::int64_t k, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::normal_distribution<double> normal;
  Data x{n, d, {}, std::vector<double>(n * d), {}, {}, {}};
  x.centres.resize(k * d);
  for (std::int64_t j = 0; j < k; ++j) {
    double s = 0;
    for (std::int64_t f = 0; f < d; ++f) s += (x.centres[j * d + f] = normal(g)) * x.centres[j * d + f];
    for (std::int64_t f = 0; f < d; ++f) x.centres[j * d + f] *= d == 1 ? 20.0 * (j + 1) / std::sqrt(s) : 20.0 / std::sqrt(s);
  }
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t f = 0; f < d; ++f) x.f64[i * d + f] = x.centres[(i % k) * d + f] + 0.05 * normal(g);
  for (double v : x.f64) {
    x.f32.push_back(float(v));
    x.f16.push_back(fkm::to_half(float(v)));
    x.bf16.push_back(fkm::to_bfloat16(float(v)));
  }
  return x;
}

std::vector<double> make_weights(std::int64_t n) {
  std::vector<double> w(n);
  for (std::int64_t i = 0; i < n; ++i) w[i] = i % 7 == 3 ? 0.0 : 0.25 + double((i * 37) % 11) * 0.375;
  return w;
}

std::unique_ptr<fkm::Problem> bind(BackendKind kind, const fkm::MatrixView& x, Metric m, const std::vector<double>* w) {
  fkm::ProblemSpec spec;
  spec.x = x;
  if (w) spec.weights = fkm::host_vector(w->data(), std::int64_t(w->size()));
  spec.metric = m;
  spec.num_threads = 2;
  return fkm::select_backend(kind).bind(spec);
}

/// The distributed layer's own grid (the finest on which no term exceeds 2^62: large totals,
/// carries into the high word), a grid of 1/8 (many exact ties between two grid points, for the
/// rounding to even) and a grid of 4 (most terms round to 0 or +-1).
std::vector<fkm::FixedPointFormat> fixed_formats(const std::vector<double>& x, std::int64_t d, const std::vector<double>& w) {
  double wmax = 0;
  for (double v : w) wmax = std::max(wmax, v);
  fkm::FixedPointFormat finest;
  for (std::int64_t f = 0; f < d; ++f) {
    double mx = 1.0;  // >= 1: rows normalised for cosine stay within it
    for (std::size_t i = f; i < x.size(); i += d) mx = std::max(mx, std::abs(x[i]));
    finest.exponent.push_back(std::ilogb(wmax * mx) - 61);  // wmax * mx * 2^-e < 2^62
  }
  finest.weight_exponent = std::ilogb(wmax) - 61;
  fkm::FixedPointFormat ties{std::vector<int>(d, -3), -3}, coarse{std::vector<int>(d, 2), 2};
  return {finest, ties, coarse};
}

std::vector<fkm::FixedSum> fixed_sums_of(const fkm::Problem& p, const fkm::FixedPointFormat& format, std::int64_t k,
                                         std::vector<fkm::FixedSum>& weights) {
  std::vector<fkm::FixedSum> sums(k * p.d(), fkm::FixedSum{7, 7});  // overwritten, every one
  weights.assign(k, fkm::FixedSum{7, 7});
  p.accumulate_fixed(format, sums.data(), weights.data());
  return sums;
}

bool same_fixed(const std::vector<fkm::FixedSum>& a, const std::vector<fkm::FixedSum>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t t = 0; t < a.size(); ++t)
    if (a[t].lo != b[t].lo || a[t].hi != b[t].hi) return false;
  return true;
}

template <class T>
std::vector<T> labels_of(const fkm::Problem& p) {
  std::vector<std::int32_t> l(p.n());
  p.get_labels(l.data());
  return std::vector<T>(l.begin(), l.end());
}

std::vector<double> centroids_of(const fkm::Problem& p, std::int64_t k) {
  std::vector<double> c(k * p.d());
  p.get_centroids(c.data());
  return c;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

}  // namespace

TEST_CASE("accumulate_fixed gives the reference's integers on every backend (every dtype, metric, grid)", "[distributed]") {
  struct Shape {
    std::int64_t n, d, k;
  };
  // Odd sizes, K = 1, K = N, D = 1, clusters of runs longer than a GPU block's chunk, K > D.
  const Shape shapes[] = {{597, 43, 37}, {131, 7, 1}, {65, 5, 65}, {1029, 19, 130}, {300, 1, 3}, {2111, 70, 3}};
  for (const BackendKind kind : backends_under_test()) {
    bool some_high_words = false;  // some total needs more than 64 bits: the carries were used
    std::int64_t compared = 0, skipped = 0;
    for (const Shape& s : shapes) {
      const Data x = make_data(s.n, s.d, s.k, 5 + s.n);
      const std::vector<double> w = make_weights(s.n);
      for (DType t : kDtypes)
        for (Metric m : kMetrics) {
          CAPTURE(fkm::to_string(kind), s.n, s.d, s.k, fkm::to_string(t), fkm::to_string(m));
          const std::vector<double> xr = x.rounded(t);
          auto got = bind(kind, x.view(t), m, &w);
          auto ref = bind(BackendKind::Reference, fkm::host_view(xr.data(), s.n, s.d), m, &w);
          got->set_centroids(x.centres.data(), s.k);
          ref->set_centroids(x.centres.data(), s.k);
          got->assign();
          ref->assign();
          // The integers are compared where both put every point in the same cluster: with these
          // blobs always, except with cosine on one feature (every row is +-1: exact ties).
          if (labels_of<std::int32_t>(*got) != labels_of<std::int32_t>(*ref)) {
            REQUIRE((m == Metric::Cosine && s.d == 1));
            ++skipped;
            continue;
          }
          for (const auto& format : fixed_formats(xr, s.d, w)) {
            std::vector<fkm::FixedSum> wg, wr;
            const auto sg = fixed_sums_of(*got, format, s.k, wg), sr = fixed_sums_of(*ref, format, s.k, wr);
            REQUIRE(same_fixed(sg, sr));
            REQUIRE(same_fixed(wg, wr));
            for (const auto& v : sg) some_high_words = some_high_words || (v.hi != 0 && v.hi != -1);
            ++compared;
          }
        }
    }
    CAPTURE(fkm::to_string(kind), compared, skipped);
    CHECK(some_high_words);
    CHECK(skipped <= 4);
  }
}

TEST_CASE("accumulate_fixed leaves accumulate's sums alone and checks the format", "[distributed]") {
  const Data x = make_data(2500, 9, 12, 21);
  const std::vector<double> w = make_weights(x.n);
  for (const BackendKind kind : backends_under_test()) {
    CAPTURE(fkm::to_string(kind));
    auto a = bind(kind, x.view(DType::F32), Metric::L2, &w);
    auto plain = bind(kind, x.view(DType::F32), Metric::L2, &w);
    for (auto* p : {a.get(), plain.get()}) {
      p->set_centroids(x.centres.data(), 12);
      p->assign();
      p->accumulate();
    }
    std::vector<fkm::FixedSum> weights;
    fixed_sums_of(*a, fixed_formats(x.f64, x.d, w)[2], 12, weights);
    a->update();
    plain->update();
    REQUIRE(same_bits(centroids_of(*a, 12), centroids_of(*plain, 12)));
    // A format for another number of features is refused, naming both numbers.
    fkm::FixedPointFormat wrong{std::vector<int>(8, 0), 0};
    std::vector<fkm::FixedSum> sums(12 * 9), ws(12);
    try {
      a->accumulate_fixed(wrong, sums.data(), ws.data());
      FAIL("a format of 8 exponents for 9 features was accepted");
    } catch (const fkm::Error& e) {
      CHECK(e.code() == fkm::ErrorCode::InvalidArgument);
      CHECK(std::string(e.what()).find("8 exponents for 9 features") != std::string::npos);
    }
  }
}

TEST_CASE("update_from gives the reference's centroids and empty clusters on every backend", "[distributed]") {
  for (const std::int64_t d : {11, 1, 300}) {
    const std::int64_t k = 6;
    const Data x = make_data(403, d, k, 3);
    std::mt19937_64 gen(9);
    std::uniform_real_distribution<double> u(-50, 50);
    for (const BackendKind kind : backends_under_test())
      for (Metric m : kMetrics) {
        CAPTURE(fkm::to_string(kind), fkm::to_string(m), d);
        auto got = bind(kind, x.view(DType::F64), m, nullptr);
        auto ref = bind(BackendKind::Reference, x.view(DType::F64), m, nullptr);
        for (auto* p : {got.get(), ref.get()}) {
          p->set_centroids(x.centres.data(), k);
          p->assign();
          p->accumulate();
        }
        // Given totals (as the distributed layer passes them), clusters 1 and 4 empty, and a
        // cluster whose sums are all zero (cosine: a zero vector stays zero).
        std::vector<double> sums(k * d), weights = {3.5, 0.0, 1.0, 17.25, 0.0, 0.125};
        for (auto& v : sums) v = u(gen);
        for (std::int64_t f = 0; f < d; ++f) sums[5 * d + f] = 0.0;
        REQUIRE(got->update_from(sums.data(), weights.data()) == std::vector<std::int64_t>{1, 4});
        REQUIRE(ref->update_from(sums.data(), weights.data()) == std::vector<std::int64_t>{1, 4});
        REQUIRE(same_bits(centroids_of(*got, k), centroids_of(*ref, k)));
        CHECK(got->shift() == Approx(ref->shift()).epsilon(1e-12));
        // update() still uses accumulate()'s own sums: the given ones were not kept.
        REQUIRE(got->update() == ref->update());
        const auto cg = centroids_of(*got, k), cr = centroids_of(*ref, k);
        for (std::size_t q = 0; q < cr.size(); ++q) REQUIRE(cg[q] == Approx(cr[q]).epsilon(1e-12).margin(1e-12));
      }
  }
}

TEST_CASE("every backend binds a shard with no rows (a process of a distributed fit)", "[distributed]") {
  std::vector<float> none(4, 0.0f);
  for (const BackendKind kind : backends_under_test())
    for (Metric m : kMetrics) {
      CAPTURE(fkm::to_string(kind), fkm::to_string(m));
      auto p = bind(kind, fkm::host_view(none.data(), 0, 3), m, nullptr);
      REQUIRE(p->n() == 0);
      REQUIRE(p->check_values().bad_row < 0);
      REQUIRE(p->check_values().positive_weights == 0);
      REQUIRE(p->total_weight() == 0.0);
      const std::vector<double> c = {1, 2, 3, 4, 5, 6};
      p->set_centroids(c.data(), 2);
      const auto c0 = centroids_of(*p, 2);
      REQUIRE(p->assign() == 0.0);
      std::vector<fkm::FixedSum> weights;
      const auto sums = fixed_sums_of(*p, fkm::FixedPointFormat{{-10, -10, -10}, -10}, 2, weights);
      REQUIRE(same_fixed(sums, std::vector<fkm::FixedSum>(6)));
      REQUIRE(same_fixed(weights, std::vector<fkm::FixedSum>(2)));
      const std::vector<double> zero_weights(2, 0.0), zero_sums(6, 0.0);
      REQUIRE(p->update_from(zero_sums.data(), zero_weights.data()) == std::vector<std::int64_t>{0, 1});
      REQUIRE(same_bits(centroids_of(*p, 2), c0));
      p->accumulate();
      REQUIRE(p->update() == std::vector<std::int64_t>{0, 1});
      REQUIRE(p->update_nearest(c.data(), 2, true, 0) == 0.0);
      REQUIRE(p->farthest_points(2).empty());
      REQUIRE(p->sample_independent(2.0, 1.0, 5).empty());
      std::vector<double> pot(2, -1.0);
      p->potentials(c.data(), 2, pot.data());
      REQUIRE(pot == std::vector<double>(2, 0.0));
    }
}

TEST_CASE("exact_weighted_distance_sum, where a backend offers it, is the host's exact sum", "[distributed]") {
  const Data x = make_data(3001, 13, 17, 8);
  const std::vector<double> w = make_weights(x.n);
  for (const BackendKind kind : backends_under_test())
    for (Metric m : kMetrics) {
      CAPTURE(fkm::to_string(kind), fkm::to_string(m));
      auto p = bind(kind, x.view(DType::F32), m, &w);
      p->set_centroids(x.centres.data(), 17);
      for (int round = 0; round < 2; ++round) {
        if (round == 0) p->update_nearest(x.centres.data(), 0, true, 0);  // every distance +inf
        else p->assign();
        std::vector<double> dist(x.n);
        p->get_distances(dist.data());
        fkm::detail::ExactSum host, got;
        for (std::int64_t i = 0; i < x.n; ++i)
          if (w[i] != 0) host.add(w[i] * dist[i]);
        if (!p->exact_weighted_distance_sum(got.words())) {
          REQUIRE(kind != BackendKind::Cuda);  // the GPU backend keeps its distances on the device
          for (int q = 0; q < fkm::detail::ExactSum::kWords; ++q) REQUIRE(got.words()[q] == 0);
          continue;
        }
        host.normalise();
        got.normalise();
        REQUIRE(std::memcmp(host.words(), got.words(), fkm::detail::ExactSum::kWords * sizeof(std::int64_t)) == 0);
        const double hv = host.value(), gv = got.value();
        REQUIRE(std::memcmp(&hv, &gv, sizeof(double)) == 0);
      }
    }
}
