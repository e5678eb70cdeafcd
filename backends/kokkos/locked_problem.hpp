// Concurrent use of the Kokkos backend: a Problem that holds the process-wide Kokkos lock
// (exclusive_use(), kokkos_runtime.hpp) for the whole of every operation of the Problem it
// wraps, its destruction included. Fits, predicts and scores from several host threads then take
// turns on Kokkos, one operation at a time, and each gets the bits it gets alone.
//
// Why one lock, and not an execution-space instance per fit:
//   - Kokkos 3.4 (Debian's, the one CI builds) drives every kernel through the one default
//     instance and does not serialise host threads on it: concurrent fits on Serial gave wrong
//     results (the instance's scratch and reduction buffers are shared). Its Kokkos::sort takes
//     no instance, and fkm's deep copies and scans run on the default instance too.
//   - Where Kokkos 4 has independent instances, they would buy little here: on a host space each
//     kernel already runs on all of Kokkos' threads, and on a GPU one fit's kernels fill the device.
//   - A lock is correct on every Kokkos version and execution space, and it is held only inside
//     an operation: never across the Lloyd loop's on_iteration callback (which may call fkm
//     again) nor across the collectives of a distributed fit.
// It serialises fkm's own Kokkos work only: an application that drives Kokkos itself from other
// threads must not do so while fkm runs.
#pragma once
#include <memory>
#include <utility>

#include "fkm/backend.hpp"
#include "kokkos_runtime.hpp"

namespace fkm::kokkos {

class LockedProblem final : public Problem {
 public:
  /// Takes over a Problem constructed while the lock was held.
  explicit LockedProblem(std::unique_ptr<Problem> inner) : inner_(std::move(inner)) {}
  ~LockedProblem() override {
    const auto lock = exclusive_use();  // frees the inner problem's Kokkos views
    inner_.reset();
  }
  LockedProblem(const LockedProblem&) = delete;
  LockedProblem& operator=(const LockedProblem&) = delete;

  std::int64_t n() const override { const auto lock = exclusive_use(); return inner_->n(); }
  std::int64_t d() const override { const auto lock = exclusive_use(); return inner_->d(); }
  std::string device_name() const override { const auto lock = exclusive_use(); return inner_->device_name(); }
  ValueCheck check_values() const override { const auto lock = exclusive_use(); return inner_->check_values(); }
  double total_weight() const override { const auto lock = exclusive_use(); return inner_->total_weight(); }
  double mean_variance() const override { const auto lock = exclusive_use(); return inner_->mean_variance(); }

  void set_centroids(const double* c, std::int64_t k) override {
    const auto lock = exclusive_use();
    inner_->set_centroids(c, k);
  }
  void get_centroids(double* c) const override {
    const auto lock = exclusive_use();
    inner_->get_centroids(c);
  }

  double assign() override { const auto lock = exclusive_use(); return inner_->assign(); }
  void accumulate() override {
    const auto lock = exclusive_use();
    inner_->accumulate();
  }
  std::vector<std::int64_t> update() override { const auto lock = exclusive_use(); return inner_->update(); }
  std::vector<std::int64_t> update_from(const double* sums, const double* weights) override {
    const auto lock = exclusive_use();
    return inner_->update_from(sums, weights);
  }
  void accumulate_fixed(const FixedPointFormat& format, FixedSum* sums, FixedSum* weights) const override {
    const auto lock = exclusive_use();
    inner_->accumulate_fixed(format, sums, weights);
  }
  void replace_centroids(const std::int64_t* ids, std::int64_t m, const double* rows) override {
    const auto lock = exclusive_use();
    inner_->replace_centroids(ids, m, rows);
  }
  double shift() const override { const auto lock = exclusive_use(); return inner_->shift(); }

  void get_labels(std::int32_t* out) const override {
    const auto lock = exclusive_use();
    inner_->get_labels(out);
  }
  void get_distances(double* out) const override {
    const auto lock = exclusive_use();
    inner_->get_distances(out);
  }

  double update_nearest(const double* c, std::int64_t m, bool reset, std::int64_t first_label) override {
    const auto lock = exclusive_use();
    return inner_->update_nearest(c, m, reset, first_label);
  }
  void potentials(const double* c, std::int64_t m, double* out) const override {
    const auto lock = exclusive_use();
    inner_->potentials(c, m, out);
  }
  void sample(const double* targets, std::int64_t m, bool by_weight, std::int64_t* out) const override {
    const auto lock = exclusive_use();
    inner_->sample(targets, m, by_weight, out);
  }
  std::vector<std::int64_t> sample_independent(double scale, double potential, std::uint64_t seed) const override {
    const auto lock = exclusive_use();
    return inner_->sample_independent(scale, potential, seed);
  }
  void gather_rows(const std::int64_t* idx, std::int64_t m, double* out) const override {
    const auto lock = exclusive_use();
    inner_->gather_rows(idx, m, out);
  }
  void label_weights(std::int64_t m, double* out) const override {
    const auto lock = exclusive_use();
    inner_->label_weights(m, out);
  }
  std::vector<std::int64_t> farthest_points(std::int64_t m) const override {
    const auto lock = exclusive_use();
    return inner_->farthest_points(m);
  }

 private:
  std::unique_ptr<Problem> inner_;
};

}  // namespace fkm::kokkos
