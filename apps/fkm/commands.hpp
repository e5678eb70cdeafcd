// The subcommands of `fkm` and their options, as parsed by main.cpp (CLI11).
// Each run_* returns normally on success and throws fkm::Error otherwise; main.cpp maps the
// error to the exit code and the one-line message.
#pragma once
#include <cstdint>
#include <string>

namespace fkm::cli {

/// Options shared by the commands that read a data file and run a backend.
struct DataOptions {
  std::string data;
  std::string dtype = "auto";  ///< "auto" or "bf16" ('<u2' .npy holds bfloat16)
  std::string metric = "l2";
  std::string precision = "exact";
  std::string backend = "auto";
  int threads = 0;
  std::string max_device_memory = "auto";  ///< GPU memory budget ("4G", "512M", bytes; auto: free memory)
  std::int64_t stream_chunk_rows = 0;      ///< rows per streamed chunk (0: streamed only when needed, chunk auto)
  bool quiet = false;
  std::string report;  ///< JSON report path; "-" = stdout
};

struct FitOptions : DataOptions {
  std::int64_t k = 0;
  std::string init = "kmeans++";  ///< a method name, or a .npy / .fvecs file of K x D centroids
  int n_init = 1;
  int max_iter = 300;
  double tol = 1e-4;
  std::uint64_t seed = 0;
  std::string empty_clusters = "reseed-farthest";
  std::string pruning = "off";
  std::string weights;
  std::string centroids_out;
  std::string labels_out;
  std::string transport = "auto";  ///< distributed fits: auto, host or nccl (fkm::Transport)
};

struct PredictOptions : DataOptions {
  std::string centroids;
  std::string labels_out;
};

struct InfoOptions {
  bool json = false;
};

struct BenchOptions {
  std::string suite = "quick";  ///< smoke, quick or full
  std::string backend = "auto";
  std::string dtype = "f32";    ///< f16, bf16, f32, f64
  std::string precision = "exact";
  int iters = 10;
  int threads = 0;
  std::string json;  ///< "-" = stdout
  bool quiet = false;
};

void run_fit(const FitOptions& o);
void run_predict(const PredictOptions& o);
/// run_fit for a 3-D DATA, a batch of independent problems (run_fit calls it).
void run_fit_batch(const FitOptions& o);
void run_info(const InfoOptions& o);
void run_bench(const BenchOptions& o);

}  // namespace fkm::cli
