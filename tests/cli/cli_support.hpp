// Running the built `fkm` binary from a test, and the data files the tests feed it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io_support.hpp"

namespace fkm_cli_test {

struct RunResult {
  int exit_code = -1;
  std::string out, err;
  /// stderr split into lines.
  std::vector<std::string> err_lines() const;
};

/// Runs FKM_CLI_PATH with args and waits; stdout and stderr captured through files in `dir`.
RunResult run_fkm(const std::vector<std::string>& args, const fkm_io_test::ScratchDir& dir);

/// Starts FKM_CLI_PATH with args in the background and returns its pid; its stderr and stdout
/// go to the given files (created or truncated), by default to /dev/null. The one place the
/// tests start fkm: run_fkm and the interrupt tests use it too.
int spawn_fkm(const std::vector<std::string>& args, const std::string& err_path = "/dev/null",
              const std::string& out_path = "/dev/null");
/// Waits for a process from spawn_fkm; returns its exit code (128 + signal if killed).
int wait_fkm(int pid);

/// Well-separated blobs: n points of dimension d around `blobs` centres (values exact in fp16).
std::vector<double> blob_values(std::int64_t n, std::int64_t d, std::int64_t blobs, std::uint64_t seed);

/// Writes values as `kind`: "f16", "bf16" (as *.bf16.npy), "f32", "f64", "fvecs", "bvecs"
/// (values rounded into 0..255). Returns the file's path in dir.
std::string write_data(const fkm_io_test::ScratchDir& dir, const std::string& kind, const std::vector<double>& v,
                       std::int64_t n, std::int64_t d, const std::string& stem = "data");

/// Writes problems x n x d values as a 3-D .npy of `kind` ("f16", "bf16" as *.bf16.npy, "f32",
/// "f64"). Returns the file's path in dir.
std::string write_batch(const fkm_io_test::ScratchDir& dir, const std::string& kind, const std::vector<double>& v,
                        std::int64_t problems, std::int64_t n, std::int64_t d, const std::string& stem = "data");

/// Every value of a .npy file of any number of dimensions, in C order: as fp64, or int32 labels.
std::vector<double> read_all_f64(const std::string& path);
std::vector<std::int32_t> read_all_i32(const std::string& path);

/// Checks a run failed with exit code 2, stdout empty, one stderr line "fkm: error: ..."
/// containing every needle.
void check_usage_error(const RunResult& r, const std::vector<std::string>& needles);

}  // namespace fkm_cli_test
