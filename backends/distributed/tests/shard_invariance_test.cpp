// What the distributed layer needs from every backend, checked without MPI: a point's label and
// distance do not depend on where it sits in the bound rows (so any split of the rows gives the
// same per-point results), and accumulate_fixed's integer sums over the parts of a split add up
// to the sums over the whole. Runs for every compiled backend that has a device (each has exact
// accumulation: accumulate_fixed and update_from).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "../../../core/src/fixed_point.hpp"
#include "../exact_sum.hpp"
#include "fkm/backend.hpp"
#include "fkm/fkm.hpp"

namespace {

std::vector<fkm::BackendKind> backends() {
  std::vector<fkm::BackendKind> out;
  for (const auto& b : fkm::list_backends())
    if (b.compiled && !b.devices.empty()) out.push_back(b.kind);
  return out;
}

std::unique_ptr<fkm::Problem> bind(fkm::BackendKind kind, const std::vector<float>& x, const std::vector<double>& w,
                                   std::int64_t begin, std::int64_t end, std::int64_t d, fkm::Metric metric, int threads) {
  fkm::ProblemSpec spec;
  spec.x = fkm::host_view(x.data() + begin * d, end - begin, d);
  spec.weights = fkm::host_vector(w.data() + begin, end - begin);
  spec.metric = metric;
  spec.num_threads = threads;
  spec.row_offset = begin;
  return fkm::select_backend(kind).bind(spec);
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

}  // namespace

TEST_CASE("per-point results and fixed-point sums do not depend on how the rows are split", "[distributed]") {
  const std::int64_t n = 517, d = 37, k = 23;
  std::mt19937_64 g(21);
  std::uniform_real_distribution<float> u(-3, 3);
  std::vector<float> x(n * d);
  for (auto& v : x) v = u(g);
  std::vector<double> w(n);
  for (std::int64_t i = 0; i < n; ++i) w[i] = i % 5 == 0 ? 0.0 : 0.5 + (i % 7) * 0.25;
  std::vector<double> c(k * d);
  for (auto& v : c) v = u(g);
  fkm::FixedPointFormat format;
  format.exponent.assign(d, fkm::detail::fixed_exponent(3.0 * 2.0));
  format.weight_exponent = fkm::detail::fixed_exponent(2.0);
  // Parts of 1 row, odd sizes, and one of no rows ([6, 6): a process without rows).
  const std::vector<std::int64_t> cuts = {0, 1, 5, 6, 6, 7, 13, 100, 101, 300, 516, 517};

  for (const fkm::BackendKind kind : backends()) {
    for (const fkm::Metric metric : {fkm::Metric::L2, fkm::Metric::Cosine, fkm::Metric::InnerProduct}) {
      DYNAMIC_SECTION(fkm::to_string(kind) << " " << fkm::to_string(metric)) {
        auto whole = bind(kind, x, w, 0, n, d, metric, 2);
        whole->set_centroids(c.data(), k);
        whole->assign();
        std::vector<std::int32_t> labels(n);
        std::vector<double> dist(n);
        whole->get_labels(labels.data());
        whole->get_distances(dist.data());
        std::vector<fkm::FixedSum> sums(k * d), weights(k);
        whole->accumulate_fixed(format, sums.data(), weights.data());
        std::vector<__int128> parts_sum(k * d, 0), parts_weight(k, 0);

        for (std::size_t s = 0; s + 1 < cuts.size(); ++s) {
          const std::int64_t b = cuts[s], e = cuts[s + 1];
          auto part = bind(kind, x, w, b, e, d, metric, 1 + int(s % 2));
          part->set_centroids(c.data(), k);
          part->assign();
          std::vector<std::int32_t> pl(e - b);
          std::vector<double> pd(e - b);
          part->get_labels(pl.data());
          part->get_distances(pd.data());
          CHECK(std::equal(pl.begin(), pl.end(), labels.begin() + b));
          CHECK(same_bits(pd, std::vector<double>(dist.begin() + b, dist.begin() + e)));
          // update_nearest from scratch gives the same per-point distances too
          part->update_nearest(c.data(), k, true, 0);
          part->get_distances(pd.data());
          CHECK(same_bits(pd, std::vector<double>(dist.begin() + b, dist.begin() + e)));
          part->assign();
          std::vector<fkm::FixedSum> ps(k * d), pw(k);
          part->accumulate_fixed(format, ps.data(), pw.data());
          for (std::int64_t t = 0; t < k * d; ++t) parts_sum[t] += fkm::detail::from_fixed_sum(ps[t]);
          for (std::int64_t j = 0; j < k; ++j) parts_weight[j] += fkm::detail::from_fixed_sum(pw[j]);
        }
        bool sums_equal = true;
        for (std::int64_t t = 0; t < k * d; ++t) sums_equal = sums_equal && parts_sum[t] == fkm::detail::from_fixed_sum(sums[t]);
        for (std::int64_t j = 0; j < k; ++j) sums_equal = sums_equal && parts_weight[j] == fkm::detail::from_fixed_sum(weights[j]);
        CHECK(sums_equal);

        // update_from with the whole's sums gives the centroids update() gives.
        std::vector<double> ds(k * d), dw(k);
        for (std::int64_t j = 0; j < k; ++j) {
          for (std::int64_t f = 0; f < d; ++f)
            ds[j * d + f] = std::ldexp(double(fkm::detail::from_fixed_sum(sums[j * d + f])), format.exponent[f]);
          dw[j] = std::ldexp(double(fkm::detail::from_fixed_sum(weights[j])), format.weight_exponent);
        }
        auto other = bind(kind, x, w, 0, n, d, metric, 1);
        other->set_centroids(c.data(), k);
        other->assign();
        other->update_from(ds.data(), dw.data());
        std::vector<double> from_fixed(k * d), from_float(k * d);
        other->get_centroids(from_fixed.data());
        whole->accumulate();
        whole->update();
        whole->get_centroids(from_float.data());
        for (std::int64_t t = 0; t < k * d; ++t) CHECK(from_fixed[t] == Approx(from_float[t]).epsilon(1e-12).margin(1e-12));
      }
    }
  }
}
