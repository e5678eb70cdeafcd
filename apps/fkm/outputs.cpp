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
// async-signal-safe functions (unlink, _exit).
constexpr int kMaxStaged = 8;
constexpr std::size_t kMaxPath = 4096;
char g_temp_paths[kMaxStaged][kMaxPath];
std::atomic<int> g_temp_count{0};

extern "C" void remove_temps_and_exit(int sig) {
  const int n = g_temp_count.load();
  for (int i = 0; i < n; ++i)
    if (g_temp_paths[i][0] != '\0') ::unlink(g_temp_paths[i]);
  ::_exit(128 + sig);
}

void install_handlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = remove_temps_and_exit;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

void restore_handlers() {
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) std::signal(sig, SIG_DFL);
  g_temp_count.store(0);
}

}  // namespace

StagedOutputs::StagedOutputs() = default;

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
    if (slot == 0) install_handlers();
  }
  return files_.back().get();
}

void StagedOutputs::commit_all() {
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
