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
  /// Renames every staged file into place.
  void commit_all();

 private:
  std::vector<std::unique_ptr<io::OutputFile>> files_;
  std::vector<std::string> flags_;
};

/// Writes `text` to the staged file, or to stdout when `file` is nullptr and path is "-".
void write_text(io::OutputFile* file, const std::string& path, const std::string& text);

}  // namespace fkm::cli
