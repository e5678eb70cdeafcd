#include "outputs.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
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

void remove_temporaries() {
  const int n = g_temp_count.load();
  for (int i = 0; i < n; ++i)
    if (g_temp_paths[i][0] != '\0') ::unlink(g_temp_paths[i]);
}

extern "C" void on_signal(int sig) {
  if (g_deferred.load() && g_signal == 0) {
    g_signal = sig;  // the fit stops at its next iteration boundary (interrupt_signal())
    return;
  }
  remove_temporaries();
  say("\nfkm: interrupted by ");
  say(signal_name(sig));
  say(g_signal != 0 ? " again: stopped at once; no output file written\n" : ": stopped; no output file written\n");
  ::_exit(128 + sig);
}

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};

// A crash (a bug, or SIGBUS when a mapped input file shrinks under fkm) or an exit() from a
// library (libgomp exits when it cannot create threads) must not leave temporary files behind
// either: they are removed, then the signal goes on to whoever had it before (the default
// action, or a sanitizer's report) and exit() goes on as usual.
constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
constexpr int kFatalCount = sizeof kFatalSignals / sizeof kFatalSignals[0];
struct sigaction g_previous_fatal[kFatalCount];

const char* fatal_name(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS (did an input file change while fkm was reading it?)";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
  }
  return "SIGABRT";
}

extern "C" void on_fatal_signal(int sig, siginfo_t* info, void*) {
  remove_temporaries();
  say("fkm: error: internal error: crashed with ");
  say(fatal_name(sig));
  say("; no output file written\n");
  for (int i = 0; i < kFatalCount; ++i)
    if (kFatalSignals[i] == sig) sigaction(sig, &g_previous_fatal[i], nullptr);
  // A fault runs its instruction again on return and so reaches the previous handler; a signal
  // sent by kill() or raise() (abort) is sent again, to be delivered once this handler returns.
  if (info == nullptr || info->si_code <= 0) ::raise(sig);
}

extern "C" void remove_temporaries_at_exit() { remove_temporaries(); }

void install_handlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : kSignals) sigaddset(&sa.sa_mask, sig);  // one handler at a time
  for (int sig : kSignals) sigaction(sig, &sa, nullptr);
  // A stack overflow (libgomp puts a team's start data on the stack) can only be handled on
  // another stack; a sanitizer may have installed one already.
  static char alternate_stack[1 << 16];
  stack_t current;
  if (sigaltstack(nullptr, &current) == 0 && (current.ss_flags & SS_DISABLE)) {
    stack_t ours;
    ours.ss_sp = alternate_stack;
    ours.ss_size = sizeof alternate_stack;
    ours.ss_flags = 0;
    sigaltstack(&ours, nullptr);
  }
  struct sigaction fatal;
  std::memset(&fatal, 0, sizeof fatal);
  fatal.sa_sigaction = on_fatal_signal;
  fatal.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&fatal.sa_mask);
  for (int i = 0; i < kFatalCount; ++i) sigaction(kFatalSignals[i], &fatal, &g_previous_fatal[i]);
  static const bool at_exit = std::atexit(remove_temporaries_at_exit) == 0;
  (void)at_exit;
}

void restore_handlers() {
  for (int sig : kSignals) std::signal(sig, SIG_DFL);
  for (int i = 0; i < kFatalCount; ++i) sigaction(kFatalSignals[i], &g_previous_fatal[i], nullptr);
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
  std::unique_ptr<io::OutputFile> file;
  try {
    file = std::make_unique<io::OutputFile>(path);
  } catch (const Error& e) {
    throw Error(e.code(), flag + ": " + e.what());
  }
  // By target(), not by spelling: 'x.npy' and './x.npy' would rename two files over one.
  for (std::size_t i = 0; i < files_.size(); ++i)
    if (files_[i]->target() == file->target())
      throw Error(ErrorCode::InvalidArgument, flag + " and " + flags_[i] + " name the same file '" + path + "'" +
                                                  (files_[i]->path() == path ? "" : " (as '" + files_[i]->path() + "')"));
  files_.push_back(std::move(file));
  flags_.push_back(flag);
  const std::string& temp = files_.back()->temp_path();
  const int slot = g_temp_count.load();
  if (slot < kMaxStaged && temp.size() < kMaxPath) {
    std::memcpy(g_temp_paths[slot], temp.c_str(), temp.size() + 1);
    g_temp_count.store(slot + 1);
  }
  return files_.back().get();
}

void StagedOutputs::refuse_overwriting(const std::string& input, const std::string& what) const {
  struct stat in;
  if (input.empty() || ::stat(input.c_str(), &in) != 0) return;  // a missing input fails when it is read
  for (std::size_t i = 0; i < files_.size(); ++i) {
    struct stat out;
    if (::stat(files_[i]->target().c_str(), &out) == 0 && out.st_dev == in.st_dev && out.st_ino == in.st_ino)
      throw Error(ErrorCode::InvalidArgument, flags_[i] + " " + files_[i]->path() + " is " + what + " " + input +
                                                  ": writing it would replace an input; choose another output path");
  }
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
    // A reader that closed the pipe gives EPIPE here, not a SIGPIPE that would kill fkm with
    // its temporary files still on disk: the error then removes them like any other.
    struct sigaction ignore, old;
    std::memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, &old);
    errno = 0;
    const bool ok = std::fwrite(text.data(), 1, text.size(), stdout) == text.size() && std::fflush(stdout) == 0;
    const int saved = errno;
    sigaction(SIGPIPE, &old, nullptr);
    if (!ok)
      throw Error(ErrorCode::Io, std::string("--report -: writing the report to stdout failed") +
                                     (saved != 0 ? std::string(": ") + std::strerror(saved) : std::string()) +
                                     "; no output file written");
  }
}

}  // namespace fkm::cli
