// The Kokkos Problem: the data, labels, distances and centroids of one fit, all in Kokkos'
// default memory space; every per-point operation is a Kokkos kernel. The host passes in only
// K x D centroids and small index lists and reads back scalars (and, for empty clusters or an
// init fallback, the N distances: see farthest_points).
//
// Data placement ("views over caller memory where the memory space allows"):
//   host data,   host-accessible space (Serial/OpenMP/Threads) -> viewed in place, any dtype/stride
//   host data,   GPU space (Cuda/HIP/SYCL)                      -> copied once to the device
//   device data, GPU space                                      -> viewed in place
// Weights are widened once into an N-vector of fp64 (1 when absent).
//
// Numerics: labels from FlashAssign (flash_assign.hpp) in the dtype's compute type, distances
// recomputed in fp64 with the reference's arithmetic; per-cluster sums and weights in fp64 in
// index order (segment_sums.hpp), the same bits as the reference, or on a fixed-point grid as
// exact integers (accumulate_fixed, for distributed fits); all other floating-point totals in
// the fixed association of ordered_sum.hpp. Same input => same bits, on every run.
//
// Not thread safe by itself: kokkos_backend.cpp hands it out inside a LockedProblem
// (locked_problem.hpp), which serialises the operations of all Kokkos problems.
//
// Public members only: NVCC does not allow device lambdas in private member functions.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "../../core/src/convert.hpp"
#include "../../core/src/fixed_point.hpp"
#include "../../core/src/unit_rows.hpp"
#include "cluster_order.hpp"
#include "flash_assign.hpp"
#include "fkm/backend.hpp"
#include "fkm/error.hpp"
#include "kokkos_runtime.hpp"
#include "ordered_sum.hpp"
#include "segment_sums.hpp"

namespace fkm::kokkos {

/// Unit-length copies of m host rows for cosine (the reference's normalise), else a plain copy.
inline std::vector<double> prepared_rows(const double* c, Index m, Index d, Metric metric) {
  return fkm::detail::prepared_rows(c, m, d, metric == Metric::Cosine);
}

/// The data's elements in Kokkos' memory space: the caller's memory when kernels can read it,
/// else a contiguous device copy (stride = d).
template <DType DT>
Rows<DT> place_rows(const MatrixView& v) {
  using S = typename Storage<DT>::type;
  Rows<DT> x;
  x.n = v.rows;
  x.d = v.cols;
  // (A shard of a distributed fit may have no rows, whatever its stride.)
  const Index extent = v.rows > 0 ? (v.rows - 1) * v.row_stride + v.cols : 0;
  if (v.space == MemorySpace::Device) check_device_pointer(v.data, extent, v.device, "data");
  if (v.space == MemorySpace::Device || kernels_read_host) {
    x.data = Kokkos::View<const S*, MemSpace>(static_cast<const S*>(v.data), extent);
    x.stride = v.row_stride;
    return x;
  }
  auto copy = uninitialised<Kokkos::View<S*, MemSpace>>("fkm::kokkos::data", v.rows * v.cols);
  auto host = Kokkos::create_mirror_view(copy);
  const S* src = static_cast<const S*>(v.data);
  for (Index i = 0; i < v.rows; ++i) std::memcpy(&host(i * v.cols), src + i * v.row_stride, sizeof(S) * v.cols);
  Kokkos::deep_copy(copy, host);
  x.data = copy;
  x.stride = v.cols;
  return x;
}

/// The weights as an fp64 device vector (all 1 when absent).
inline DeviceVector<double> place_weights(const VectorView& w, Index n) {
  auto out = uninitialised<DeviceVector<double>>("fkm::kokkos::weights", n);
  if (w.data == nullptr) {
    Kokkos::deep_copy(out, 1.0);
    return out;
  }
  if (w.space == MemorySpace::Host) {
    auto host = Kokkos::create_mirror_view(out);
    for (Index i = 0; i < n; ++i) host(i) = fkm::detail::weight_at(w, i);
    Kokkos::deep_copy(out, host);
    return out;
  }
  check_device_pointer(w.data, n, w.device, "weights");
  if (w.dtype == DType::F64) {
    Kokkos::deep_copy(out, Kokkos::View<const double*, MemSpace>(static_cast<const double*>(w.data), n));
  } else {
    Kokkos::View<const float*, MemSpace> in(static_cast<const float*>(w.data), n);
    Kokkos::parallel_for("fkm::kokkos::widen_weights", Range(0, n), KOKKOS_LAMBDA(Index i) { out(i) = double(in(i)); });
  }
  return out;
}

template <DType DT>
class KokkosProblem final : public Problem {
 public:
  using T = typename Storage<DT>::compute;
  static constexpr double kInf = std::numeric_limits<double>::infinity();

  explicit KokkosProblem(const ProblemSpec& s)
      : x_(place_rows<DT>(s.x)),
        n_(s.x.rows),
        d_(s.x.cols),
        metric_(s.metric),
        row_offset_(s.row_offset),
        w_(place_weights(s.weights, n_)),
        dist_(uninitialised<DeviceVector<double>>("fkm::kokkos::dist", n_)),
        labels_("fkm::kokkos::labels", n_) {
    Kokkos::deep_copy(dist_, kInf);
    if (metric_ == Metric::Cosine) compute_row_scale();
    scan_values();
  }

  std::int64_t n() const override { return n_; }
  std::int64_t d() const override { return d_; }
  std::string device_name() const override { return describe_device().name; }
  ValueCheck check_values() const override { return check_; }

  double total_weight() const override {
    const auto w = w_;
    return ordered_sum(n_, KOKKOS_LAMBDA(Index i) { return w(i); });
  }

  double mean_variance() const override {
    const auto x = x_;
    const auto scale = scale_;
    const bool cosine = metric_ == Metric::Cosine;
    double total = 0;
    for (Index f = 0; f < d_; ++f) {
      const double mean =
          ordered_sum(n_, KOKKOS_LAMBDA(Index i) { return cosine ? x.at64(i, f) * scale(i) : x.at64(i, f); }) / double(n_);
      const double var = ordered_sum(n_, KOKKOS_LAMBDA(Index i) {
        const double v = (cosine ? x.at64(i, f) * scale(i) : x.at64(i, f)) - mean;
        return v * v;
      });
      total += var / double(n_);
    }
    return total / double(d_);
  }

  // ---- centroids -----------------------------------------------------------------------------
  void set_centroids(const double* c, std::int64_t k) override {
    k_ = k;
    const auto rows = prepared_rows(c, k, d_, metric_);
    c_ = to_device("fkm::kokkos::centroids", rows.data(), k, d_);
    previous_ = to_device("fkm::kokkos::previous_centroids", rows.data(), k, d_);
    sums_ = DeviceMatrix<double>("fkm::kokkos::sums", k, d_);
    weights_ = DeviceVector<double>("fkm::kokkos::cluster_weights", k);
    // Given centroids may be far larger than the data (Lloyd's own stay within its range, and
    // the scale is kept until the next set_centroids, as the CPU backend does).
    centres_ = pack_centres<T>(c_, metric_, kernel_scale_for<T>(std::max(data_largest_, largest_magnitude(rows.data(), k * d_))));
  }

  void get_centroids(double* c) const override {
    Kokkos::deep_copy(HostMatrix<double>(c, k_, d_), c_);
  }

  // ---- one Lloyd iteration -------------------------------------------------------------------
  double assign() override {
    flash_assign(x_, scale_, metric_, centres_, labels_, dist_);
    return weighted_distance_sum();
  }

  void accumulate() override {
    const ClusterOrder& groups = sorter_.sort(labels_, n_, k_);
    Kokkos::parallel_for("fkm::kokkos::segment_weights", Range(0, k_), SegmentWeights<Fp64Terms>{groups, w_, {}, weights_});
    Kokkos::parallel_for("fkm::kokkos::segment_sums", Kokkos::TeamPolicy<ExecSpace>(int(k_), Kokkos::AUTO),
                         SegmentSums<DT, Fp64Terms>{groups, x_, w_, scale_, metric_ == Metric::Cosine, {}, sums_});
  }

  std::vector<std::int64_t> update() override { return update_with(sums_, weights_); }

  std::vector<std::int64_t> update_from(const double* sums, const double* weights) override {
    return update_with(to_device("fkm::kokkos::given_sums", sums, k_, d_), to_device("fkm::kokkos::given_weights", weights, k_));
  }

  /// The same walk over the same sorted points as accumulate(), each term rounded onto the
  /// format's grid: exact integer totals, so the same for any thread count and row split.
  void accumulate_fixed(const FixedPointFormat& format, FixedSum* sums, FixedSum* weights) const override {
    if (Index(format.exponent.size()) != d_)
      throw Error(ErrorCode::InvalidArgument, "kokkos backend: accumulate_fixed got a format of " +
                                                  std::to_string(format.exponent.size()) + " exponents for " +
                                                  std::to_string(d_) + " features");
    std::vector<fkm::detail::FixedScale> feature_grid(d_);
    for (Index f = 0; f < d_; ++f) feature_grid[f] = fkm::detail::fixed_scale(format.exponent[f]);
    const fkm::detail::FixedScale weight_grid = fkm::detail::fixed_scale(format.weight_exponent);
    const FixedTerms feature_terms{to_device("fkm::kokkos::fixed_grid", feature_grid.data(), d_)};
    const FixedTerms weight_terms{to_device("fkm::kokkos::fixed_weight_grid", &weight_grid, 1)};
    auto fixed_sums = uninitialised<DeviceMatrix<FixedSum>>("fkm::kokkos::fixed_sums", k_, d_);
    auto fixed_weights = uninitialised<DeviceVector<FixedSum>>("fkm::kokkos::fixed_weights", k_);
    const ClusterOrder& groups = sorter_.sort(labels_, n_, k_);
    Kokkos::parallel_for("fkm::kokkos::segment_fixed_weights", Range(0, k_),
                         SegmentWeights<FixedTerms>{groups, w_, weight_terms, fixed_weights});
    Kokkos::parallel_for("fkm::kokkos::segment_fixed_sums", Kokkos::TeamPolicy<ExecSpace>(int(k_), Kokkos::AUTO),
                         SegmentSums<DT, FixedTerms>{groups, x_, w_, scale_, metric_ == Metric::Cosine, feature_terms, fixed_sums});
    Kokkos::deep_copy(HostMatrix<FixedSum>(sums, k_, d_), fixed_sums);
    Kokkos::deep_copy(HostVector<FixedSum>(weights, k_), fixed_weights);
  }

  void replace_centroids(const std::int64_t* ids, std::int64_t m, const double* rows) override {
    if (m <= 0) return;
    const auto idx = to_device("fkm::kokkos::replace_ids", ids, m);
    const auto src = to_device("fkm::kokkos::replace_rows", rows, m, d_);
    const auto c = c_;
    const Index d = d_;
    Kokkos::parallel_for("fkm::kokkos::replace_centroids", Range(0, m), KOKKOS_LAMBDA(Index t) {
      for (Index f = 0; f < d; ++f) c(idx(t), f) = src(t, f);
    });
    repack_centres(centres_, metric_);
  }

  double shift() const override {
    const auto c = c_;
    const auto prev = previous_;
    const Index d = d_;
    return ordered_sum(k_ * d_, KOKKOS_LAMBDA(Index q) {
      const double delta = c(q / d, q % d) - prev(q / d, q % d);
      return delta * delta;
    });
  }

  // ---- outputs ---------------------------------------------------------------------------------
  void get_labels(std::int32_t* out) const override { Kokkos::deep_copy(HostVector<std::int32_t>(out, n_), labels_); }
  void get_distances(double* out) const override { Kokkos::deep_copy(HostVector<double>(out, n_), dist_); }

  // ---- initialisation primitives -----------------------------------------------------------
  double update_nearest(const double* c, std::int64_t m, bool reset, std::int64_t first_label) override {
    if (reset) Kokkos::deep_copy(dist_, kInf);
    if (m == 0) return kInf;
    nearest_of(c, m);
    const auto dist = dist_;
    const auto labels = labels_;
    const auto fresh = scratch_dist_;
    const auto nearest = scratch_labels_;
    const std::int32_t first = std::int32_t(first_label);
    Kokkos::parallel_for("fkm::kokkos::min_distance", Range(0, n_), KOKKOS_LAMBDA(Index i) {
      if (fresh(i) < dist(i)) {
        dist(i) = fresh(i);
        labels(i) = first + nearest(i);
      }
    });
    return weighted_distance_sum();
  }

  void potentials(const double* c, std::int64_t m, double* out) const override {
    const auto rows = prepared_rows(c, m, d_, metric_);
    const auto centres = to_device("fkm::kokkos::candidates", rows.data(), m, d_);
    const auto x = x_;
    const auto scale = scale_;
    const auto w = w_;
    const auto dist = dist_;
    const Metric metric = metric_;
    for (Index j = 0; j < m; ++j)
      out[j] = ordered_sum(n_, KOKKOS_LAMBDA(Index i) {
        const double dj = exact_distance(x, scale, metric, i, centres, j);
        return w(i) * (dj < dist(i) ? dj : dist(i));
      });
  }

  void sample(const double* targets, std::int64_t m, bool by_weight, std::int64_t* out) const override {
    if (m <= 0) return;
    const auto w = w_;
    const auto dist = dist_;
    const Index n = n_;
    const auto p = KOKKOS_LAMBDA(Index i) { return by_weight ? w(i) : w(i) * dist(i); };
    // Block sums left to right, their running total on the host, then each target finds its
    // block there and its point by a left-to-right scan of that block on the device.
    const Index nb = blocks_of(n, kSumBlock);
    auto partial = uninitialised<DeviceVector<double>>("fkm::kokkos::sample_blocks", nb);
    Kokkos::parallel_for("fkm::kokkos::sample_block_sums", Range(0, nb), BlockSums<decltype(p)>{p, n, partial});
    auto block_end = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), partial);
    for (Index b = 1; b < nb; ++b) block_end(b) += block_end(b - 1);
    Index last_positive = 0;
    Kokkos::parallel_reduce(
        "fkm::kokkos::last_positive", Range(0, n),
        KOKKOS_LAMBDA(Index i, Index & last) {
          if (p(i) > 0 && i > last) last = i;
        },
        Kokkos::Max<Index>(last_positive));
    last_positive = std::max<Index>(last_positive, 0);
    HostVector<Index> block_of_target("fkm::kokkos::target_block", m);
    HostVector<double> base("fkm::kokkos::target_base", m);
    for (Index t = 0; t < m; ++t) {
      const Index b = std::upper_bound(block_end.data(), block_end.data() + nb, targets[t]) - block_end.data();
      block_of_target(t) = b;
      base(t) = b > 0 && b <= nb ? block_end(b - 1) : 0.0;
    }
    const auto blocks = Kokkos::create_mirror_view_and_copy(MemSpace(), block_of_target);
    const auto start = Kokkos::create_mirror_view_and_copy(MemSpace(), base);
    const auto goal = to_device("fkm::kokkos::sample_targets", targets, m);
    auto chosen = uninitialised<DeviceVector<Index>>("fkm::kokkos::sample_chosen", m);
    Kokkos::parallel_for("fkm::kokkos::sample_in_block", Range(0, m), KOKKOS_LAMBDA(Index t) {
      Index pick = last_positive;
      const Index b = blocks(t);
      if (b < nb) {
        double s = start(t);
        const Index i1 = (b + 1) * kSumBlock < n ? (b + 1) * kSumBlock : n;
        for (Index i = b * kSumBlock; i < i1; ++i) {
          s += p(i);
          if (s > goal(t)) {
            pick = i < last_positive ? i : last_positive;
            break;
          }
        }
      }
      chosen(t) = pick;
    });
    Kokkos::deep_copy(HostVector<Index>(out, m), chosen);
  }

  std::vector<std::int64_t> sample_independent(double scale, double potential, std::uint64_t seed) const override {
    const auto w = w_;
    const auto dist = dist_;
    const Index n = n_, offset = row_offset_;
    const auto drawn = KOKKOS_LAMBDA(Index i) {
      return device_uniform01(seed, std::uint64_t(offset + i)) * potential < scale * w(i) * dist(i);
    };
    const Index nb = blocks_of(n, kSumBlock);
    auto counts = uninitialised<DeviceVector<Index>>("fkm::kokkos::drawn_counts", nb);
    auto offsets = uninitialised<DeviceVector<Index>>("fkm::kokkos::drawn_offsets", nb);
    Kokkos::parallel_for("fkm::kokkos::count_drawn", Range(0, nb), KOKKOS_LAMBDA(Index b) {
      Index c = 0;
      for (Index i = b * kSumBlock; i < n && i < (b + 1) * kSumBlock; ++i) c += drawn(i) ? 1 : 0;
      counts(b) = c;
    });
    const Index total = exclusive_scan(counts, offsets);
    std::vector<std::int64_t> out(total);
    if (total == 0) return out;
    auto picked = uninitialised<DeviceVector<Index>>("fkm::kokkos::drawn", total);
    Kokkos::parallel_for("fkm::kokkos::write_drawn", Range(0, nb), KOKKOS_LAMBDA(Index b) {
      Index at = offsets(b);
      for (Index i = b * kSumBlock; i < n && i < (b + 1) * kSumBlock; ++i)
        if (drawn(i)) picked(at++) = i;
    });
    Kokkos::deep_copy(HostVector<Index>(out.data(), total), picked);
    return out;
  }

  void gather_rows(const std::int64_t* idx, std::int64_t m, double* out) const override {
    if (m <= 0) return;
    const auto ids = to_device("fkm::kokkos::gather_ids", idx, m);
    auto rows = uninitialised<DeviceMatrix<double>>("fkm::kokkos::gathered", m, d_);
    const auto x = x_;
    const auto scale = scale_;
    const bool cosine = metric_ == Metric::Cosine;
    const Index d = d_;
    Kokkos::parallel_for("fkm::kokkos::gather_rows", Range(0, m), KOKKOS_LAMBDA(Index t) {
      for (Index f = 0; f < d; ++f) rows(t, f) = cosine ? x.at64(ids(t), f) * scale(ids(t)) : x.at64(ids(t), f);
    });
    Kokkos::deep_copy(HostMatrix<double>(out, m, d_), rows);
  }

  void label_weights(std::int64_t m, double* out) const override {
    if (m <= 0) return;
    const ClusterOrder& groups = init_sorter_.sort(labels_, n_, m);  // labels >= m: left out
    DeviceVector<double> weights("fkm::kokkos::label_weights", m);
    Kokkos::parallel_for("fkm::kokkos::segment_weights", Range(0, m), SegmentWeights<Fp64Terms>{groups, w_, {}, weights});
    Kokkos::deep_copy(HostVector<double>(out, m), weights);
  }

  /// Copies the N distances and weights to the host: called only when clusters are empty (and
  /// as the init fallback), where a device top-m selection would not pay for itself.
  std::vector<std::int64_t> farthest_points(std::int64_t m) const override {
    const auto dist = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), dist_);
    const auto w = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), w_);
    std::vector<std::int64_t> idx;
    for (Index i = 0; i < n_; ++i)
      if (w(i) > 0) idx.push_back(i);
    const Index take = std::min<Index>(m, Index(idx.size()));
    std::partial_sort(idx.begin(), idx.begin() + take, idx.end(),
                      [&](Index a, Index b) { return dist(a) > dist(b) || (dist(a) == dist(b) && a < b); });
    idx.resize(take);
    return idx;
  }

  // ---- helpers (public: see the note at the top) -----------------------------------------------
  /// update() from per-cluster sums and weights in device memory (its own or given ones). The
  /// views are taken by value: the kernel below captures them by copy, as device lambdas must.
  std::vector<std::int64_t> update_with(DeviceMatrix<double> sums, DeviceVector<double> weights) {
    Kokkos::deep_copy(previous_, c_);
    const auto c = c_;
    const Index d = d_;
    const bool cosine = metric_ == Metric::Cosine;
    // Same arithmetic as the reference: divide, then (cosine) normalise in feature order.
    Kokkos::parallel_for("fkm::kokkos::divide_sums", Range(0, k_), KOKKOS_LAMBDA(Index j) {
      if (!(weights(j) > 0)) return;
      for (Index f = 0; f < d; ++f) c(j, f) = sums(j, f) / weights(j);
      if (!cosine) return;
      double s = 0;
      for (Index f = 0; f < d; ++f) s += c(j, f) * c(j, f);
      if (s > 0) {
        const double inv = 1.0 / device_sqrt(s);
        for (Index f = 0; f < d; ++f) c(j, f) *= inv;
      }
    });
    repack_centres(centres_, metric_);
    Index n_empty = 0;
    Kokkos::parallel_reduce(
        "fkm::kokkos::count_empty", Range(0, k_), KOKKOS_LAMBDA(Index j, Index & count) { count += weights(j) > 0 ? 0 : 1; },
        n_empty);
    std::vector<std::int64_t> empties;
    if (n_empty == 0) return empties;
    auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), weights);
    for (Index j = 0; j < k_; ++j)
      if (!(host(j) > 0)) empties.push_back(j);
    return empties;
  }

  double weighted_distance_sum() const {
    const auto w = w_;
    const auto dist = dist_;
    return ordered_sum(n_, KOKKOS_LAMBDA(Index i) { return w(i) * dist(i); });
  }

  /// scratch_labels_ / scratch_dist_ := nearest of the m host centres c and the distance to it.
  /// (const: the scratch buffers are only a cache.)
  void nearest_of(const double* c, Index m) const {
    const auto rows = prepared_rows(c, m, d_, metric_);
    const double scale = kernel_scale_for<T>(std::max(data_largest_, largest_magnitude(rows.data(), m * d_)));
    const auto centres = pack_centres<T>(to_device("fkm::kokkos::candidates", rows.data(), m, d_), metric_, scale);
    if (Index(scratch_labels_.extent(0)) != n_) {
      scratch_labels_ = uninitialised<DeviceVector<std::int32_t>>("fkm::kokkos::nearest_labels", n_);
      scratch_dist_ = uninitialised<DeviceVector<double>>("fkm::kokkos::nearest_dist", n_);
    }
    flash_assign(x_, scale_, metric_, centres, scratch_labels_, scratch_dist_);
  }

  void compute_row_scale() {
    scale_ = uninitialised<DeviceVector<double>>("fkm::kokkos::row_scale", n_);
    const auto x = x_;
    const auto scale = scale_;
    // 1/||x_i|| in the reference's arithmetic (0 for a zero row, which then stays zero).
    Kokkos::parallel_for("fkm::kokkos::row_scale", Range(0, n_), KOKKOS_LAMBDA(Index i) {
      double s = 0;
      for (Index f = 0; f < x.d; ++f) s += x.at64(i, f) * x.at64(i, f);
      scale(i) = s > 0 ? 1.0 / device_sqrt(s) : 0.0;
    });
  }

  /// The first non-finite value in row-major order, the first bad weight, the number of
  /// positive weights and the data's largest finite magnitude, for the kernel scale (index
  /// minima, counts and a maximum: exact in any reduction order).
  void scan_values() {
    const auto x = x_;
    const auto w = w_;
    const Index d = d_, none = std::numeric_limits<Index>::max();
    Index first_bad = none, first_bad_weight = none, positive = 0;
    Kokkos::parallel_reduce(
        "fkm::kokkos::find_nonfinite", Range(0, n_),
        KOKKOS_LAMBDA(Index i, Index & first) {
          for (Index f = 0; f < d; ++f)
            if (!is_finite(x.at64(i, f))) {
              if (i * d + f < first) first = i * d + f;
              return;
            }
        },
        Kokkos::Min<Index>(first_bad));
    Kokkos::parallel_reduce(
        "fkm::kokkos::find_bad_weight", Range(0, n_),
        KOKKOS_LAMBDA(Index i, Index & first) {
          if (!(w(i) >= 0 && is_finite(w(i))) && i < first) first = i;
        },
        Kokkos::Min<Index>(first_bad_weight));
    Kokkos::parallel_reduce(
        "fkm::kokkos::count_positive", Range(0, n_),
        KOKKOS_LAMBDA(Index i, Index & count) { count += (w(i) > 0 && is_finite(w(i))) ? 1 : 0; }, positive);
    double largest = 0;
    Kokkos::parallel_reduce(
        "fkm::kokkos::largest_magnitude", Range(0, n_),
        KOKKOS_LAMBDA(Index i, double& big) {
          for (Index f = 0; f < d; ++f) {
            const double v = x.at64(i, f) < 0 ? -x.at64(i, f) : x.at64(i, f);
            if (is_finite(v) && v > big) big = v;
          }
        },
        Kokkos::Max<double>(largest));
    data_largest_ = std::max(largest, 0.0);  // (Max's identity is the lowest double when n = 0)
    // As the reference: rows in order, a row's data before its weight.
    const Index bad_row = first_bad == none ? none : first_bad / d;
    if (bad_row != none && bad_row <= first_bad_weight) {
      check_.bad_row = bad_row;
      check_.bad_col = first_bad % d;
    } else if (first_bad_weight != none) {
      check_.bad_row = first_bad_weight;
      check_.in_weights = true;
    }
    check_.positive_weights = positive;
  }

 private:
  Rows<DT> x_;
  Index n_, d_, k_ = 0;
  Metric metric_;
  Index row_offset_;
  DeviceVector<double> w_, scale_, dist_;
  DeviceVector<std::int32_t> labels_;
  DeviceMatrix<double> c_, previous_, sums_;
  DeviceVector<double> weights_;
  Centres<T> centres_;
  ValueCheck check_;
  double data_largest_ = 0;  ///< the data's largest finite magnitude (scan_values)
  // The label sort of accumulate() and accumulate_fixed() (const: its buffers are only a cache).
  mutable LabelSorter sorter_;
  // Buffers of the init primitives, kept between calls.
  mutable LabelSorter init_sorter_;
  mutable DeviceVector<std::int32_t> scratch_labels_;
  mutable DeviceVector<double> scratch_dist_;
};

}  // namespace fkm::kokkos
