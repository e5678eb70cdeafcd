// The OpenMP CPU backend. An iteration:
//   assign      rows packed per block (point_tiles.hpp), the fused score + argmin kernel against
//               centroid panels (kernel_avx2_f32.cpp / score_kernel.hpp): labels, no N x K matrix;
//               each point's exact fp64 distance to its centroid while its packed row is in cache
//   accumulate  per-cluster sums in point-index order: threads own feature slices and stream X
//               once, or (narrow rows, many threads) own clusters after a counting sort by label
//   update      sums / weights, centroids repacked
// Every sum runs in index order or over fixed-size row blocks in a fixed order, so results are
// bitwise identical for any thread count, and the update sums are the reference's.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cmath>
#include <fstream>
#include <limits>
#include <thread>
#include <type_traits>

#include "../../core/src/backend_factories.hpp"
#include "../../core/src/convert.hpp"
#include "../../core/src/fixed_point.hpp"
#include "../../core/src/rng.hpp"
#include "../../core/src/unit_rows.hpp"
#include "fkm/error.hpp"
#include "cache_info.hpp"
#include "kernels.hpp"
#include "panels.hpp"
#include "point_tiles.hpp"
#include "pruning.hpp"
#include "row_kernels.hpp"

namespace fkm::cpu {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr std::int64_t kScanBlock = 4096;  // rows per block of every reduction (fixed: determinism)

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
        threads_(std::min(kMaxThreads, s.num_threads > 0 ? s.num_threads : omp_get_max_threads())),  // OMP_NUM_THREADS may be absurd
        kernels_(kernels_for<T>()),
        row_kernels_(float_row_kernels()),
        w_(n_),
        dist_(n_, kInf),
        labels_(n_, 0) {
    prune_ = s.pruning == Pruning::Hamerly && s.metric == Metric::L2;
    tiling_ = choose_tiling(cache_sizes(), d_, std::int64_t(sizeof(T)), Panels<T>::W * kernels_.panels_per_step,
                            kMicroRows * kernels_.tiles_per_step);
    for (std::int64_t i = 0; i < n_; ++i) w_[i] = detail::weight_at(s.weights, i);
    scan_values();
    unweighted_ = s.weights.data == nullptr;
    if (metric_ == Metric::Cosine) row_scales();
    // L2 scores of data far from the origin lose fp32 precision to cancellation: their error
    // grows with ||x||^2 + ||c||^2 ~ 2 (||mean||^2 + spread) where centred data would give 2 spread.
    // Where that costs more than 3 bits, the data are centred when packed (as scikit-learn
    // centres); the exact distances then read the stored rows instead of the packed ones.
    if (metric_ == Metric::L2 && n_ > 1) {
      double mean_sq_norm = 0;
      means_ = column_means(/*normalised=*/false, &mean_sq_norm);
      double mean2 = 0;
      for (double m : means_) mean2 += m * m;
      if (mean2 > 7 * (mean_sq_norm - mean2)) {
        shift_ = means_;
        shift_t_.assign(means_.begin(), means_.end());
      }
    }
  }

  /// row_scale_: 1/||x|| (cosine) or ||x - shift||^2 (L2: only approximate potentials need it,
  /// so it is computed on first use).
  void row_scales() const {
    row_scale_.resize(n_);
    with_storage(x_.dtype, [&](auto tag) {
      using S = decltype(tag);
#pragma omp parallel for num_threads(threads_) schedule(static)
      for (std::int64_t i = 0; i < n_; ++i) {
        const S* row = static_cast<const S*>(x_.data) + i * x_.row_stride;
        double s2 = 0;
        for (std::int64_t f = 0; f < d_; ++f) {
          const double v = shift_.empty() ? widen(row[f]) : widen(row[f]) - shift_[f];
          s2 += v * v;
        }
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
    const std::vector<double> mean = means_.empty() ? column_means(/*normalised=*/true) : means_;
    // Squared deviations summed per fixed row block, then over blocks in order.
    const std::int64_t nb = blocks_of(n_, kScanBlock);
    std::vector<double> partial(nb * d_, 0.0);
    with_storage(x_.dtype, [&](auto tag) {
      using S = decltype(tag);
#pragma omp parallel for num_threads(threads_) schedule(static)
      for (std::int64_t b = 0; b < nb; ++b)
        for (std::int64_t i = b * kScanBlock; i < std::min(n_, (b + 1) * kScanBlock); ++i)
          for (std::int64_t f = 0; f < d_; ++f) {
            const double v = value<S>(i, f) - mean[f];
            partial[b * d_ + f] += v * v;
          }
      return 0;
    });
    double total = 0;
    for (std::int64_t f = 0; f < d_; ++f) {
      double v = 0;
      for (std::int64_t b = 0; b < nb; ++b) v += partial[b * d_ + f];
      total += v / double(n_);
    }
    return total / double(d_);
  }

  void set_centroids(const double* c, std::int64_t k) override {
    k_ = k;
    c_.assign(c, c + k * d_);
    if (metric_ == Metric::Cosine)
      for (std::int64_t j = 0; j < k_; ++j) normalise(&c_[j * d_]);
    previous_ = c_;
    // Given centroids may be far larger than the data (Lloyd's own stay within its range).
    double largest = data_largest_;
    for (double v : c_) largest = std::max(largest, std::abs(v));
    kernel_scale_ = T(kernel_scale_for(largest));
    panels_.pack(c_.data(), k_, d_, metric_, centring(), kernel_scale_);
    bounds_valid_ = false;
  }
  void get_centroids(double* c) const override { std::copy(c_.begin(), c_.end(), c); }

  std::int64_t last_assign_skipped() const override { return skipped_; }

  double assign() override {
    sums_fresh_ = false;
    skipped_ = 0;
    if (prune_) return bounded_assign();
    // Labels from the score kernel; each point's exact fp64 distance to its centroid while its
    // packed row is still in cache (nearest_pass).
    return nearest_pass(panels_, c_.data(), [&](std::int64_t i, std::int32_t j, double dist) {
      labels_[i] = j;
      dist_[i] = dist;
      return w_[i] * dist;
    });
  }

  /// Per-cluster sums of w_i * x_i and of w_i, each summed in point-index order (the reference's
  /// order: the same bits for any thread count). Several schedules give those same bits
  /// (SumSchedule), and which is fastest depends on the machine more than on the shape (on a
  /// 2-core EPYC one thread streaming X already saturates memory, and two threads on half-rows
  /// were slower than one): the first fits of a Problem try each once, then keep the fastest.
  ///
  /// Once most labels have settled, the sums are updated instead: each point that changed
  /// cluster since the sums were last made is taken out of its old cluster's sum and added to
  /// its new one, in index order (the same bits for any thread count, and a pass over the moved
  /// rows only). That rounds differently from a sum made afresh, by at most one rounding per
  /// move: the sums are made afresh again once the moves since the last fresh sum reach N (so
  /// the error stays within that of one sequential sum of N terms), when a quarter of the points
  /// move, and when K changes. The weights are always summed afresh (exact counts for unweighted
  /// data), and an empty cluster's sum is exactly zero.
  void accumulate() override {
    if (sums_fresh_) return;
    weights_.assign(k_, 0.0);
    for (std::int64_t i = 0; i < n_; ++i) weights_[labels_[i]] += w_[i];
    std::vector<std::int64_t> moved;
    if (counted_k_ == k_) {
      for (std::int64_t i = 0; i < n_; ++i)
        if (labels_[i] != counted_[i]) moved.push_back(i);
      if (4 * std::int64_t(moved.size()) < n_ && moves_since_fresh_ + std::int64_t(moved.size()) <= n_) {
        apply_moves(moved);
        sums_fresh_ = true;
        return;
      }
    }
    sums_.assign(k_ * d_, 0.0);
    const SumSchedule s = next_schedule();
    const auto t0 = std::chrono::steady_clock::now();
    switch (s) {
      case SumSchedule::Clusters: accumulate_by_clusters(); break;
      case SumSchedule::Features: accumulate_by_features(threads_); break;
      case SumSchedule::FeaturesOneThread: accumulate_by_features(1); break;
    }
    double& best = schedule_seconds_[int(s)];
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    counted_ = labels_;
    counted_k_ = k_;
    moves_since_fresh_ = 0;
    sums_fresh_ = true;
  }

  /// sums -= the moved rows' old clusters' terms, += their new ones (see accumulate()); threads own
  /// slices of features, each walking the moved rows in index order.
  void apply_moves(const std::vector<std::int64_t>& moved) {
    const std::int64_t m = std::int64_t(moved.size());
    with_storage(x_.dtype, [&](auto tag) {
      using S = decltype(tag);
      const S* x = static_cast<const S*>(x_.data);
#pragma omp parallel num_threads(threads_)
      {
        const std::int64_t parts = omp_get_num_threads(), me = omp_get_thread_num();
        const std::int64_t f0 = d_ * me / parts, f1 = d_ * (me + 1) / parts;
        for (std::int64_t t = 0; t < m && f0 < f1; ++t) {
          const std::int64_t i = moved[t];
          if (w_[i] == 0) continue;
          const S* row = x + i * x_.row_stride;
          double* from = &sums_[std::int64_t(counted_[i]) * d_];
          double* to = &sums_[std::int64_t(labels_[i]) * d_];
          const double wi = w_[i], scale = metric_ == Metric::Cosine ? row_scale_[i] : 1.0;
          for (std::int64_t f = f0; f < f1; ++f) {
            const double v = metric_ == Metric::Cosine ? wi * (widen(row[f]) * scale) : unweighted_ ? widen(row[f]) : wi * widen(row[f]);
            from[f] -= v;
            to[f] += v;
          }
        }
      }
      return 0;
    });
    for (std::int64_t j = 0; j < k_; ++j)  // no rounding residue in an empty cluster
      if (!(weights_[j] > 0)) std::fill(&sums_[j * d_], &sums_[(j + 1) * d_], 0.0);
    for (std::int64_t i : moved) counted_[i] = labels_[i];
    moves_since_fresh_ += m;
  }

  /// The update's schedules (same bits): threads own slices of features and stream all rows in
  /// order (all threads, or one: a single sequential pass over X), or threads own clusters and
  /// walk each cluster's rows grouped by a counting sort (the sort-inverse update).
  enum class SumSchedule { Features, Clusters, FeaturesOneThread };

  /// Each schedule once (the cluster walk only sums plain rows: not for cosine), then the fastest.
  SumSchedule next_schedule() {
    std::vector<SumSchedule> candidates{SumSchedule::Features};
    if (metric_ != Metric::Cosine) candidates.push_back(SumSchedule::Clusters);
    if (threads_ > 1) candidates.push_back(SumSchedule::FeaturesOneThread);
    for (SumSchedule c : candidates)
      if (!(schedule_seconds_[int(c)] < kInf)) return c;
    SumSchedule best = candidates.front();
    for (SumSchedule c : candidates)
      if (schedule_seconds_[int(c)] < schedule_seconds_[int(best)]) best = c;
    return best;
  }

  void accumulate_by_features(int threads) {
    with_storage(x_.dtype, [&](auto tag) {
      using S = decltype(tag);
#pragma omp parallel num_threads(threads)
      {
        const std::int64_t parts = omp_get_num_threads(), me = omp_get_thread_num();
        const std::int64_t f0 = d_ * me / parts, f1 = d_ * (me + 1) / parts;
        const S* x = static_cast<const S*>(x_.data);
        const double* w = unweighted_ ? nullptr : w_.data();
        if (f0 < f1) {
          if (metric_ == Metric::Cosine) {
            for (std::int64_t i = 0; i < n_; ++i) {
              if (w_[i] == 0) continue;
              const S* row = x + i * x_.row_stride;
              double* sum = &sums_[std::int64_t(labels_[i]) * d_];
              const double scale = row_scale_[i];
              for (std::int64_t f = f0; f < f1; ++f) sum[f] += w_[i] * (widen(row[f]) * scale);
            }
          } else if constexpr (std::is_same_v<S, float>) {
            row_kernels_.accumulate(x, x_.row_stride, n_, labels_.data(), w, f0, f1, d_, sums_.data());
          } else {
            accumulate_rows(x, x_.row_stride, n_, labels_.data(), w, f0, f1, d_, sums_.data());
          }
        }
      }
      return 0;
    });
  }

  /// Sort-inverse schedule: row indices grouped by label (a counting sort keeps each cluster's
  /// rows in index order), then each cluster summed by one thread, its sum row in L1.
  void accumulate_by_clusters() {
    std::vector<std::int64_t> start(k_ + 1, 0);
    for (std::int64_t i = 0; i < n_; ++i) ++start[labels_[i] + 1];
    for (std::int64_t j = 0; j < k_; ++j) start[j + 1] += start[j];
    std::vector<std::int64_t> order(n_);
    {
      std::vector<std::int64_t> next(start.begin(), start.end() - 1);
      for (std::int64_t i = 0; i < n_; ++i) order[next[labels_[i]]++] = i;
    }
    const double* w = unweighted_ ? nullptr : w_.data();
    with_storage(x_.dtype, [&](auto tag) {
      using S = decltype(tag);
      const S* x = static_cast<const S*>(x_.data);
#pragma omp parallel for num_threads(threads_) schedule(dynamic, 1)
      for (std::int64_t j = 0; j < k_; ++j) {
        const std::int64_t* idx = order.data() + start[j];
        const std::int64_t m = start[j + 1] - start[j];
        if constexpr (std::is_same_v<S, float>)
          row_kernels_.cluster_sums(x, x_.row_stride, idx, m, w, d_, &sums_[j * d_]);
        else
          cluster_sums(x, x_.row_stride, idx, m, w, d_, &sums_[j * d_]);
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
    panels_.pack(c_.data(), k_, d_, metric_, centring(), kernel_scale_);
    return empties;
  }

  void accumulate_fixed(const FixedPointFormat& format, FixedSum* sums, FixedSum* weights) const override {
    detail::check_format(format, d_, "cpu");
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
    panels_.pack(c_.data(), k_, d_, metric_, centring(), kernel_scale_);
  }

  double shift() const override {
    double s = 0;
    for (std::size_t i = 0; i < c_.size(); ++i) s += (c_[i] - previous_[i]) * (c_[i] - previous_[i]);
    return s;
  }

  void get_labels(std::int32_t* out) const override { std::copy(labels_.begin(), labels_.end(), out); }
  void get_distances(double* out) const override { std::copy(dist_.begin(), dist_.end(), out); }

  double update_nearest(const double* c, std::int64_t m, bool reset, std::int64_t first_label) override {
    sums_fresh_ = false;  // labels change below
    bounds_valid_ = false;
    if (reset) std::fill(dist_.begin(), dist_.end(), kInf);
    if (m == 0) return kInf;
    const auto centres = prepared(c, m);
    Panels<T> P;
    P.pack(centres.data(), m, d_, metric_, centring(), kernel_scale_);
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
    P.pack(centres.data(), m, d_, metric_, centring(), kernel_scale_);
    const std::int64_t ld = P.padded_k(), rows_per_block = tiling_.block_rows, nb = blocks_of(n_, rows_per_block);
    if (std::int64_t(row_scale_.size()) != n_) row_scales();
    // Per-row contributions [candidate][row], then summed over fixed blocks of rows in order: the
    // totals (and so the k-means++ choices) do not depend on threads or cache-sized blocks.
    std::vector<double> values(m * n_);
#pragma omp parallel num_threads(threads_)
    {
      AlignedVector<T> tiles;
      KernelWorkspace<T> ws;
      ws.reserve(rows_per_block);
      std::vector<T> scores(rows_per_block * ld);
#pragma omp for schedule(dynamic, 1)  // per-row results: any schedule; dynamic survives a busy core
      for (std::int64_t b = 0; b < nb; ++b) {
        const std::int64_t i0 = b * rows_per_block, rows = std::min(rows_per_block, n_ - i0);
        pack_block(i0, rows, tiles);
        kernels_.scores(tiles.data(), rows, P, tiling_.depth_chunk, ws, scores.data());
        for (std::int64_t r = 0; r < rows; ++r)
          for (std::int64_t j = 0; j < m; ++j)
            values[j * n_ + i0 + r] = std::min(dist_[i0 + r], approx_distance(i0 + r, scores[r * ld + j]));
      }
    }
    for (std::int64_t j = 0; j < m; ++j) out[j] = block_total(values.data() + j * n_, w_.data());
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

  const double* centring() const { return shift_.empty() ? nullptr : shift_.data(); }

  /// Per-feature means of the data (normalised rows for cosine when asked), fp64: summed per
  /// fixed row block, then over blocks in order (any thread count gives the same bits). With
  /// mean_sq_norm, also the mean of ||x_i||^2, in the same pass.
  std::vector<double> column_means(bool normalised, double* mean_sq_norm = nullptr) const {
    const std::int64_t nb = blocks_of(n_, kScanBlock);
    std::vector<double> partial(nb * d_, 0.0), norms(nb, 0.0);
    with_storage(x_.dtype, [&](auto tag) {
      using S = decltype(tag);
#pragma omp parallel for num_threads(threads_) schedule(static)
      for (std::int64_t b = 0; b < nb; ++b)
        for (std::int64_t i = b * kScanBlock; i < std::min(n_, (b + 1) * kScanBlock); ++i) {
          const S* row = static_cast<const S*>(x_.data) + i * x_.row_stride;
          const double scale = normalised && metric_ == Metric::Cosine ? row_scale_[i] : 1.0;
          double sq = 0;
          for (std::int64_t f = 0; f < d_; ++f) {
            const double v = widen(row[f]) * scale;
            partial[b * d_ + f] += v;
            sq += v * v;
          }
          norms[b] += sq;
        }
      return 0;
    });
    std::vector<double> mean(d_, 0.0);
    for (std::int64_t f = 0; f < d_; ++f) {
      for (std::int64_t b = 0; b < nb; ++b) mean[f] += partial[b * d_ + f];
      mean[f] /= double(n_);
    }
    if (mean_sq_norm) {
      double total = 0;
      for (double v : norms) total += v;
      *mean_sq_norm = total / double(n_);
    }
    return mean;
  }

  /// Rows [i0, i0 + rows) packed for the score kernel (point_tiles.hpp).
  void pack_block(std::int64_t i0, std::int64_t rows, AlignedVector<T>& tiles) const {
    tiles.resize(tiles_of(rows) * tile_size(d_));
    with_storage(x_.dtype, [&](auto tag) {
      using S = decltype(tag);
      pack_rows<T>(static_cast<const S*>(x_.data) + i0 * x_.row_stride, x_.row_stride, rows, d_,
                   shift_t_.empty() ? nullptr : shift_t_.data(), tiles.data(), kernel_scale_);
      return 0;
    });
  }

  /// The assignment with Hamerly bounds (L2). A point keeps its label without meeting every
  /// centroid when lower_[i] (decreased by the largest shift of another centroid since the bounds
  /// were set) proves that the score kernel would pick labels_[i] again: the proof allows for
  /// the kernel's rounding (pruning.hpp), so labels, distances and inertia are assign()'s, bit
  /// for bit. The other points are gathered, packed and run through the top-2 kernel, which
  /// renews their bounds. Each point's exact distance is computed either way (inertia needs it).
  double bounded_assign() {
    const bool fresh = !bounds_valid_;
    if (std::int64_t(row_scale_.size()) != n_) row_scales();  // ||x_i - shift||^2
    lower_.resize(std::size_t(n_));
    // the largest and second-largest centroid shift since the bounds were set
    double max1 = 0, max2 = 0;
    std::int64_t arg1 = -1;
    if (!fresh)
      for (std::int64_t j = 0; j < k_; ++j) {
        double s2 = 0;
        for (std::int64_t f = 0; f < d_; ++f) {
          const double t = c_[j * d_ + f] - bound_c_[j * d_ + f];
          s2 += t * t;
        }
        const double s = std::sqrt(s2) * (1 + 1e-12);
        if (s > max1) {
          max2 = max1;
          max1 = s;
          arg1 = j;
        } else if (s > max2) {
          max2 = s;
        }
      }
    const RoundingBounds rb = rounding_bounds();
    const std::int64_t rows_per_block = tiling_.block_rows, nb = blocks_of(n_, rows_per_block);
    std::vector<double> values(n_, 0.0);
    with_storage(x_.dtype, [&](auto tag) {
      using S = decltype(tag);
      const S* x = static_cast<const S*>(x_.data);
#pragma omp parallel num_threads(threads_)
      {
        AlignedVector<T> tiles;
        KernelWorkspace<T> ws;
        ws.reserve(rows_per_block);
        std::vector<T> best(rows_per_block), second(rows_per_block);
        std::vector<std::int32_t> label(rows_per_block);
        std::vector<std::int64_t> pending;
        pending.reserve(rows_per_block);
        std::int64_t kept = 0;
        // Rows whose bounds prove nothing: all of them against every centroid, a block at a time.
        auto flush = [&] {
          const std::int64_t m = std::int64_t(pending.size());
          if (m == 0) return;
          tiles.resize(tiles_of(m) * tile_size(d_));
          pack_rows_gather<T>(x, x_.row_stride, pending.data(), m, d_, shift_t_.empty() ? nullptr : shift_t_.data(),
                              tiles.data(), kernel_scale_);
          kernels_.argmin2(tiles.data(), m, panels_, tiling_.depth_chunk, ws, label.data(), best.data(), second.data());
          for (std::int64_t r = 0; r < m; ++r) {
            const std::int64_t i = pending[r];
            labels_[i] = label[r];
            dist_[i] = exact_l2<S>(i, label[r]);
            // K = 1: no other centroid, nothing can ever beat this one
            lower_[i] = k_ == 1 ? std::numeric_limits<float>::infinity()
                                : bound_down(rb.lower_bound(row_scale_[i], unscaled(second[r])));
            values[i] = w_[i] * dist_[i];
          }
          pending.clear();
        };
#pragma omp for schedule(dynamic, 1)  // per-row results: any schedule; dynamic survives a busy core
        for (std::int64_t b = 0; b < nb; ++b) {
          for (std::int64_t i = b * rows_per_block; i < std::min(n_, (b + 1) * rows_per_block); ++i) {
            if (!fresh) {
              const double lower = double(lower_[i]) - (labels_[i] == arg1 ? max2 : max1);
              lower_[i] = bound_down(lower);
              const double dist = exact_l2<S>(i, labels_[i]);
              if (lower > rb.min_proving_lower(row_scale_[i], dist)) {
                dist_[i] = dist;
                values[i] = w_[i] * dist;
                ++kept;
                continue;
              }
            }
            pending.push_back(i);
            if (std::int64_t(pending.size()) == rows_per_block) flush();
          }
        }
        flush();
#pragma omp atomic
        skipped_ += kept;
      }
      return 0;
    });
    bound_c_ = c_;
    bounds_valid_ = true;
    return block_total(values.data());
  }

  RoundingBounds rounding_bounds() const {
    RoundingBounds rb;
    rb.eps = double(std::numeric_limits<T>::epsilon());
    rb.d = double(d_);
    rb.safe_r2 = double(std::numeric_limits<T>::max()) / 4;  // a score is at most ~3 (|x| + |c|)^2
    rb.scale = double(kernel_scale_);
    double c2 = 0;
    for (std::int64_t j = 0; j < k_; ++j) {
      double s = 0;
      for (std::int64_t f = 0; f < d_; ++f) {
        const double v = c_[j * d_ + f] - (shift_.empty() ? 0.0 : shift_[f]);
        s += v * v;
      }
      c2 = std::max(c2, s);
    }
    rb.c_max = std::sqrt(c2);
    double m2 = 0;
    for (double m : shift_) m2 += m * m;
    rb.mean_norm = std::sqrt(m2);
    return rb;
  }

  /// The exact fp64 squared distance of stored row i to centroid j (exact_distances' bits).
  template <class S>
  double exact_l2(std::int64_t i, std::int32_t j) const {
    const S* row = static_cast<const S*>(x_.data) + i * x_.row_stride;
    const double* c = &c_[std::int64_t(j) * d_];
    if constexpr (std::is_same_v<S, float>)
      return row_kernels_.l2_distance_row(row, c, d_);
    else
      return l2_distance_row(row, c, d_);
  }

  /// sum_i w_i v_i (or sum_i v_i without weights): per fixed block of rows, then over blocks in order.
  double block_total(const double* v, const double* w = nullptr) const {
    const std::int64_t nb = blocks_of(n_, kScanBlock);
    std::vector<double> partial(nb, 0.0);
#pragma omp parallel for num_threads(threads_) schedule(static)
    for (std::int64_t b = 0; b < nb; ++b) {
      double s = 0;
      for (std::int64_t i = b * kScanBlock; i < std::min(n_, (b + 1) * kScanBlock); ++i) s += w ? w[i] * v[i] : v[i];
      partial[b] = s;
    }
    double total = 0;
    for (double p : partial) total += p;
    return total;
  }

  /// Runs the argmin kernel over all rows against P; per_row(i, nearest, exact distance to it;
  /// 0 when centres is null) returns a value, summed over fixed blocks of rows in order (the
  /// total depends neither on the thread count nor on the cache-sized kernel blocks).
  template <class PerRow>
  double nearest_pass(const Panels<T>& P, const double* centres, PerRow&& per_row) const {
    const std::int64_t rows_per_block = tiling_.block_rows, nb = blocks_of(n_, rows_per_block);
    std::vector<double> values(n_, 0.0);
    // L2 distances read the packed rows (in cache, zero-padded to dp features): centroids too.
    const std::int64_t dp = padded_depth(d_);
    std::vector<double> padded;
    const bool from_tiles = metric_ == Metric::L2 && shift_.empty() && kernel_scale_ == T(1);  // packed = stored values
    if (centres && from_tiles) {
      padded.assign(P.k * dp, 0.0);
      for (std::int64_t j = 0; j < P.k; ++j) std::copy(centres + j * d_, centres + (j + 1) * d_, &padded[j * dp]);
    }
    with_storage(x_.dtype, [&](auto tag) {
      using S = decltype(tag);
#pragma omp parallel num_threads(threads_)
      {
        AlignedVector<T> tiles;
        KernelWorkspace<T> ws;
        ws.reserve(rows_per_block);
        std::vector<T> best(rows_per_block);
        std::vector<std::int32_t> label(rows_per_block);
        std::vector<double> dist(rows_per_block, 0.0);
#pragma omp for schedule(dynamic, 1)  // per-row results: any schedule; dynamic survives a busy core
        for (std::int64_t b = 0; b < nb; ++b) {
          const std::int64_t i0 = b * rows_per_block, rows = std::min(rows_per_block, n_ - i0);
          pack_block(i0, rows, tiles);
          kernels_.argmin(tiles.data(), rows, P, tiling_.depth_chunk, ws, label.data(), best.data());
          if (centres && from_tiles) {
            for (std::int64_t r0 = 0; r0 < rows; r0 += kMicroRows) {  // one tile at a time
              const T* tile = tiles.data() + (r0 / kMicroRows) * tile_size(d_);
              const int in_tile = int(std::min<std::int64_t>(kMicroRows, rows - r0));
              const double* c[kMicroRows];
              for (int r = 0; r < in_tile; ++r) c[r] = padded.data() + std::int64_t(label[r0 + r]) * dp;
              if constexpr (std::is_same_v<T, float>)
                row_kernels_.l2_distance_tile(tile, c, dp, in_tile, dist.data() + r0);
              else
                l2_distance_tile(tile, c, dp, in_tile, dist.data() + r0);
            }
          } else if (centres) {
            exact_distances<S>(i0, rows, label.data(), centres, dist.data());
          }
          for (std::int64_t r = 0; r < rows; ++r) values[i0 + r] = per_row(i0 + r, label[r], dist[r]);
        }
      }
      return 0;
    });
    return block_total(values.data());
  }

  /// Distances of rows [i0, i0 + rows) to their centroids in fp64 from the widened stored values:
  /// L2 in the 8-way order of row_kernels.hpp (the bits of the packed-row version), cosine and
  /// inner product feature by feature in order (the reference's arithmetic).
  template <class S>
  void exact_distances(std::int64_t i0, std::int64_t rows, const std::int32_t* label, const double* centres,
                       double* out) const {
    const S* x = static_cast<const S*>(x_.data) + i0 * x_.row_stride;
    for (std::int64_t r = 0; r < rows; ++r) {
      const S* row = x + r * x_.row_stride;
      const double* c = centres + std::int64_t(label[r]) * d_;
      if (metric_ == Metric::L2) {
        if constexpr (std::is_same_v<S, float>)
          out[r] = row_kernels_.l2_distance_row(row, c, d_);
        else
          out[r] = l2_distance_row(row, c, d_);
        continue;
      }
      double dot = 0;
      if (metric_ == Metric::Cosine) {
        const double scale = row_scale_[i0 + r];
        for (std::int64_t f = 0; f < d_; ++f) dot += (widen(row[f]) * scale) * c[f];
        out[r] = 1.0 - dot;
      } else {
        for (std::int64_t f = 0; f < d_; ++f) dot += widen(row[f]) * c[f];
        out[r] = -dot;
      }
    }
  }

  /// Distance from a kernel score (used only where an approximation is good enough: k-means++
  /// candidate potentials).
  double approx_distance(std::int64_t i, T score) const {
    if (metric_ == Metric::L2) return std::max(0.0, row_scale_[i] + unscaled(score));
    if (metric_ == Metric::Cosine) return 1.0 + unscaled(score) * row_scale_[i];
    return unscaled(score);
  }

  /// A kernel score in the data's units: rows and centroids were both scaled by kernel_scale_.
  double unscaled(T score) const { return double(score) / (double(kernel_scale_) * double(kernel_scale_)); }

  void normalise(double* v) const { fkm::detail::normalise(v, d_); }

  std::vector<double> prepared(const double* c, std::int64_t m) const {
    return fkm::detail::prepared_rows(c, m, d_, metric_ == Metric::Cosine);
  }

  /// Finds the first invalid value (check_values) and the data's largest magnitude, from which
  /// the kernel scale is chosen.
  void scan_values() {
    const std::int64_t nb = blocks_of(n_, kScanBlock);
    std::vector<ValueCheck> found(nb);
    std::vector<std::int64_t> positive(nb, 0);
    std::vector<double> largest(nb, 0.0);
    with_storage(x_.dtype, [&](auto tag) {
      using S = decltype(tag);
#pragma omp parallel for num_threads(threads_) schedule(static)
      for (std::int64_t b = 0; b < nb; ++b) {
        for (std::int64_t i = b * kScanBlock; i < std::min(n_, (b + 1) * kScanBlock); ++i) {
          if (w_[i] > 0 && std::isfinite(w_[i])) ++positive[b];
          if (found[b].bad_row >= 0) continue;
          const S* row = static_cast<const S*>(x_.data) + i * x_.row_stride;
          double big = largest[b];
          for (std::int64_t f = 0; f < d_; ++f) {
            const double v = widen(row[f]);
            if (!std::isfinite(v)) {
              found[b].bad_row = i;
              found[b].bad_col = f;
              break;
            }
            big = std::max(big, std::abs(v));
          }
          largest[b] = big;
          if (found[b].bad_row < 0 && !(w_[i] >= 0 && std::isfinite(w_[i]))) {
            found[b].bad_row = i;
            found[b].in_weights = true;
          }
        }
      }
      return 0;
    });
    double big = 0;
    for (std::int64_t b = 0; b < nb; ++b) {
      if (check_.bad_row < 0 && found[b].bad_row >= 0) check_ = found[b];
      check_.positive_weights += positive[b];
      big = std::max(big, largest[b]);
    }
    data_largest_ = big;
    kernel_scale_ = T(kernel_scale_for(big));
  }

  /// 1, or for data whose largest magnitude is beyond 2^+-40 (fp32 kernels: squares of 1.8e19
  /// overflow, of 1e-23 underflow) the power of two that brings it to about 2^10. The scores of
  /// scaled rows against scaled centroids are the exact scores times scale^2: same argmin.
  static double kernel_scale_for(double largest) {
    if (!std::is_same_v<T, float> || !(largest > 0) || !std::isfinite(largest)) return 1;
    const int e = std::ilogb(largest);
    // within float's range of powers of two (subnormal data, e.g. 1e-39, would ask for 2^140)
    return e > 40 || e < -40 ? std::ldexp(1.0, std::clamp(10 - e, -126, 126)) : 1.0;
  }

  MatrixView x_;
  std::int64_t n_, d_, k_ = 0;
  Metric metric_;
  std::int64_t row_offset_;
  int threads_;
  KernelTable<T> kernels_;
  FloatRowKernels row_kernels_;
  bool unweighted_ = true;
  Tiling tiling_;
  std::vector<double> w_, dist_;
  mutable std::vector<double> row_scale_;  ///< see row_scales()
  std::vector<double> means_;              ///< per-feature means (L2), computed when binding
  std::vector<double> shift_;  ///< L2 data far from the origin: its mean, subtracted when packing
  std::vector<T> shift_t_;     ///< shift_ in the compute type
  T kernel_scale_ = T(1);      ///< rows and centroids are multiplied by it when packed (kernel_scale_for)
  double data_largest_ = 0;    ///< the data's largest magnitude
  std::vector<std::int32_t> labels_;
  std::vector<double> c_, previous_, sums_, weights_;
  bool sums_fresh_ = false;  ///< sums_/weights_ belong to the current labels
  double schedule_seconds_[3] = {kInf, kInf, kInf};  ///< the fastest time seen per SumSchedule
  std::vector<std::int32_t> counted_;   ///< the labels sums_ were made for (accumulate())
  std::int64_t counted_k_ = -1;         ///< the K they were made for
  std::int64_t moves_since_fresh_ = 0;  ///< moves applied since the sums were last made afresh
  // Pruning (Hamerly bounds, L2): lower_[i] <= the true distance from row i to every centroid
  // but labels_[i], as of the centroids bound_c_; valid while bounds_valid_.
  bool prune_ = false;
  bool bounds_valid_ = false;
  std::vector<float> lower_;
  std::vector<double> bound_c_;
  std::int64_t skipped_ = 0;  ///< last_assign_skipped()
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
