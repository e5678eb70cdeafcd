#include "outputs.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "fkm/error.hpp"

namespace fkm::cli {
namespace {

// Temporary names for the signal handler, in plain arrays: it may only call
// async-signal-safe functions (unlink, write, _exit).
constexpr int kMaxStaged = 8;
constexpr std::size_t kMaxPath = 4096;
char g_temp_paths[kMaxStaged][kMaxPath];
std::atomic<int> g_temp_count{0};
// Deferred mode (a fit, which polls at iteration boundaries): the first signal is only recorded.
std::atomic<bool> g_deferred{false};
volatile std::sig_atomic_t g_signal = 0;
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<bool>::is_always_lock_free,
              "the signal handler needs lock-free atomics");

void say(const char* text) {
  const ssize_t ignored = ::write(STDERR_FILENO, text, std::strlen(text));
  (void)ignored;
}

extern "C" void on_signal(int sig) {
  if (g_deferred.load() && g_signal == 0) {
    g_signal = sig;  // the fit stops at its next iteration boundary (interrupt_signal())
    return;
  }
  const int n = g_temp_count.load();
  for (int i = 0; i < n; ++i)
    if (g_temp_paths[i][0] != '\0') ::unlink(g_temp_paths[i]);
  say("\nfkm: interrupted by ");
  say(signal_name(sig));
  say(g_signal != 0 ? " again: stopped at once; no output file written\n" : ": stopped; no output file written\n");
  ::_exit(128 + sig);
}

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};

void install_handlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : kSignals) sigaddset(&sa.sa_mask, sig);  // one handler at a time
  for (int sig : kSignals) sigaction(sig, &sa, nullptr);
}

void restore_handlers() {
  for (int sig : kSignals) std::signal(sig, SIG_DFL);
  g_temp_count.store(0);
  g_deferred.store(false);
}

/// Blocks the three signals for this object's lifetime (the renames of commit_all).
class SignalsBlocked {
 public:
  SignalsBlocked() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : kSignals) sigaddset(&set, sig);
    sigprocmask(SIG_BLOCK, &set, &old_);
  }
  ~SignalsBlocked() { sigprocmask(SIG_SETMASK, &old_, nullptr); }

 private:
  sigset_t old_;
};

}  // namespace

const char* signal_name(int sig) noexcept {
  switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
  }
  return "a signal";
}

void stop_at_iteration_boundaries() { g_deferred.store(true); }
int interrupt_signal() noexcept { return g_signal; }

void throw_if_interrupted(const std::string& where) {
  if (const int sig = g_signal)
    throw Error(ErrorCode::Interrupted, std::string("interrupted by ") + signal_name(sig) + " " + where +
                                            "; no output file written");
}

StagedOutputs::StagedOutputs() { install_handlers(); }  // for the whole command, outputs or not

StagedOutputs::~StagedOutputs() {
  files_.clear();  // removes uncommitted temporary files, with the signal handler still covering them
  restore_handlers();
}

io::OutputFile* StagedOutputs::add(const std::string& path, const std::string& flag) {
  if (path.empty() || path == "-") return nullptr;
  for (std::size_t i = 0; i < files_.size(); ++i)
    if (files_[i]->path() == path)
      throw Error(ErrorCode::InvalidArgument, flag + " and " + flags_[i] + " name the same file '" + path + "'");
  try {
    files_.push_back(std::make_unique<io::OutputFile>(path));
  } catch (const Error& e) {
    throw Error(e.code(), flag + ": " + e.what());
  }
  flags_.push_back(flag);
  const std::string& temp = files_.back()->temp_path();
  const int slot = g_temp_count.load();
  if (slot < kMaxStaged && temp.size() < kMaxPath) {
    std::memcpy(g_temp_paths[slot], temp.c_str(), temp.size() + 1);
    g_temp_count.store(slot + 1);
  }
  return files_.back().get();
}

void StagedOutputs::commit_all() {
  // A signal now would leave some files renamed and others not: hold it until all are in place
  // (it is then delivered with the default action; every output is complete by then).
  SignalsBlocked blocked;
  for (auto& f : files_) f->commit();
  restore_handlers();
}

void write_text(io::OutputFile* file, const std::string& path, const std::string& text) {
  if (file) {
    file->write(text.data(), text.size());
  } else if (path == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    if (std::fflush(stdout) != 0) throw Error(ErrorCode::Io, "writing the report to stdout failed");
  }
}

}  // namespace fkm::cli
