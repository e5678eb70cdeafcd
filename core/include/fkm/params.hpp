// KMeansParams: every knob of a fit, with its default.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "fkm/view.hpp"

namespace fkm {

/// How initial centroids are chosen.
enum class Init {
  KMeansPlusPlus,  ///< greedy k-means++ (2 + floor(ln K) candidates per step, as scikit-learn)
  Random,          ///< K distinct points (by index) drawn uniformly among points of positive weight
  KMeansParallel,  ///< k-means||: oversampling rounds, then weighted k-means++ on the candidates
  Given,           ///< KMeansParams::initial_centroids (K x D, row-major)
};

/// Distance used for assignment and reported in inertia.
enum class Metric {
  L2,            ///< squared Euclidean distance ||x - c||^2
  Cosine,        ///< spherical k-means: rows and centroids normalised; distance 1 - cos(x, c)
  InnerProduct,  ///< maximum inner product; "distance" is -<x, c> (may be negative)
};

/// Arithmetic used by fast backends for fp32 data. fp64 data is always computed in fp64,
/// fp16/bf16 data with fp32 accumulation.
enum class Precision {
  Exact,  ///< fp32-accurate dot products (labels as an fp64 computation gives, up to near-ties)
  Fast,   ///< may use reduced-precision matrix units (TF32 on NVIDIA) for fp32 data
};

/// How the assignment step avoids work. Every choice gives the same labels, centroids and
/// inertia, bit for bit: pruning only skips distance computations that provably cannot change a
/// label (with a margin for the kernel's rounding), so it is a pure speed option.
enum class Pruning {
  Off,      ///< every point against every centroid, every iteration (FlashAssign)
  Hamerly,  ///< per-point lower bounds on the second-nearest distance (Hamerly 2010), kept across
            ///< iterations with the centroid shifts; a point is compared with every centroid only
            ///< when its bounds cannot prove its label. L2 on the CPU backend; elsewhere Off.
};

/// What happens to a centroid whose cluster has zero total weight after an assignment.
enum class EmptyClusterPolicy {
  ReseedFarthest,  ///< move it to the point farthest from its own centroid (distinct points
                   ///< for several empties, largest distance first, ties to the lower index)
  KeepOld,         ///< keep the previous centroid unchanged
};

/// Which backend runs the fit.
enum class BackendKind { Auto, Reference, Cpu, Cuda, Hip, Kokkos };

/// How a distributed fit (fit_distributed, fkm/distributed.hpp) sums the per-iteration cluster
/// totals across processes. Every choice gives the same bits (the totals are integers).
enum class Transport {
  Auto,  ///< Nccl where it can run, else Host
  Host,  ///< through host memory, with MPI (any backend)
  Nccl,  ///< an NCCL all-reduce of device memory: built with FKM_ENABLE_NCCL, the cuda backend,
         ///< one GPU per process; an error where it cannot run
};

const char* to_string(Init v) noexcept;
const char* to_string(Metric v) noexcept;
const char* to_string(Precision v) noexcept;
const char* to_string(EmptyClusterPolicy v) noexcept;
const char* to_string(Pruning v) noexcept;
const char* to_string(BackendKind v) noexcept;
const char* to_string(Transport v) noexcept;
/// Parse the CLI spellings ("kmeans++", "random", "kmeans-parallel"; "l2", "cosine", "ip"; ...).
/// Throws Error(InvalidArgument) naming the accepted values.
Init parse_init(const std::string& s);
Metric parse_metric(const std::string& s);
Precision parse_precision(const std::string& s);
EmptyClusterPolicy parse_empty_policy(const std::string& s);
Pruning parse_pruning(const std::string& s);
BackendKind parse_backend(const std::string& s);
Transport parse_transport(const std::string& s);
/// A memory size for max_device_bytes: "auto" (or "0") is 0 (decide from free memory); else a
/// number with an optional binary suffix K, M, G or T (x 2^10 .. 2^40; "KiB", "GB" and a
/// trailing "B" are read the same), e.g. "4G", "512M", "1.5G", "1048576". The value is rounded
/// down to whole bytes. Throws Error(InvalidArgument) naming the accepted forms.
std::int64_t parse_memory_size(const std::string& s);

/// The most threads KMeansParams::num_threads may ask for. libgomp builds a team's start data
/// on the calling thread's stack, so some tens of thousands of threads crash it (SIGSEGV) and
/// fewer still fail thread creation (exit 1): refuse such counts with an error instead.
inline constexpr int kMaxThreads = 4096;

struct IterationRecord;

struct KMeansParams {
  /// Number of clusters, 1 <= k <= number of points. No default that could be right: 8, as sklearn.
  std::int64_t k = 8;
  /// Initialisation method. Default: k-means++.
  Init init = Init::KMeansPlusPlus;
  /// Host view of K x D initial centroids (any dtype), used when init == Init::Given; must have
  /// exactly k rows and the data's number of columns. n_init is then taken as 1.
  MatrixView initial_centroids;
  /// Number of independent initialisations; the run with the lowest final inertia is kept. Default 1.
  int n_init = 1;
  /// Maximum number of Lloyd iterations. Default 300 (as scikit-learn).
  int max_iter = 300;
  /// Stop when the total squared centroid shift of an iteration is <= tol * mean per-feature
  /// variance of the data (scikit-learn's definition). tol = 0 runs exactly max_iter iterations.
  /// Default 1e-4.
  double tol = 1e-4;
  /// Seed of every random choice. Same data + params + seed => bitwise identical result. Default 0.
  std::uint64_t seed = 0;
  /// Distance. Default L2.
  Metric metric = Metric::L2;
  /// Arithmetic for fp32 data on fast backends. Default Exact.
  Precision precision = Precision::Exact;
  /// Bound-based pruning of the assignment (same results, bit for bit; faster once few labels
  /// change, slower by a pass over the data when most do). Default Off.
  Pruning pruning = Pruning::Off;
  /// Empty-cluster handling. Default ReseedFarthest.
  EmptyClusterPolicy empty_clusters = EmptyClusterPolicy::ReseedFarthest;
  /// Backend. Default Auto: CUDA, then HIP, then Kokkos, then CPU, whichever is compiled in and
  /// has a device (Kokkos on a host execution space only when the CPU backend is not compiled in).
  BackendKind backend = BackendKind::Auto;
  /// CPU threads (OpenMP); 0 = the OpenMP default, at most kMaxThreads. Results do not depend
  /// on it. Default 0.
  int num_threads = 0;
  /// k-means||: number of oversampling rounds. Default 5.
  int kmeans_parallel_rounds = 5;
  /// k-means||: expected candidates drawn per round, as a multiple of k. Default 2.
  double kmeans_parallel_oversampling = 2.0;
  /// Device memory budget in bytes for GPU backends; 0 = decide from free memory. Default 0.
  /// When a host view's data does not fit it, the CUDA/HIP backends stream the data from host
  /// memory in chunks (docs/cuda.md, "Out-of-core"); results are bitwise those of a resident fit.
  std::int64_t max_device_bytes = 0;
  /// GPU backends, host views: rows per streamed chunk. 0 = stream only when the data does not
  /// fit the budget, with a chunk size chosen from the measured host-to-device bandwidth and
  /// the assignment rate. > 0 = always stream, chunks of this many rows (rounded up to a
  /// multiple of 4096, at most what the budget allows). Results do not depend on it. Default 0.
  std::int64_t stream_chunk_rows = 0;
  /// Called after every Lloyd iteration (0-based `iteration` of restart `init_run`). Return false
  /// to stop the fit: fit() then throws Error(Interrupted). Default: none.
  std::function<bool(int init_run, int iteration, const IterationRecord& rec)> on_iteration;
};

}  // namespace fkm
