// The live progress line of `fkm fit` on stderr: iteration, inertia, shift, ms/iter, ETA.
// On a terminal it is redrawn in place (at most 10 times a second); otherwise (a log file, a
// pipe) it is a plain line for the first iteration and then at most one every 2 seconds, so
// logs stay short. The last state is always shown by finish(). A batch of problems shows which
// problem runs: "problem 2 (3 of 3)".
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

#include "fkm/kmeans.hpp"

namespace fkm::cli {

class Progress {
 public:
  /// `header` is printed before the first iteration's line (not earlier: a fit that fails its
  /// input checks prints only its error).
  Progress(bool enabled, int max_iter, int n_init, std::string header, std::int64_t problems = 1);
  /// Ends an in-place line still open (e.g. when the fit failed), so an error starts a new line.
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  /// KMeansParams::on_iteration. Always returns true (never stops the fit).
  bool on_iteration(int init_run, int iteration, const IterationRecord& rec);
  /// The same for problem `problem` of a batch.
  bool on_iteration(std::int64_t problem, int init_run, int iteration, const IterationRecord& rec);
  /// Shows the final state and ends the in-place line.
  void finish();

 private:
  std::string line() const;
  void show(bool force);

  std::string header_;
  bool enabled_, terminal_;
  int max_iter_, n_init_;
  std::int64_t problems_;
  std::int64_t problem_ = 0;
  int run_ = 0, iteration_ = 0;
  IterationRecord last_;
  double run_seconds_ = 0;  ///< sum of this run's iteration times
  bool shown_last_ = true;
  bool drew_in_place_ = false;
  std::chrono::steady_clock::time_point last_shown_;
};

}  // namespace fkm::cli
