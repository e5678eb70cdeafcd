#include "progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace fkm::cli {

Progress::Progress(bool enabled, int max_iter, int n_init, std::string header)
    : header_(std::move(header)),
      enabled_(enabled), terminal_(::isatty(STDERR_FILENO) == 1), max_iter_(max_iter), n_init_(n_init) {}

Progress::~Progress() {
  if (drew_in_place_) std::fputc('\n', stderr);
}

bool Progress::on_iteration(int init_run, int iteration, const IterationRecord& rec) {
  if (!enabled_) return true;
  if (!header_.empty()) {
    std::fprintf(stderr, "%s\n", header_.c_str());
    header_.clear();
  }
  if (init_run != run_) run_seconds_ = 0;
  run_ = init_run;
  iteration_ = iteration;
  last_ = rec;
  run_seconds_ += rec.seconds;
  shown_last_ = false;
  show(iteration == 0);
  return true;
}

std::string Progress::line() const {
  const int done = iteration_ + 1;
  const double ms = 1e3 * run_seconds_ / done;
  // An upper bound: tol may stop a run earlier than max_iter.
  const double eta = ms * 1e-3 * (double(max_iter_ - done) + double(n_init_ - 1 - run_) * max_iter_);
  char buf[256];
  if (n_init_ > 1)
    std::snprintf(buf, sizeof buf, "fkm: run %d/%d  iter %d/%d  inertia %.6e  shift %.3e  %.2f ms/iter  eta <= %.1f s",
                  run_ + 1, n_init_, done, max_iter_, last_.inertia, last_.shift, ms, eta);
  else
    std::snprintf(buf, sizeof buf, "fkm: iter %d/%d  inertia %.6e  shift %.3e  %.2f ms/iter  eta <= %.1f s", done, max_iter_,
                  last_.inertia, last_.shift, ms, eta);
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
