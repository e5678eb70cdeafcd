// The Backend interface: the only thing the Lloyd loop (core/src/lloyd.cpp) talks to.
//
// A backend is a factory (Backend) that binds one data set to its memory, giving a Problem.
// A Problem holds the backend's copy or view of X and the weights, one distance per point
// ("nearest-centre distance", written by assign() and by the init primitives), one label per
// point, the K centroids and the per-cluster sums. The host only ever passes small things in
// (K x D centroids, a few sample targets) and reads small things back (scalars, index lists):
// no per-iteration copy of X, labels or distances.
//
// To add a backend: implement Problem and Backend in backends/<name>/, register the Backend in
// core/src/registry.cpp, and the shared tests in tests/ run against it (see docs/architecture.md).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fkm/batched.hpp"
#include "fkm/params.hpp"
#include "fkm/view.hpp"

namespace fkm {

/// A device a backend can run on.
struct DeviceInfo {
  std::string name;               ///< e.g. "NVIDIA H100 80GB HBM3", "AMD EPYC (2 threads)"
  std::string arch;               ///< e.g. "sm_90", "gfx942", "x86_64 avx2"
  std::int64_t memory_bytes = 0;  ///< device (or host) memory
  int compute_units = 0;          ///< SMs, CUs or CPU threads
};

/// What a backend is asked to bind. Already validated for shape and options (validate.cpp).
struct ProblemSpec {
  MatrixView x;
  VectorView weights;  ///< data == nullptr: every weight is 1
  Metric metric = Metric::L2;
  Precision precision = Precision::Exact;
  Pruning pruning = Pruning::Off;  ///< a backend may ignore it: results are the same either way
  int num_threads = 0;
  std::int64_t max_device_bytes = 0;
  std::int64_t stream_chunk_rows = 0;  ///< KMeansParams::stream_chunk_rows
  std::int64_t k = 0;                  ///< clusters the fit will use (sizes device memory plans; 0: unknown)
  std::int64_t row_offset = 0;  ///< global index of row 0 (distributed shards); seeds per-point RNG
  int device = -1;  ///< GPU backends, host data: the device to copy them to (-1: device 0); device views name their own
  /// >= 0: the largest |x_if| over the whole data set, when x is one shard of it (distributed
  /// fits). A GPU backend chooses its score unit and kernels from the data's largest magnitude;
  /// given this, every shard chooses the same, so a point's results do not depend on its shard.
  /// < 0: from x alone.
  double data_max_abs = -1;
};

/// Fixed-point grid of exact accumulation (Problem::accumulate_fixed): each term w_i * x_if is
/// rounded to the nearest integer multiple of 2^exponent[f], each weight w_i to a multiple of
/// 2^weight_exponent, and the integers are summed. Integer sums do not depend on the order of the
/// terms, so the totals are the same for any thread count and any split of the rows across
/// processes. The caller picks the exponents so that no rounded term exceeds 2^62 in magnitude;
/// then 128-bit totals cannot overflow below 2^65 points.
struct FixedPointFormat {
  std::vector<int> exponent;  ///< one per feature (D)
  int weight_exponent = 0;
};

/// A 128-bit two's-complement integer as two 64-bit halves (a fixed-point total).
struct FixedSum {
  std::uint64_t lo = 0;
  std::int64_t hi = 0;
};

/// Device memory holding int64 words that a device all-reduce (NCCL: the distributed layer's
/// Communicator::sum_device) can sum in place across processes.
struct DeviceWords {
  std::int64_t* data = nullptr;  ///< device pointer; nullptr: none
  std::int64_t count = 0;
  int device = -1;          ///< the GPU that holds them
  void* stream = nullptr;   ///< the stream their producer and consumer run on (nullptr: the default stream)
};

/// First invalid value found by Problem::check_values (bad_row < 0: all finite and valid).
struct ValueCheck {
  std::int64_t bad_row = -1;
  std::int64_t bad_col = -1;
  bool in_weights = false;  ///< the bad value is a weight (NaN/Inf or negative), else data (NaN/Inf)
  std::int64_t positive_weights = 0;  ///< number of points with weight > 0
};

class Problem {
 public:
  virtual ~Problem() = default;
  virtual std::int64_t n() const = 0;
  virtual std::int64_t d() const = 0;
  /// Device description for reports.
  virtual std::string device_name() const = 0;
  /// Where the data is kept (GPU backends may stream it from host memory); resident by default.
  virtual DataPlacement placement() const { return {}; }

  // ---- whole-data facts (computed on the backend, fp64) ----------------------------------
  virtual ValueCheck check_values() const = 0;
  virtual double total_weight() const = 0;
  /// Mean over features of the (unweighted) per-feature variance of the data as the metric sees
  /// it (rows normalised for Cosine): scikit-learn's scale for tol.
  virtual double mean_variance() const = 0;

  // ---- centroids: K x D row-major fp64 on the host side ------------------------------------
  /// Replace all centroids (sets K). Cosine: the backend normalises them.
  virtual void set_centroids(const double* c, std::int64_t k) = 0;
  virtual void get_centroids(double* c) const = 0;

  // ---- one Lloyd iteration: assign(); accumulate(); update(); [replace_centroids()]; shift()
  /// FlashAssign: label_i = argmin_j dist(x_i, c_j) (ties to the lower j), dist_i = that
  /// distance. Returns the inertia sum_i w_i dist_i.
  virtual double assign() = 0;
  /// Points whose label the last assign() kept without meeting every centroid (pruning, see
  /// Pruning); 0 for backends that do not prune.
  virtual std::int64_t last_assign_skipped() const { return 0; }
  /// Per-cluster sums of w_i * x_i and of w_i for the current labels.
  virtual void accumulate() = 0;
  /// Centroids := sums / weights (normalised for Cosine) for clusters of positive weight; the
  /// others keep their centroid. Remembers the previous centroids. Returns the empty clusters'
  /// indices, ascending.
  virtual std::vector<std::int64_t> update() = 0;
  /// update() from given per-cluster sums of w_i * x_i (K x D) and of w_i (K) instead of the
  /// ones accumulate() made (the distributed layer passes the totals over all processes).
  /// The default throws Error(Unsupported).
  virtual std::vector<std::int64_t> update_from(const double* sums, const double* weights);
  /// accumulate() on the fixed-point grid of `format` (see FixedPointFormat): sums (K x D) and
  /// weights (K) are exact integer totals, independent of point order and thread count. Does
  /// not change the sums update() uses. The default throws Error(Unsupported).
  virtual void accumulate_fixed(const FixedPointFormat& format, FixedSum* sums, FixedSum* weights) const;
  /// accumulate_fixed with the totals left in device memory, for a device all-reduce: the K x
  /// (D + 1) totals (row j: cluster j's D sums, then its weight), each as kFixedWords int64
  /// words (core/src/fixed_point.hpp, split_fixed). The buffer is the Problem's and keeps the
  /// words until the next call. Returns data == nullptr where the backend does not offer it
  /// (the default): the caller then takes accumulate_fixed's totals to the host.
  virtual DeviceWords accumulate_fixed_words(const FixedPointFormat& format);
  /// update_from with the totals in the last accumulate_fixed_words buffer (summed in place
  /// across processes since), each converted as fixed_to_double converts it on the host: the
  /// centroids update_from makes from the host's conversion of the same totals, bit for bit.
  /// The default throws Error(Unsupported).
  virtual std::vector<std::int64_t> update_from_fixed_words(const FixedPointFormat& format);
  /// Adds sum_i w_i * dist_i over the points with w_i != 0 exactly into `words`, the int64 words
  /// of a long accumulator (core/src/long_accumulator.hpp; each limb changes by less than 2^62).
  /// Returns false, adding nothing, if the backend does not offer it (the default): a distributed
  /// fit then copies the distances to the host and sums them there. A GPU backend keeps them on
  /// the device this way.
  virtual bool exact_weighted_distance_sum(std::int64_t* words) const;
  /// Overwrite centroids ids[0..m) with rows (m x D fp64), e.g. reseeded empties.
  virtual void replace_centroids(const std::int64_t* ids, std::int64_t m, const double* rows) = 0;
  /// sum_j ||c_j - c_j(before the last update())||^2.
  virtual double shift() const = 0;

  // ---- outputs -------------------------------------------------------------------------------
  virtual void get_labels(std::int32_t* out) const = 0;
  virtual void get_distances(double* out) const = 0;

  // ---- initialisation primitives (distances are the per-point dist_i above) ----------------
  /// dist_i := min(dist_i, min_{j<m} dist(x_i, c_j)), and label_i := first_label + j for the
  /// centre that lowered it (strictly; among equal centres the lower j); with reset, dist_i := +inf
  /// first. Returns the potential sum_i w_i dist_i.
  virtual double update_nearest(const double* c, std::int64_t m, bool reset, std::int64_t first_label) = 0;
  /// out[j] = sum_i w_i * min(dist_i, dist(x_i, c_j)) for j < m; dist unchanged.
  virtual void potentials(const double* c, std::int64_t m, double* out) const = 0;
  /// Inverse-CDF sampling: out[t] = the first i with sum_{l<=i} p_l > targets[t], where
  /// p_l = w_l * dist_l (or w_l when by_weight), clamped to the last i with p_i > 0.
  virtual void sample(const double* targets, std::int64_t m, bool by_weight, std::int64_t* out) const = 0;
  /// Independent draws: all i with uniform01(seed, row_offset + i) * potential < scale * w_i * dist_i,
  /// ascending (k-means|| oversampling; the per-point RNG makes it independent of sharding).
  virtual std::vector<std::int64_t> sample_independent(double scale, double potential, std::uint64_t seed) const = 0;
  /// Rows idx[0..m) as the metric sees them (normalised for Cosine), fp64.
  virtual void gather_rows(const std::int64_t* idx, std::int64_t m, double* out) const = 0;
  /// out[j] = total weight of the points with label_i == j, for j < m (after update_nearest:
  /// the weight nearest to each candidate of k-means||, with no extra pass over the data).
  virtual void label_weights(std::int64_t m, double* out) const = 0;
  /// The m points of positive weight with the largest dist_i, largest first, ties to the lower
  /// index (fewer if fewer points have positive weight).
  virtual std::vector<std::int64_t> farthest_points(std::int64_t m) const = 0;
};

/// A compiled backend: says what devices it has and binds data into Problems.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual BackendKind kind() const = 0;
  virtual std::string name() const = 0;
  /// Devices usable now; empty means the backend is compiled in but cannot run here.
  virtual std::vector<DeviceInfo> devices() const = 0;
  virtual bool accepts(MemorySpace space) const { return space == MemorySpace::Host; }
  virtual std::unique_ptr<Problem> bind(const ProblemSpec& spec) const = 0;
  /// Fits every problem of a batch (fkm::fit_batched; shapes and options already validated).
  /// The default (core/src/batched.cpp) checks every problem's values, then fits the problems
  /// one after another through the single-problem fit, one bound Problem at a time; each error
  /// about a problem starts with "problem b: ". A backend may override it to run all problems
  /// together (one launch per phase); it must then give each problem exactly the result of
  /// fitting it alone, and fail on bad values before fitting any problem.
  virtual std::vector<KMeansResult> fit_batch(const BatchedMatrixView& x, const KMeansParams& params,
                                              const BatchedFitOptions& options) const;
};

/// One row of `fkm info`: every backend fkm knows, compiled in or not.
struct BackendStatus {
  BackendKind kind;
  std::string name;
  bool compiled = false;
  std::string cmake_option;  ///< the option that compiles it in, e.g. "FKM_ENABLE_CUDA"
  std::vector<DeviceInfo> devices;
};
std::vector<BackendStatus> list_backends();

/// The backend that will run `requested` for data in `space` (resolves Auto). Throws
/// Error(Unsupported) naming the CMake option when the backend is not compiled in, or when it
/// has no device.
const Backend& select_backend(BackendKind requested, MemorySpace space = MemorySpace::Host);

/// Library version string, e.g. "0.1.0".
const char* version() noexcept;

}  // namespace fkm
