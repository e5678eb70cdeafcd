// The OpenMP CPU backend: cache-blocked fused distance + argmin (score_kernel.hpp), exact
// per-point distances, and a column-partitioned update whose sums are accumulated in index
// order in fp64. Every reduction runs over fixed-size row blocks in a fixed order, so results
// are bitwise identical for any thread count.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <thread>

#include "../../core/src/backend_factories.hpp"
#include "../../core/src/convert.hpp"
#include "../../core/src/fixed_point.hpp"
#include "../../core/src/rng.hpp"
#include "fkm/error.hpp"
#include "kernels.hpp"
#include "panels.hpp"

namespace fkm::cpu {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr std::int64_t kScanBlock = 4096;  // rows per block of every reduction (fixed: determinism)

inline double widen(float v) { return v; }
inline double widen(double v) { return v; }
inline double widen(half v) { return to_float(v); }
inline double widen(bfloat16 v) { return to_float(v); }

/// Calls f(S{}) with S the C++ storage type of dtype t.
template <class F>
decltype(auto) with_storage(DType t, F&& f) {
  switch (t) {
    case DType::F32: return f(float{});
    case DType::F64: return f(double{});
    case DType::F16: return f(half{});
    case DType::BF16: break;
  }
  return f(bfloat16{});
}

std::int64_t blocks_of(std::int64_t n, std::int64_t b) { return (n + b - 1) / b; }

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  return "CPU";
}

/// T: the compute type of the score kernel (float for fp32/fp16/bf16 data, double for fp64).
template <class T>
class CpuProblem final : public Problem {
 public:
  explicit CpuProblem(const ProblemSpec& s)
      : x_(s.x),
        n_(s.x.rows),
        d_(s.x.cols),
        metric_(s.metric),
        row_offset_(s.row_offset),
        threads_(s.num_threads > 0 ? s.num_threads : omp_get_max_threads()),
        kernels_(kernels_for<T>()),
        w_(n_),
        row_scale_(n_, 1.0),
        dist_(n_, kInf),
        labels_(n_, 0) {
    // Rows of one assign block stay in (half of) a 512 KiB L2 while centroid panels stream by.
    const std::int64_t fit = (256 * 1024) / std::max<std::int64_t>(1, d_ * std::int64_t(sizeof(T)));
    block_rows_ = std::clamp<std::int64_t>(fit - fit % 6, 6, 516);
    for (std::int64_t i = 0; i < n_; ++i) w_[i] = detail::weight_at(s.weights, i);
    scan_values();
    // Per-row scale: 1/||x|| (cosine) or ||x||^2 (L2, for approximate potentials).
    with_storage(x_.dtype, [&](auto tag) {
      using S = decltype(tag);
#pragma omp parallel for num_threads(threads_) schedule(static)
      for (std::int64_t i = 0; i < n_; ++i) {
        const S* row = static_cast<const S*>(x_.data) + i * x_.row_stride;
        double s2 = 0;
        for (std::int64_t f = 0; f < d_; ++f) s2 += widen(row[f]) * widen(row[f]);
        row_scale_[i] = metric_ == Metric::Cosine ? (s2 > 0 ? 1.0 / std::sqrt(s2) : 0.0) : s2;
      }
      return 0;
    });
  }

  std::int64_t n() const override { return n_; }
  std::int64_t d() const override { return d_; }
  std::string device_name() const override {
    return cpu_model_name() + " (" + std::to_string(threads_) + " threads, " + kernel_isa() + ")";
  }
  ValueCheck check_values() const override { return check_; }

  double total_weight() const override {
    double s = 0;
    for (double w : w_) s += w;
    return s;
  }

  double mean_variance() const override {
    std::vector<double> var(d_);
    with_storage(x_.dtype, [&](auto tag) {
      using S = decltype(tag);
#pragma omp parallel for num_threads(threads_) schedule(static)
      for (std::int64_t f = 0; f < d_; ++f) {
        double mean = 0;
        for (std::int64_t i = 0; i < n_; ++i) mean += value<S>(i, f);
        mean /= double(n_);
        double v = 0;
        for (std::int64_t i = 0; i < n_; ++i) v += (value<S>(i, f) - mean) * (value<S>(i, f) - mean);
        var[f] = v / double(n_);
      }
      return 0;
    });
    double total = 0;
    for (double v : var) total += v;
    return total / double(d_);
  }

  void set_centroids(const double* c, std::int64_t k) override {
    k_ = k;
    c_.assign(c, c + k * d_);
    if (metric_ == Metric::Cosine)
      for (std::int64_t j = 0; j < k_; ++j) normalise(&c_[j * d_]);
    previous_ = c_;
    panels_.pack(c_.data(), k_, d_, metric_);
  }
  void get_centroids(double* c) const override { std::copy(c_.begin(), c_.end(), c); }

  double assign() override {
    return nearest_pass(panels_, c_.data(), [&](std::int64_t i, std::int32_t j, double dist) {
      labels_[i] = j;
      dist_[i] = dist;
      return w_[i] * dist;
    });
  }

  void accumulate() override {
    sums_.assign(k_ * d_, 0.0);
    weights_.assign(k_, 0.0);
    for (std::int64_t i = 0; i < n_; ++i) weights_[labels_[i]] += w_[i];
    // Each thread owns a slice of features and walks all points in index order: every sum is
    // accumulated in the same order as the reference, whatever the thread count.
    constexpr std::int64_t kSlice = 8;
    const std::int64_t slices = blocks_of(d_, kSlice);
    with_storage(x_.dtype, [&](auto tag) {
      using S = decltype(tag);
#pragma omp parallel for num_threads(threads_) schedule(static)
      for (std::int64_t s = 0; s < slices; ++s) {
        const std::int64_t f0 = s * kSlice, f1 = std::min(d_, f0 + kSlice);
        for (std::int64_t i = 0; i < n_; ++i) {
          if (w_[i] == 0) continue;
          const S* row = static_cast<const S*>(x_.data) + i * x_.row_stride;
          double* sum = &sums_[std::int64_t(labels_[i]) * d_];
          if (metric_ == Metric::Cosine) {
            for (std::int64_t f = f0; f < f1; ++f) sum[f] += w_[i] * (widen(row[f]) * row_scale_[i]);
          } else {
            for (std::int64_t f = f0; f < f1; ++f) sum[f] += w_[i] * widen(row[f]);
          }
        }
      }
      return 0;
    });
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
    panels_.pack(c_.data(), k_, d_, metric_);
    return empties;
  }

  void accumulate_fixed(const FixedPointFormat& format, FixedSum* sums, FixedSum* weights) const override {
    std::vector<__int128> s(k_ * d_, 0), w(k_, 0);
    const detail::FixedScale weight_scale = detail::fixed_scale(format.weight_exponent);
    for (std::int64_t i = 0; i < n_; ++i) w[labels_[i]] += detail::fixed_term(w_[i], weight_scale);
    // As accumulate(): each thread owns a slice of features; integer sums make the order moot.
    constexpr std::int64_t kSlice = 8;
    const std::int64_t slices = blocks_of(d_, kSlice);
    with_storage(x_.dtype, [&](auto tag) {
      using S = decltype(tag);
#pragma omp parallel for num_threads(threads_) schedule(static)
      for (std::int64_t sl = 0; sl < slices; ++sl) {
        const std::int64_t f0 = sl * kSlice, f1 = std::min(d_, f0 + kSlice);
        detail::FixedScale scale[kSlice];
        for (std::int64_t f = f0; f < f1; ++f) scale[f - f0] = detail::fixed_scale(format.exponent[f]);
        for (std::int64_t i = 0; i < n_; ++i) {
          if (w_[i] == 0) continue;
          const S* row = static_cast<const S*>(x_.data) + i * x_.row_stride;
          __int128* sum = &s[std::int64_t(labels_[i]) * d_];
          const double rs = metric_ == Metric::Cosine ? row_scale_[i] : 1.0;
          for (std::int64_t f = f0; f < f1; ++f) {
            const double v = metric_ == Metric::Cosine ? widen(row[f]) * rs : widen(row[f]);
            sum[f] += detail::fixed_term(w_[i] * v, scale[f - f0]);
          }
        }
      }
      return 0;
    });
    for (std::int64_t t = 0; t < k_ * d_; ++t) sums[t] = detail::to_fixed_sum(s[t]);
    for (std::int64_t j = 0; j < k_; ++j) weights[j] = detail::to_fixed_sum(w[j]);
  }

  void replace_centroids(const std::int64_t* ids, std::int64_t m, const double* rows) override {
    for (std::int64_t t = 0; t < m; ++t) std::copy(rows + t * d_, rows + (t + 1) * d_, &c_[ids[t] * d_]);
    panels_.pack(c_.data(), k_, d_, metric_);
  }

  double shift() const override {
    double s = 0;
    for (std::size_t i = 0; i < c_.size(); ++i) s += (c_[i] - previous_[i]) * (c_[i] - previous_[i]);
    return s;
  }

  void get_labels(std::int32_t* out) const override { std::copy(labels_.begin(), labels_.end(), out); }
  void get_distances(double* out) const override { std::copy(dist_.begin(), dist_.end(), out); }

  double update_nearest(const double* c, std::int64_t m, bool reset, std::int64_t first_label) override {
    if (reset) std::fill(dist_.begin(), dist_.end(), kInf);
    if (m == 0) return kInf;
    const auto centres = prepared(c, m);
    Panels<T> P;
    P.pack(centres.data(), m, d_, metric_);
    return nearest_pass(P, centres.data(), [&](std::int64_t i, std::int32_t j, double dist) {
      if (dist < dist_[i]) {
        dist_[i] = dist;
        labels_[i] = std::int32_t(first_label + j);
      }
      return w_[i] * dist_[i];
    });
  }

  void potentials(const double* c, std::int64_t m, double* out) const override {
    const auto centres = prepared(c, m);
    Panels<T> P;
    P.pack(centres.data(), m, d_, metric_);
    const std::int64_t ld = P.padded_k(), nb = blocks_of(n_, block_rows_);
    std::vector<double> partial(nb * m, 0.0);
#pragma omp parallel num_threads(threads_)
    {
      std::vector<T> buf, scores(block_rows_ * ld);
#pragma omp for schedule(static)
      for (std::int64_t b = 0; b < nb; ++b) {
        const std::int64_t i0 = b * block_rows_, rows = std::min(block_rows_, n_ - i0);
        std::int64_t stride = 0;
        const T* x = compute_rows(i0, rows, buf, stride);
        kernels_.scores(x, stride, rows, P, scores.data());
        for (std::int64_t r = 0; r < rows; ++r)
          for (std::int64_t j = 0; j < m; ++j)
            partial[b * m + j] += w_[i0 + r] * std::min(dist_[i0 + r], approx_distance(i0 + r, scores[r * ld + j]));
      }
    }
    for (std::int64_t j = 0; j < m; ++j) {
      double s = 0;
      for (std::int64_t b = 0; b < nb; ++b) s += partial[b * m + j];
      out[j] = s;
    }
  }

  void sample(const double* targets, std::int64_t m, bool by_weight, std::int64_t* out) const override {
    auto p = [&](std::int64_t i) { return by_weight ? w_[i] : w_[i] * dist_[i]; };
    const std::int64_t nb = blocks_of(n_, kScanBlock);
    std::vector<double> block_end(nb);
#pragma omp parallel for num_threads(threads_) schedule(static)
    for (std::int64_t b = 0; b < nb; ++b) {
      double s = 0;
      for (std::int64_t i = b * kScanBlock; i < std::min(n_, (b + 1) * kScanBlock); ++i) s += p(i);
      block_end[b] = s;
    }
    for (std::int64_t b = 1; b < nb; ++b) block_end[b] += block_end[b - 1];
    std::int64_t last_positive = 0;
    for (std::int64_t i = n_ - 1; i >= 0; --i)
      if (p(i) > 0) {
        last_positive = i;
        break;
      }
    for (std::int64_t t = 0; t < m; ++t) {
      const std::int64_t b = std::upper_bound(block_end.begin(), block_end.end(), targets[t]) - block_end.begin();
      std::int64_t chosen = last_positive;
      if (b < nb) {
        double s = b > 0 ? block_end[b - 1] : 0.0;
        for (std::int64_t i = b * kScanBlock; i < std::min(n_, (b + 1) * kScanBlock); ++i) {
          s += p(i);
          if (s > targets[t]) {
            chosen = std::min(i, last_positive);
            break;
          }
        }
      }
      out[t] = chosen;
    }
  }

  std::vector<std::int64_t> sample_independent(double scale, double potential, std::uint64_t seed) const override {
    const std::int64_t nb = blocks_of(n_, kScanBlock);
    std::vector<std::vector<std::int64_t>> found(nb);
#pragma omp parallel for num_threads(threads_) schedule(static)
    for (std::int64_t b = 0; b < nb; ++b)
      for (std::int64_t i = b * kScanBlock; i < std::min(n_, (b + 1) * kScanBlock); ++i)
        if (detail::uniform01(seed, std::uint64_t(row_offset_ + i)) * potential < scale * w_[i] * dist_[i])
          found[b].push_back(i);
    std::vector<std::int64_t> out;
    for (auto& f : found) out.insert(out.end(), f.begin(), f.end());
    return out;
  }

  void gather_rows(const std::int64_t* idx, std::int64_t m, double* out) const override {
    for (std::int64_t t = 0; t < m; ++t) {
      detail::load_row(x_, idx[t], out + t * d_);
      if (metric_ == Metric::Cosine)
        for (std::int64_t f = 0; f < d_; ++f) out[t * d_ + f] *= row_scale_[idx[t]];
    }
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
    const std::int64_t take = std::min<std::int64_t>(m, std::int64_t(idx.size()));
    std::partial_sort(idx.begin(), idx.begin() + take, idx.end(), [&](std::int64_t a, std::int64_t b) {
      return dist_[a] > dist_[b] || (dist_[a] == dist_[b] && a < b);
    });
    idx.resize(take);
    return idx;
  }

 private:
  template <class S>
  double value(std::int64_t i, std::int64_t f) const {
    const double v = widen(static_cast<const S*>(x_.data)[i * x_.row_stride + f]);
    return metric_ == Metric::Cosine ? v * row_scale_[i] : v;
  }

  /// Rows [i0, i0 + rows) in the compute type: the caller's memory when it already is, else
  /// converted into buf.
  const T* compute_rows(std::int64_t i0, std::int64_t rows, std::vector<T>& buf, std::int64_t& stride) const {
    if (x_.dtype == (sizeof(T) == 4 ? DType::F32 : DType::F64)) {
      stride = x_.row_stride;
      return static_cast<const T*>(x_.data) + i0 * x_.row_stride;
    }
    buf.resize(rows * d_);
    stride = d_;
    with_storage(x_.dtype, [&](auto tag) {
      using S = decltype(tag);
      for (std::int64_t r = 0; r < rows; ++r) {
        const S* row = static_cast<const S*>(x_.data) + (i0 + r) * x_.row_stride;
        for (std::int64_t f = 0; f < d_; ++f) buf[r * d_ + f] = T(widen(row[f]));
      }
      return 0;
    });
    return buf.data();
  }

  /// Runs the argmin kernel over all rows against P; per_row(i, nearest, exact distance to it)
  /// returns a value summed per block, then over blocks in order.
  template <class PerRow>
  double nearest_pass(const Panels<T>& P, const double* centres, PerRow&& per_row) const {
    const std::int64_t nb = blocks_of(n_, block_rows_);
    std::vector<double> partial(nb, 0.0);
#pragma omp parallel num_threads(threads_)
    {
      std::vector<T> buf, best(block_rows_);
      std::vector<std::int32_t> label(block_rows_);
#pragma omp for schedule(static)
      for (std::int64_t b = 0; b < nb; ++b) {
        const std::int64_t i0 = b * block_rows_, rows = std::min(block_rows_, n_ - i0);
        std::int64_t stride = 0;
        const T* x = compute_rows(i0, rows, buf, stride);
        kernels_.argmin(x, stride, rows, P, label.data(), best.data());
        double s = 0;
        for (std::int64_t r = 0; r < rows; ++r) {
          const double dist = exact_distance(x + r * stride, i0 + r, centres + std::int64_t(label[r]) * d_);
          s += per_row(i0 + r, label[r], dist);
        }
        partial[b] = s;
      }
    }
    double total = 0;
    for (double p : partial) total += p;
    return total;
  }

  /// Distance of row i (x, in the compute type) to a centroid, in fp64 from the widened values:
  /// the same arithmetic as the reference.
  double exact_distance(const T* x, std::int64_t i, const double* c) const {
    if (metric_ == Metric::L2) {
      double s = 0;
      for (std::int64_t f = 0; f < d_; ++f) s += (double(x[f]) - c[f]) * (double(x[f]) - c[f]);
      return s;
    }
    double dot = 0;
    if (metric_ == Metric::Cosine) {
      for (std::int64_t f = 0; f < d_; ++f) dot += (double(x[f]) * row_scale_[i]) * c[f];
      return 1.0 - dot;
    }
    for (std::int64_t f = 0; f < d_; ++f) dot += double(x[f]) * c[f];
    return -dot;
  }

  /// Distance from a kernel score (used only where an approximation is good enough: k-means++
  /// candidate potentials).
  double approx_distance(std::int64_t i, T score) const {
    if (metric_ == Metric::L2) return std::max(0.0, row_scale_[i] + double(score));
    if (metric_ == Metric::Cosine) return 1.0 + double(score) * row_scale_[i];
    return double(score);
  }

  void normalise(double* v) const {
    double s = 0;
    for (std::int64_t f = 0; f < d_; ++f) s += v[f] * v[f];
    if (s > 0) {
      const double inv = 1.0 / std::sqrt(s);
      for (std::int64_t f = 0; f < d_; ++f) v[f] *= inv;
    }
  }

  std::vector<double> prepared(const double* c, std::int64_t m) const {
    std::vector<double> out(c, c + m * d_);
    if (metric_ == Metric::Cosine)
      for (std::int64_t j = 0; j < m; ++j) normalise(&out[j * d_]);
    return out;
  }

  void scan_values() {
    const std::int64_t nb = blocks_of(n_, kScanBlock);
    std::vector<ValueCheck> found(nb);
    std::vector<std::int64_t> positive(nb, 0);
    with_storage(x_.dtype, [&](auto tag) {
      using S = decltype(tag);
#pragma omp parallel for num_threads(threads_) schedule(static)
      for (std::int64_t b = 0; b < nb; ++b) {
        for (std::int64_t i = b * kScanBlock; i < std::min(n_, (b + 1) * kScanBlock); ++i) {
          if (w_[i] > 0 && std::isfinite(w_[i])) ++positive[b];
          if (found[b].bad_row >= 0) continue;
          const S* row = static_cast<const S*>(x_.data) + i * x_.row_stride;
          for (std::int64_t f = 0; f < d_; ++f)
            if (!std::isfinite(widen(row[f]))) {
              found[b].bad_row = i;
              found[b].bad_col = f;
              break;
            }
          if (found[b].bad_row < 0 && !(w_[i] >= 0 && std::isfinite(w_[i]))) {
            found[b].bad_row = i;
            found[b].in_weights = true;
          }
        }
      }
      return 0;
    });
    for (std::int64_t b = 0; b < nb; ++b) {
      if (check_.bad_row < 0 && found[b].bad_row >= 0) check_ = found[b];
      check_.positive_weights += positive[b];
    }
  }

  MatrixView x_;
  std::int64_t n_, d_, k_ = 0;
  Metric metric_;
  std::int64_t row_offset_;
  int threads_;
  KernelTable<T> kernels_;
  std::int64_t block_rows_ = 6;
  std::vector<double> w_, row_scale_, dist_;
  std::vector<std::int32_t> labels_;
  std::vector<double> c_, previous_, sums_, weights_;
  Panels<T> panels_;
  ValueCheck check_;
};

class CpuBackend final : public Backend {
 public:
  BackendKind kind() const override { return BackendKind::Cpu; }
  std::string name() const override { return "cpu"; }
  std::vector<DeviceInfo> devices() const override {
    DeviceInfo info;
    info.name = cpu_model_name();
    info.arch = std::string(
#if defined(__x86_64__)
                    "x86_64 "
#elif defined(__aarch64__)
                    "aarch64 "
#endif
                    ) +
                kernel_isa();
    info.compute_units = omp_get_max_threads();
    return {info};
  }
  std::unique_ptr<Problem> bind(const ProblemSpec& s) const override {
    if (s.x.dtype == DType::F64) return std::make_unique<CpuProblem<double>>(s);
    return std::make_unique<CpuProblem<float>>(s);
  }
};

}  // namespace
}  // namespace fkm::cpu

namespace fkm::detail {
const Backend* cpu_backend_instance() {
  static const cpu::CpuBackend instance;
  return &instance;
}
}  // namespace fkm::detail
