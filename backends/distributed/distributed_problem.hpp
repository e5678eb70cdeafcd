// DistributedProblem: one Problem over the rows of all processes, made of a local Problem (any
// backend) per process holding that process's shard. The Lloyd loop and the initialisation
// algorithms run unchanged on it, on every process, in lock step: every operation is collective
// and returns the same values on every process.
//
// Results are bitwise the same for any number of processes and any split of the rows (given the
// row order), because every sum that feeds a result or a decision is exact:
//   - per-cluster sums and weights: fixed-point integers (Problem::accumulate_fixed) on a grid
//     fixed from the global data range, combined by integer sums (on the host, or in device
//     memory where the communicator and every backend can: Problem::accumulate_fixed_words);
//   - inertia, potentials, total weight: ExactSum long accumulators of the per-point terms;
//   - inverse-CDF sampling: fixed-point prefix sums over the global row order;
//   - farthest points, independent draws, gathered rows: chosen by global row index.
// The local backend must compute each point's label and distance from that point alone (not
// from its position in the shard); the reference and CPU backends do.
//
// Indices in and out (sample, farthest_points, gather_rows, sample_independent) are global row
// indices; get_labels / get_distances give this process's rows.
#pragma once
#include <memory>
#include <vector>

#include "communicator.hpp"
#include "fkm/backend.hpp"

namespace fkm::detail {

class DistributedProblem final : public Problem {
 public:
  /// Collective. spec: the local shard as bound into `local` (spec.row_offset = global index of
  /// its first row); the views must outlive this object.
  DistributedProblem(Communicator& comm, const Backend& backend, const ProblemSpec& spec, std::unique_ptr<Problem> local);

  std::int64_t n() const override { return n_global_; }
  std::int64_t d() const override { return d_; }
  std::string device_name() const override;
  ValueCheck check_values() const override;
  double total_weight() const override;
  double mean_variance() const override;

  void set_centroids(const double* c, std::int64_t k) override;
  void get_centroids(double* c) const override { local_->get_centroids(c); }
  double assign() override;
  void accumulate() override;
  std::vector<std::int64_t> update() override;
  void replace_centroids(const std::int64_t* ids, std::int64_t m, const double* rows) override;
  double shift() const override { return local_->shift(); }

  void get_labels(std::int32_t* out) const override { local_->get_labels(out); }
  void get_distances(double* out) const override { local_->get_distances(out); }

  double update_nearest(const double* c, std::int64_t m, bool reset, std::int64_t first_label) override;
  void potentials(const double* c, std::int64_t m, double* out) const override;
  void sample(const double* targets, std::int64_t m, bool by_weight, std::int64_t* out) const override;
  std::vector<std::int64_t> sample_independent(double scale, double potential, std::uint64_t seed) const override;
  void gather_rows(const std::int64_t* idx, std::int64_t m, double* out) const override;
  void label_weights(std::int64_t m, double* out) const override;
  std::vector<std::int64_t> farthest_points(std::int64_t m) const override;

  std::int64_t local_rows() const { return n_local_; }
  std::int64_t row_offset() const { return offset_; }

 private:
  template <class Step>
  void step(Step&& s) const;
  /// Exact sum over all processes of w_i * v_i (terms with w_i == 0 count as 0).
  double weighted_sum(const std::vector<double>& v) const;
  /// weighted_sum of the local backend's distances, summed by the backend where it can
  /// (Problem::exact_weighted_distance_sum), else from distances().
  double weighted_distance_sum() const;
  /// The local distances on the host, copied from the backend when they changed since.
  const std::vector<double>& distances() const;
  /// Calls f(first local row, row count, rows as the metric sees them) for blocks of local rows.
  template <class F>
  void for_row_blocks(F&& f) const;
  const std::vector<double>& feature_max_abs() const;
  double max_weight() const;
  const FixedPointFormat& format() const;
  Problem& scratch() const;

  Communicator& comm_;
  const Backend& backend_;
  ProblemSpec spec_;
  std::unique_ptr<Problem> local_;
  std::int64_t n_local_ = 0, n_global_ = 0, offset_ = 0, d_ = 0, k_ = 0;
  int threads_ = 1;  ///< for the per-point host loops
  std::vector<double> w_;     ///< local weights
  mutable std::vector<double> dist_;  ///< local nearest-centre distances (host copy)
  mutable bool dist_stale_ = false;   ///< the backend's distances changed since dist_ was copied
  mutable int local_sums_ = -1;       ///< exact_weighted_distance_sum offered everywhere: 1, nowhere: 0, unknown: -1
  std::vector<double> sums_, weights_;  ///< reduced K x D and K totals of the last accumulate() (host path)
  int device_sums_ = -1;  ///< totals summed in device memory (Communicator::sum_device) everywhere: 1, nowhere: 0, unknown: -1

  // Facts of the whole data set, computed on first use (collectively, by every process).
  mutable std::unique_ptr<Problem> scratch_;  ///< a second binding, for distances to candidates
  mutable std::vector<double> feature_max_abs_;
  mutable double max_weight_ = -1, total_weight_ = -1, mean_variance_ = -1;
  mutable FixedPointFormat format_;
};

}  // namespace fkm::detail
