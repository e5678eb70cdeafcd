#include "progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace fkm::cli {

Progress::Progress(bool enabled, int max_iter, int n_init, std::string header, std::int64_t problems)
    : header_(std::move(header)),
      enabled_(enabled),
      terminal_(::isatty(STDERR_FILENO) == 1),
      max_iter_(max_iter),
      n_init_(n_init),
      problems_(problems) {}

Progress::~Progress() {
  if (drew_in_place_) std::fputc('\n', stderr);
}

bool Progress::on_iteration(int init_run, int iteration, const IterationRecord& rec) {
  return on_iteration(0, init_run, iteration, rec);
}

bool Progress::on_iteration(std::int64_t problem, int init_run, int iteration, const IterationRecord& rec) {
  if (!enabled_) return true;
  if (!header_.empty()) {
    std::fprintf(stderr, "%s\n", header_.c_str());
    header_.clear();
  }
  if (init_run != run_ || problem != problem_) run_seconds_ = 0;
  problem_ = problem;
  run_ = init_run;
  iteration_ = iteration;
  last_ = rec;
  run_seconds_ += rec.seconds;
  shown_last_ = false;
  show(iteration == 0 && problem == 0);  // a batch: only its first problem forces a line, so logs stay short
  return true;
}

std::string Progress::line() const {
  const int done = iteration_ + 1;
  const double ms = 1e3 * run_seconds_ / done;
  // An upper bound: tol may stop a run earlier than max_iter.
  const double runs_left = double(n_init_ - 1 - run_) + double(problems_ - 1 - problem_) * n_init_;
  const double eta = ms * 1e-3 * (double(max_iter_ - done) + runs_left * max_iter_);
  // The problem by its index (as errors and the report name it), then how far the batch is.
  char where[96] = "";
  if (problems_ > 1)
    std::snprintf(where, sizeof where, "problem %lld (%lld of %lld)  ", (long long)problem_, (long long)problem_ + 1,
                  (long long)problems_);
  char run[32] = "";
  if (n_init_ > 1) std::snprintf(run, sizeof run, "run %d/%d  ", run_ + 1, n_init_);
  char buf[320];
  std::snprintf(buf, sizeof buf, "fkm: %s%siter %d/%d  inertia %.6e  shift %.3e  %.2f ms/iter  eta <= %.1f s", where, run,
                done, max_iter_, last_.inertia, last_.shift, ms, eta);
  return buf;
}

void Progress::show(bool force) {
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_shown_).count();
  if (!force && since < (terminal_ ? 0.1 : 2.0)) return;
  last_shown_ = now;
  shown_last_ = true;
  if (terminal_) {
    std::fprintf(stderr, "\r%s\033[K", line().c_str());  // carriage return, clear to end of line
    drew_in_place_ = true;
  } else {
    std::fprintf(stderr, "%s\n", line().c_str());
  }
  std::fflush(stderr);
}

void Progress::finish() {
  if (!enabled_) return;
  if (!shown_last_) show(true);
  if (drew_in_place_) std::fputc('\n', stderr);
  drew_in_place_ = false;
}

}  // namespace fkm::cli
