// The fp64 reference backend. Every quantity is computed the plainest way, in fp64, in index
// order. It is the oracle every other backend is tested against: do not optimise it.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "../../core/src/backend_factories.hpp"
#include "../../core/src/convert.hpp"
#include "../../core/src/fixed_point.hpp"
#include "../../core/src/rng.hpp"
#include "../../core/src/unit_rows.hpp"
#include "reference_problem.hpp"

namespace fkm::detail {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

class ReferenceProblem final : public Problem {
 public:
  ReferenceProblem(const MatrixView& x, const VectorView& w, Metric metric, std::int64_t row_offset)
      : n_(x.rows), d_(x.cols), metric_(metric), row_offset_(row_offset), x_(n_ * d_), w_(n_), dist_(n_, kInf), labels_(n_, 0) {
    for (std::int64_t i = 0; i < n_; ++i) {
      load_row(x, i, &x_[i * d_]);
      w_[i] = weight_at(w, i);
      if (std::isfinite(w_[i]) && w_[i] > 0) ++positive_;
      if (check_.bad_row < 0) {
        for (std::int64_t j = 0; j < d_; ++j)
          if (!std::isfinite(x_[i * d_ + j])) {
            check_.bad_row = i;
            check_.bad_col = j;
            break;
          }
        if (check_.bad_row < 0 && !(w_[i] >= 0 && std::isfinite(w_[i]))) {
          check_.bad_row = i;
          check_.in_weights = true;
        }
      }
      if (metric_ == Metric::Cosine) normalise(&x_[i * d_]);
    }
    check_.positive_weights = positive_;
  }

  std::int64_t n() const override { return n_; }
  std::int64_t d() const override { return d_; }
  std::string device_name() const override { return "host (fp64 reference)"; }
  ValueCheck check_values() const override { return check_; }

  double total_weight() const override {
    double s = 0;
    for (double w : w_) s += w;
    return s;
  }

  double mean_variance() const override {
    double total = 0;
    for (std::int64_t j = 0; j < d_; ++j) {
      double mean = 0;
      for (std::int64_t i = 0; i < n_; ++i) mean += x_[i * d_ + j];
      mean /= double(n_);
      double var = 0;
      for (std::int64_t i = 0; i < n_; ++i) var += (x_[i * d_ + j] - mean) * (x_[i * d_ + j] - mean);
      total += var / double(n_);
    }
    return total / double(d_);
  }

  void set_centroids(const double* c, std::int64_t k) override {
    k_ = k;
    c_.assign(c, c + k * d_);
    if (metric_ == Metric::Cosine)
      for (std::int64_t j = 0; j < k_; ++j) normalise(&c_[j * d_]);
    sums_.assign(k_ * d_, 0.0);
    weights_.assign(k_, 0.0);
    previous_ = c_;
  }
  void get_centroids(double* c) const override { std::copy(c_.begin(), c_.end(), c); }

  double assign() override {
    double inertia = 0;
    for (std::int64_t i = 0; i < n_; ++i) {
      std::int64_t best = 0;
      double best_d = kInf;
      for (std::int64_t j = 0; j < k_; ++j) {
        const double dj = distance(i, &c_[j * d_]);
        if (dj < best_d) {
          best_d = dj;
          best = j;
        }
      }
      labels_[i] = std::int32_t(best);
      dist_[i] = best_d;
      inertia += w_[i] * best_d;
    }
    return inertia;
  }

  void accumulate() override {
    std::fill(sums_.begin(), sums_.end(), 0.0);
    std::fill(weights_.begin(), weights_.end(), 0.0);
    for (std::int64_t i = 0; i < n_; ++i) {
      const std::int64_t j = labels_[i];
      for (std::int64_t f = 0; f < d_; ++f) sums_[j * d_ + f] += w_[i] * x_[i * d_ + f];
      weights_[j] += w_[i];
    }
  }

  std::vector<std::int64_t> update() override { return update_from(sums_.data(), weights_.data()); }

  std::vector<std::int64_t> update_from(const double* sums, const double* weights) override {
    previous_ = c_;
    std::vector<std::int64_t> empties;
    for (std::int64_t j = 0; j < k_; ++j) {
      if (weights[j] > 0) {
        for (std::int64_t f = 0; f < d_; ++f) c_[j * d_ + f] = sums[j * d_ + f] / weights[j];
        if (metric_ == Metric::Cosine) normalise(&c_[j * d_]);
      } else {
        empties.push_back(j);
      }
    }
    return empties;
  }

  void accumulate_fixed(const FixedPointFormat& format, FixedSum* sums, FixedSum* weights) const override {
    check_format(format, d_, "reference");
    std::vector<__int128> s(k_ * d_, 0), w(k_, 0);
    std::vector<FixedScale> scale(d_);
    for (std::int64_t f = 0; f < d_; ++f) scale[f] = fixed_scale(format.exponent[f]);
    const FixedScale weight_scale = fixed_scale(format.weight_exponent);
    for (std::int64_t i = 0; i < n_; ++i) {
      const std::int64_t j = labels_[i];
      for (std::int64_t f = 0; f < d_; ++f) s[j * d_ + f] += fixed_term(w_[i] * x_[i * d_ + f], scale[f]);
      w[j] += fixed_term(w_[i], weight_scale);
    }
    for (std::int64_t t = 0; t < k_ * d_; ++t) sums[t] = to_fixed_sum(s[t]);
    for (std::int64_t j = 0; j < k_; ++j) weights[j] = to_fixed_sum(w[j]);
  }

  void replace_centroids(const std::int64_t* ids, std::int64_t m, const double* rows) override {
    for (std::int64_t t = 0; t < m; ++t) std::copy(rows + t * d_, rows + (t + 1) * d_, &c_[ids[t] * d_]);
  }

  double shift() const override {
    double s = 0;
    for (std::size_t i = 0; i < c_.size(); ++i) s += (c_[i] - previous_[i]) * (c_[i] - previous_[i]);
    return s;
  }

  void get_labels(std::int32_t* out) const override { std::copy(labels_.begin(), labels_.end(), out); }
  void get_distances(double* out) const override { std::copy(dist_.begin(), dist_.end(), out); }

  double update_nearest(const double* c, std::int64_t m, bool reset, std::int64_t first_label) override {
    const auto centres = prepared(c, m);
    double potential = 0;
    for (std::int64_t i = 0; i < n_; ++i) {
      if (reset) dist_[i] = kInf;
      for (std::int64_t j = 0; j < m; ++j) {
        const double dj = distance(i, &centres[j * d_]);
        if (dj < dist_[i]) {
          dist_[i] = dj;
          labels_[i] = std::int32_t(first_label + j);
        }
      }
      potential += w_[i] * dist_[i];
    }
    return potential;
  }

  void potentials(const double* c, std::int64_t m, double* out) const override {
    const auto centres = prepared(c, m);
    for (std::int64_t j = 0; j < m; ++j) {
      double s = 0;
      for (std::int64_t i = 0; i < n_; ++i) s += w_[i] * std::min(dist_[i], distance(i, &centres[j * d_]));
      out[j] = s;
    }
  }

  void sample(const double* targets, std::int64_t m, bool by_weight, std::int64_t* out) const override {
    std::vector<double> cumulative(n_);
    double s = 0;
    std::int64_t last_positive = 0;
    for (std::int64_t i = 0; i < n_; ++i) {
      const double p = by_weight ? w_[i] : w_[i] * dist_[i];
      s += p;
      cumulative[i] = s;
      if (p > 0) last_positive = i;
    }
    for (std::int64_t t = 0; t < m; ++t) {
      const std::int64_t i = std::upper_bound(cumulative.begin(), cumulative.end(), targets[t]) - cumulative.begin();
      out[t] = std::min(i, last_positive);
    }
  }

  std::vector<std::int64_t> sample_independent(double scale, double potential, std::uint64_t seed) const override {
    std::vector<std::int64_t> out;
    for (std::int64_t i = 0; i < n_; ++i)
      if (uniform01(seed, std::uint64_t(row_offset_ + i)) * potential < scale * w_[i] * dist_[i]) out.push_back(i);
    return out;
  }

  void gather_rows(const std::int64_t* idx, std::int64_t m, double* out) const override {
    for (std::int64_t t = 0; t < m; ++t) std::copy(&x_[idx[t] * d_], &x_[(idx[t] + 1) * d_], out + t * d_);
  }

  void label_weights(std::int64_t m, double* out) const override {
    std::fill(out, out + m, 0.0);
    for (std::int64_t i = 0; i < n_; ++i)
      if (labels_[i] < m) out[labels_[i]] += w_[i];
  }

  std::vector<std::int64_t> farthest_points(std::int64_t m) const override {
    std::vector<std::int64_t> idx;
    for (std::int64_t i = 0; i < n_; ++i)
      if (w_[i] > 0) idx.push_back(i);
    std::stable_sort(idx.begin(), idx.end(), [&](std::int64_t a, std::int64_t b) { return dist_[a] > dist_[b]; });
    if (std::int64_t(idx.size()) > m) idx.resize(m);
    return idx;
  }

 private:
  void normalise(double* v) const { fkm::detail::normalise(v, d_); }

  std::vector<double> prepared(const double* c, std::int64_t m) const {
    return fkm::detail::prepared_rows(c, m, d_, metric_ == Metric::Cosine);
  }

  double distance(std::int64_t i, const double* c) const {
    const double* x = &x_[i * d_];
    if (metric_ == Metric::L2) {
      double s = 0;
      for (std::int64_t f = 0; f < d_; ++f) s += (x[f] - c[f]) * (x[f] - c[f]);
      return s;
    }
    double dot = 0;
    for (std::int64_t f = 0; f < d_; ++f) dot += x[f] * c[f];
    return metric_ == Metric::Cosine ? 1.0 - dot : -dot;
  }

  std::int64_t n_, d_, k_ = 0;
  Metric metric_;
  std::int64_t row_offset_;
  std::vector<double> x_, w_, dist_;
  std::vector<std::int32_t> labels_;
  std::vector<double> c_, previous_, sums_, weights_;
  std::int64_t positive_ = 0;
  ValueCheck check_;
};

class ReferenceBackend final : public Backend {
 public:
  BackendKind kind() const override { return BackendKind::Reference; }
  std::string name() const override { return "reference"; }
  std::vector<DeviceInfo> devices() const override {
    DeviceInfo info;
    info.name = "host (fp64 reference)";
    info.arch = "any";
    info.compute_units = 1;
    return {info};
  }
  std::unique_ptr<Problem> bind(const ProblemSpec& s) const override {
    return std::make_unique<ReferenceProblem>(s.x, s.weights, s.metric, s.row_offset);
  }
};

}  // namespace

std::unique_ptr<Problem> make_reference_problem(const MatrixView& x, const VectorView& w, Metric metric) {
  return std::make_unique<ReferenceProblem>(x, w, metric, 0);
}

const Backend* reference_backend() {
  static const ReferenceBackend instance;
  return &instance;
}

}  // namespace fkm::detail
