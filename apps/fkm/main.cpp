// fkm: the command-line program. Parses the command line (CLI11), runs one subcommand, and
// turns every failure into one line on stderr and an exit code:
//   0 success; 2 bad usage or bad input (fkm::Error of a user-caused kind); 1 internal failure;
//   128 + signal when interrupted: 130 for Ctrl-C (SIGINT), 143 for SIGTERM, 129 for SIGHUP.
// stdout carries only what was asked for (help, `fkm info`, `--report -`).
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "cluster.hpp"
#include "commands.hpp"
#include "outputs.hpp"
#include "fkm/error.hpp"
#include "fkm/backend.hpp"

namespace {

constexpr int kExitOk = 0, kExitInternal = 1, kExitUsage = 2;

/// One line, whatever the message holds; under MPI only rank 0 speaks (every process has the
/// same error: see cluster.hpp).
void print_error(const std::string& message) {
  if (fkm::cli::cluster().rank != 0) return;
  std::string line = message;
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  std::fprintf(stderr, "fkm: error: %s\n", line.c_str());
}

int exit_code_of(fkm::ErrorCode code) {
  switch (code) {
    case fkm::ErrorCode::InvalidArgument:
    case fkm::ErrorCode::InvalidData:
    case fkm::ErrorCode::Io:
    case fkm::ErrorCode::Unsupported: return kExitUsage;
    case fkm::ErrorCode::OutOfMemory:
    case fkm::ErrorCode::Interrupted:
    case fkm::ErrorCode::Internal: return kExitInternal;
  }
  return kExitInternal;
}

// Checks of option strings that CLI11's conversions would let through. An empty path (e.g. an
// unset shell variable) would silently mean "no such output"; '-' as a .npy output would mean
// "stdout" but wrote nothing; and CLI11 wraps "--seed -1" to 2^64 - 1 and clamps an integer too
// large for 64 bits to the largest one.
const CLI::Validator kPath(
    [](std::string& s) { return s.empty() ? std::string("the path is empty") : std::string(); }, "");
const CLI::Validator kNpyOutput(
    [](std::string& s) {
      if (s.empty()) return std::string("the path is empty");
      if (s == "-") return std::string("'-' (stdout) is only for --report; a .npy output must be a file");
      return std::string();
    },
    "");
const CLI::Validator kSeed(
    [](std::string& s) {
      errno = 0;
      if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos ||
          (std::strtoull(s.c_str(), nullptr, 10), errno == ERANGE))
        return "must be a decimal integer from 0 to 18446744073709551615 (got '" + s + "')";
      return std::string();
    },
    "");
const CLI::Validator kInt64(
    [](std::string& s) {
      if (s.empty()) return std::string("the value is empty");
      errno = 0;
      std::strtoll(s.c_str(), nullptr, 10);
      return errno == ERANGE ? "'" + s + "' is out of the range of a 64-bit integer" : std::string();
    },
    "");

void add_data_options(CLI::App& cmd, fkm::cli::DataOptions& o) {
  cmd.add_option("DATA", o.data, "data file: .npy (float, integer or bool; 2-D, or 3-D (B, N, D): B independent problems), .fvecs or .bvecs")
      ->required()
      ->check(kPath);
  cmd.add_option("--dtype", o.dtype, "element type of DATA: auto (from the file) or bf16 ('<u2' .npy holds bfloat16)")
      ->check(CLI::IsMember({"auto", "bf16"}));
  cmd.add_option("--metric", o.metric, "distance: l2 (squared Euclidean), cosine, ip (inner product)")
      ->check(CLI::IsMember({"l2", "cosine", "ip"}));
  cmd.add_option("--precision", o.precision, "fp32 arithmetic on fast backends: exact, or fast (may use TF32)")
      ->check(CLI::IsMember({"exact", "fast"}));
  cmd.add_option("--backend", o.backend, "backend: auto, reference, cpu, cuda, hip, kokkos")
      ->check(CLI::IsMember({"auto", "reference", "cpu", "cuda", "hip", "kokkos"}));
  cmd.add_option("--threads", o.threads, "CPU threads (0 = OpenMP default); results do not depend on it");
  cmd.add_option("--max-device-memory", o.max_device_memory,
                 "GPU backends: device memory budget, e.g. 4G, 512M or bytes (auto: the free memory); data that does not "
                 "fit is streamed from host memory (same results)");
  cmd.add_option("--stream-chunk-rows", o.stream_chunk_rows,
                 "GPU backends: stream DATA in chunks of this many rows (rounded up to 4096; 0: stream only when it does "
                 "not fit, chunk size from the measured bandwidth)")
      ->check(kInt64);
  cmd.add_option("--report", o.report, "write a JSON report to this file ('-' = stdout)")->check(kPath);
  cmd.add_flag("--quiet,-q", o.quiet, "print nothing on stderr except errors");
}

/// A standard descriptor closed by the caller (`fkm ... >&-`) would be reused by the first file
/// fkm opens, and the report written to "stdout" would then land inside an output file. Hold
/// 0, 1 and 2 open on /dev/null, read-only, so that writing to a closed stdout still fails.
void hold_standard_descriptors() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    const int held = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (held >= 0 && held != fd) {
      ::dup2(held, fd);  // dup2 clears close-on-exec on fd, as for an inherited descriptor
      ::close(held);
    } else if (held == fd) {
      ::fcntl(fd, F_SETFD, 0);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  hold_standard_descriptors();
  const fkm::cli::ClusterSession mpi(argc, argv);  // MPI, when an MPI launcher started fkm
  CLI::App app{std::string("fkm ") + fkm::version() + ": fast exact k-means on GPUs and CPUs", "fkm"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("fkm ") + fkm::version());
  app.option_defaults()->always_capture_default();

  fkm::cli::FitOptions fit;
  CLI::App* fit_cmd = app.add_subcommand("fit", "cluster DATA into K clusters (Lloyd's algorithm)");
  fit_cmd->option_defaults()->always_capture_default();
  add_data_options(*fit_cmd, fit);
  fit_cmd->add_option("--transport", fit.transport,
                      "distributed fits (mpirun): how the cluster totals travel each iteration: auto (nccl where it can run, "
                      "else host), host (MPI through host memory), nccl (GPU memory: cuda backend, one GPU per process)")
      ->check(CLI::IsMember({"auto", "host", "nccl"}));
  fit_cmd->add_option("--k", fit.k, "number of clusters, 1 <= K <= rows of DATA (of each problem)")->required()->check(kInt64);
  fit_cmd->add_option("--init", fit.init,
                      "initialisation: kmeans++, random, kmeans-parallel, or a .npy/.fvecs file of K x D centroids (B x K x D for a batch; K x D: the same for every problem)")
      ->check(kPath);
  fit_cmd->add_option("--n-init", fit.n_init, "independent initialisations; the lowest inertia is kept");
  fit_cmd->add_option("--max-iter", fit.max_iter, "maximum Lloyd iterations");
  fit_cmd->add_option("--tol", fit.tol, "stop when the centroid shift <= tol x mean feature variance (0: run max-iter)");
  fit_cmd->add_option("--seed", fit.seed, "seed of every random choice (same seed, same result)")->check(kSeed);
  fit_cmd->add_option("--empty-clusters", fit.empty_clusters, "empty clusters: reseed-farthest or keep-old")
      ->check(CLI::IsMember({"reseed-farthest", "keep-old"}));
  fit_cmd->add_option("--pruning", fit.pruning,
                      "skip distance work that provably changes no label: off or hamerly (same results, bit for bit)")
      ->check(CLI::IsMember({"off", "hamerly"}));
  fit_cmd->add_option("--weights", fit.weights, "sample weights: 1-D .npy of N values >= 0 (float, integer or bool; for a batch: B x N, or N for every problem)")
      ->check(kPath);
  fit_cmd->add_option("--centroids-out", fit.centroids_out,
                      "write the K x D (batch: B x K x D) centroids here (.npy; float64 for float64 data, else float32)")
      ->check(kNpyOutput);
  fit_cmd->add_option("--labels-out", fit.labels_out, "write the N (batch: B x N) labels here (.npy, int32)")->check(kNpyOutput);

  fkm::cli::PredictOptions predict;
  CLI::App* predict_cmd = app.add_subcommand("predict", "label each row of DATA with its nearest centroid");
  predict_cmd->option_defaults()->always_capture_default();
  add_data_options(*predict_cmd, predict);
  predict_cmd->add_option("--centroids", predict.centroids, "K x D centroids (.npy or .fvecs), e.g. from fit; for a batch B x K x D, or K x D for every problem")
      ->required()
      ->check(kPath);
  predict_cmd->add_option("--labels-out", predict.labels_out, "write the N (batch: B x N) labels here (.npy, int32)")
      ->required()
      ->check(kNpyOutput);

  fkm::cli::InfoOptions info;
  CLI::App* info_cmd = app.add_subcommand("info", "version, compiled backends, devices, and what --backend auto picks");
  info_cmd->add_flag("--json", info.json, "print the same as JSON");

  fkm::cli::BenchOptions bench;
  CLI::App* bench_cmd = app.add_subcommand("bench", "time Lloyd iterations on synthetic data beside this machine's floor");
  bench_cmd->option_defaults()->always_capture_default();
  bench_cmd->add_option("--suite", bench.suite, "smoke (seconds, checks it runs), quick, or full (the CPU or GPU suite's shapes)")
      ->check(CLI::IsMember({"smoke", "quick", "full"}));
  bench_cmd->add_option("--backend", bench.backend, "backend: auto, reference, cpu, cuda, hip, kokkos")
      ->check(CLI::IsMember({"auto", "reference", "cpu", "cuda", "hip", "kokkos"}));
  bench_cmd->add_option("--dtype", bench.dtype, "element type of the data: f16, bf16, f32, f64")
      ->check(CLI::IsMember({"f16", "bf16", "f32", "f64"}));
  bench_cmd->add_option("--precision", bench.precision, "exact or fast (GPU backends)")->check(CLI::IsMember({"exact", "fast"}));
  bench_cmd->add_option("--iters", bench.iters, "Lloyd iterations a config (the first is not counted)");
  bench_cmd->add_option("--threads", bench.threads, "CPU threads (0 = the OpenMP default)");
  bench_cmd->add_option("--json", bench.json, "write the results as JSON to this file ('-' = stdout)")->check(kPath);
  bench_cmd->add_flag("--quiet,-q", bench.quiet, "print nothing on stderr except errors");

  const std::string first = argc > 1 ? argv[1] : "";
  if (!first.empty() && first[0] != '-' && first != "fit" && first != "predict" && first != "info" && first != "bench") {
    print_error(std::string("unknown subcommand '") + argv[1] + "' (expected fit, predict, info or bench; see 'fkm --help')");
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);  // help goes to stdout, exit 0
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string where;
    for (const CLI::App* sub : app.get_subcommands()) where = std::string(" ") + sub->get_name();
    print_error(std::string(e.what()) + " (see 'fkm" + where + " --help')");
    return kExitUsage;
  }

  try {
    if (fit_cmd->parsed()) fkm::cli::run_fit(fit);
    else if (fkm::cli::cluster().rank != 0) return kExitOk;  // predict and info run on rank 0 alone
    else if (predict_cmd->parsed()) fkm::cli::run_predict(predict);
    else if (bench_cmd->parsed()) fkm::cli::run_bench(bench);
    else fkm::cli::run_info(info);
    // What went to stdout (`fkm info`) must have been written: a full disk or a closed stdout
    // is a failure, not a silent exit 0.
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
      print_error(std::string("writing to stdout failed: ") + std::strerror(errno));
      return kExitUsage;
    }
    return kExitOk;
  } catch (const fkm::Error& e) {
    if (e.code() == fkm::ErrorCode::Interrupted) {  // a signal: 128 + its number, like a shell
      std::fprintf(stderr, "fkm: %s\n", e.what());
      const int sig = fkm::cli::interrupt_signal();
      return 128 + (sig != 0 ? sig : SIGINT);
    }
    if (e.code() == fkm::ErrorCode::Internal) print_error(std::string("internal error: ") + e.what());
    else print_error(e.what());
    return exit_code_of(e.code());
  } catch (const std::bad_alloc&) {
    print_error("out of memory");
    return kExitInternal;
  } catch (const std::exception& e) {
    print_error(std::string("internal error: ") + e.what());
    return kExitInternal;
  }
}
