// The output files of one command, staged: each is created under a temporary name when the
// command starts (so an unwritable path fails before any work) and all are renamed into place
// together at the end. An error, or Ctrl-C, before then leaves no output file and every
// existing file untouched.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "fkm/io.hpp"

namespace fkm::cli {

class StagedOutputs {
 public:
  StagedOutputs();
  ~StagedOutputs();
  StagedOutputs(const StagedOutputs&) = delete;
  StagedOutputs& operator=(const StagedOutputs&) = delete;

  /// Stages `path` for `flag` (e.g. "--labels-out"); nullptr when path is empty or "-".
  io::OutputFile* add(const std::string& path, const std::string& flag);
  /// Throws Error(InvalidArgument) when a staged output is the same file as `input` (by device
  /// and inode: any spelling, symlink or hard link), which its rename would replace.
  /// `what` names the input in the message, e.g. "the input DATA" or "the --weights file".
  void refuse_overwriting(const std::string& input, const std::string& what) const;
  /// Renames every staged file into place.
  void commit_all();

 private:
  std::vector<std::unique_ptr<io::OutputFile>> files_;
  std::vector<std::string> flags_;
};

// ---- interrupts (SIGINT, SIGTERM, SIGHUP), handled while a StagedOutputs exists ----------------
// By default a signal removes the temporary files and exits at once with 128 + signal and one
// line on stderr. After stop_at_iteration_boundaries() (fkm fit), the first signal is only
// recorded: the command polls interrupt_signal() / throw_if_interrupted() at safe points and
// stops with Error(Interrupted); a second signal still exits at once, removing the temporaries.
void stop_at_iteration_boundaries();
/// The first signal received in deferred mode, or 0.
int interrupt_signal() noexcept;
/// "SIGINT", "SIGTERM", "SIGHUP".
const char* signal_name(int sig) noexcept;
/// Throws Error(Interrupted) "interrupted by SIGINT <where>; no output file written" if a signal came.
void throw_if_interrupted(const std::string& where);

/// Writes `text` to the staged file, or to stdout when `file` is nullptr and path is "-".
void write_text(io::OutputFile* file, const std::string& path, const std::string& text);

}  // namespace fkm::cli
