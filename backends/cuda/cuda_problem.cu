// The CUDA Problem. Resident (the default): the data, weights, labels, distances and centroids
// live on the GPU for the whole fit; every Lloyd step is a few kernel launches, and the host
// reads back only scalars (inertia; shift and the number of empty clusters), plus the empty
// clusters' indices when there are any. Streamed (a host view that does not fit the device
// budget, or stream_chunk_rows > 0: backends/cuda_hip/stream_plan.hpp): the rows stay in host
// memory and every pass over them runs chunk by chunk through the copy/compute pipeline of
// chunk_stream.hpp (for_rows below); labels and distances live in pinned host memory; only the
// centroid state, the per-cluster sums and counts, per-block partials and one chunk's scratch
// are on the device. The kernels and the order of every sum are the same, so a streamed fit
// gives the resident fit's bits.
//
//   assign()      FlashAssign (assign_mma.cuh on tensor cores, or the SIMT kernel of
//                 core/kernels/assign.hpp) -> labels, dist, per-block inertia -> fixed-order sum;
//                 precision = exact: a one-term screen proves most labels (core/kernels/screen.hpp)
//                 and the listed rest is re-scored with fp32-accurate arithmetic
//   accumulate()  label histogram -> exclusive scan -> stable radix sort of (label, index) ->
//                 per-cluster group sums in a fixed per-cluster order (core/kernels/update.hpp),
//                 no floating-point atomics; streamed, it runs inside assign()'s pass
//   update()      divide, normalise (cosine), empties, shift; re-prepare centroid operands
//
// For distributed fits (backends/distributed, docs/clusters.md): accumulate_fixed() sums each
// chunk's label-sorted runs as exact fixed-point integers (exact_update.cuh; integer sums do not
// depend on the order or the chunking), and update_from() takes the all-reduced totals; only
// K x D-sized arrays cross to the host.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../../core/kernels/update.hpp"
#include "../../core/src/convert.hpp"
#include "../cuda_hip/gpu_primitives.hpp"
#include "../cuda_hip/gpu_runtime.hpp"
#include "../cuda_hip/gpu_types.hpp"
#include "../cuda_hip/stream_plan.hpp"
#include "assign_mma.cuh"
#if !defined(__HIP__)
#include "wgmma_launch.hpp"
#endif
#include "chunk_stream.hpp"
#include "cuda_problem.hpp"
#include "device_buffer.hpp"
#include "exact_update.cuh"
#include "operands.cuh"
#include "point_kernels.cuh"

namespace fkm::cuda {
namespace {

using gpu::minimum_streaming_bytes;
using gpu::plan_placement;
using gpu::PlacementCosts;
using gpu::PlacementRequest;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr std::int64_t kFixedChunk = 256;  // sorted positions per block of accumulate_fixed's sums
constexpr std::int64_t kSampleChunk = 4096;  // points per sampling chunk
constexpr std::int64_t kReduceChunk = 4096;  // points per partial of a whole-data sum

/// Which FlashAssign kernels run (choose_path): the SIMT kernel in fp64 or fp32 (fp32-accurate);
/// one-term tensor cores (precision = fast: Fast*); or the screen, one-term tensor cores that
/// prove most labels exact, then the re-score of the rest (precision = exact: Screen*; fp16
/// re-scores with 2 centroid terms, bf16 with 3, fp32 with FFMA). Whatever the path, centroid
/// sets beyond the score scale's range run in fp64 (Operands::wide, operands.cuh).
enum class AssignPath { SimtF64, SimtF32, FastHalf, FastBf16, FastTf32, ScreenHalf, ScreenBf16, ScreenTf32 };

bool is_screen(AssignPath p) {
  return p == AssignPath::ScreenHalf || p == AssignPath::ScreenBf16 || p == AssignPath::ScreenTf32;
}

/// Blocks for a grid-stride kernel over `work` items: at least one (a shard may have no rows).
int grid_for(std::int64_t work, int threads) {
  return int(std::clamp<std::int64_t>((work + threads - 1) / threads, 1, 65535LL * 16));
}

/// Calls f(S{}) with S the device storage type of dtype t.
template <class F>
decltype(auto) with_device_type(DType t, F&& f) {
  switch (t) {
    case DType::F16: return f(gpu::half{});
    case DType::BF16: return f(gpu::bfloat16{});
    case DType::F32: return f(float{});
    case DType::F64: break;
  }
  return f(double{});
}

/// Centroids prepared for one assign kernel.
struct Operands {
  DeviceBuffer<unsigned char> terms;
  DeviceBuffer<float> bias_f, mul_f;
  DeviceBuffer<double> bias_d, mul_d;
  DeviceBuffer<kernels::ScreenBound> bound;  ///< Screen paths: the fast pass's error bound
  std::int64_t k = 0, kpad = 0, dpad = 0;
  bool wide = false;  ///< out of the score scale's range: unscaled fp64 operands, fp64 SIMT kernel
};

/// Sets the current device for the scope of a Problem call.
class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    check(gpu::get_device(&previous_), "get device");
    if (previous_ != device) check(gpu::set_device(device), "set device");
  }
  ~DeviceScope() { (void)gpu::set_device(previous_); }

 private:
  int previous_ = 0;
};

/// FKM_CUDA_TIMING=1: per-phase device time of the Lloyd steps, printed to stderr when the
/// Problem ends (events on the default stream; for perf investigations, off by default).
class PhaseTimer {
 public:
  PhaseTimer() {
    const char* v = std::getenv("FKM_CUDA_TIMING");
    on_ = v && v[0] == '1';
  }
  ~PhaseTimer() {
    if (!on_) return;
    for (auto& p : phases_) std::fprintf(stderr, "fkm cuda phase %-16s %9.3f ms total, %6d calls\n", p.name, p.ms, p.calls);
    for (auto& c : tallies_) std::fprintf(stderr, "fkm cuda count %-16s %12lld total, %6d calls\n", c.name, c.total, c.calls);
    for (auto e : pool_) (void)gpu::event_destroy(e);
  }
  bool on() const { return on_; }
  /// Adds v to the counter `name` (printed with the phases).
  void tally(const char* name, long long v) {
    if (!on_) return;
    for (auto& c : tallies_)
      if (std::strcmp(c.name, name) == 0) {
        c.total += v;
        ++c.calls;
        return;
      }
    tallies_.push_back({name, v, 1});
  }
  /// Marks the end of the phase that started at the previous mark (or at begin()).
  void begin() {
    if (on_) last_ = record();
  }
  void mark(const char* name) {
    if (!on_) return;
    gpu::Event now = record();
    (void)gpu::event_synchronize(now);
    float ms = 0;
    (void)gpu::event_elapsed_ms(&ms, last_, now);
    Phase* p = nullptr;
    for (auto& q : phases_)
      if (std::strcmp(q.name, name) == 0) p = &q;
    if (!p) {
      phases_.push_back({name, 0, 0});
      p = &phases_.back();
    }
    p->ms += ms;
    ++p->calls;
    last_ = now;
  }

 private:
  struct Phase {
    const char* name;
    double ms;
    int calls;
  };
  struct Tally {
    const char* name;
    long long total;
    int calls;
  };
  gpu::Event record() {
    gpu::Event e;
    if (next_ < pool_.size()) {
      e = pool_[next_];
    } else {
      (void)gpu::event_create(&e);
      pool_.push_back(e);
    }
    next_ = (next_ + 1) % 64;
    (void)gpu::event_record(e);
    return e;
  }
  bool on_ = false;
  std::vector<Phase> phases_;
  std::vector<Tally> tallies_;
  std::vector<gpu::Event> pool_;
  std::size_t next_ = 0;
  gpu::Event last_{};
};

__global__ void centroid_shift_parts(const double* c, const double* prev, std::int64_t d, double* out) {
  __shared__ double scratch[1024 / kernels::kWarpSize];
  const std::int64_t j = blockIdx.x;
  double s = 0;
  for (std::int64_t f = threadIdx.x; f < d; f += blockDim.x) {
    const double v = c[j * d + f] - prev[j * d + f];
    s += v * v;
  }
  const double total = kernels::block_sum(s, scratch);
  if (threadIdx.x == 0) out[j] = total;
}

/// The rows one launch runs over: all of them (resident) or one streamed chunk (then the
/// pointers are the chunk's device buffers and `base` its first row's global index).
struct Rows {
  std::int64_t base = 0, n = 0;
  const void* x = nullptr;           ///< n rows, ld elements apart
  const double* weights = nullptr;   ///< null: all 1
  const double* row_scale = nullptr; ///< cosine: 1 / ||x_i||, else null
  std::int32_t* labels = nullptr;
  double* dist = nullptr;
};

/// What a pass over the rows reads (copied to the device per chunk when streaming) and writes
/// back (copied to host memory per chunk).
enum Need : unsigned {
  kNeedX = 1,
  kNeedWeights = 2,
  kNeedDist = 4,
  kNeedLabels = 8,
  kDistInfinite = 16,  ///< dist starts at +inf (no copy)
  kKeepDist = 32,
  kKeepLabels = 64,
};

/// The measured pinned host-to-device bandwidth of `device`, bytes/s (cached: one probe per
/// device and process; it only sizes chunks, never changes a result).
double pinned_h2d_bandwidth(int device, std::int64_t probe_bytes) {
  static std::mutex mutex;
  static std::map<int, double> cache;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = cache.find(device); it != cache.end()) return it->second;
  PinnedArray<unsigned char> host;
  host.allocate(probe_bytes, "the bandwidth probe");
  std::memset(host.get(), 1, std::size_t(probe_bytes));
  DeviceBuffer<unsigned char> dev(probe_bytes, "the bandwidth probe");
  gpu::Event e0{}, e1{};
  check(gpu::event_create(&e0), "event create");
  if (gpu::event_create(&e1) != gpu::kSuccess) {
    (void)gpu::event_destroy(e0);
    check(gpu::last_error(), "event create");
  }
  float best = 0;
  for (int rep = 0; rep < 4; ++rep) {  // the first warms the DMA path up
    (void)gpu::event_record(e0, nullptr);
    (void)gpu::memcpy_async(dev.get(), host.get(), std::size_t(probe_bytes), gpu::kHostToDevice, nullptr);
    (void)gpu::event_record(e1, nullptr);
    (void)gpu::event_synchronize(e1);
    float ms = 0;
    (void)gpu::event_elapsed_ms(&ms, e0, e1);
    if (rep > 0 && ms > 0 && (best == 0 || ms < best)) best = ms;
  }
  (void)gpu::event_destroy(e0);
  (void)gpu::event_destroy(e1);
  check(gpu::last_error(), "bandwidth probe");
  const double bw = best > 0 ? double(probe_bytes) / (double(best) * 1e-3) : 25e9;
  cache[device] = bw;
  return bw;
}

class CudaProblem final : public Problem {
 public:
  CudaProblem(const ProblemSpec& s, int device)
      : device_(device),
        n_(s.x.rows),
        d_(s.x.cols),
        dtype_(s.x.dtype),
        metric_(s.metric),
        precision_(s.precision),
        row_offset_(s.row_offset),
        budget_(s.max_device_bytes) {
    DeviceScope scope(device_);
    gpu::DeviceProp p{};
    check(gpu::device_properties(&p, device_), "device properties");
    device_name_ = std::string(p.name) + " (" + gpu::arch_name(p) + ")";
    path_ = choose_path();
    placement_ = plan(s);
    streamed_ = placement_.streamed;
    if (streamed_) bind_streamed(s);
    else bind_resident(s);
    if (is_screen(path_)) {
      // FKM_CUDA_SCREEN=pairs: the screen proves nothing (every row meets the pairs pass);
      // =rescore: neither proof holds (every row is re-scored). For tests of those passes.
      const char* force = std::getenv("FKM_CUDA_SCREEN");
      const std::string mode = force ? force : "";
      screen_force_ = mode == "pairs" || mode == "rescore";
      pairs_force_ = mode == "rescore";
      near_rows_.allocate(max_rows(), "near rows", &budget_);
      open_rows_.allocate(max_rows(), "open rows", &budget_);
      list_counts_.allocate(2, "list lengths", &budget_);
    }
    // per-block partial sums over all rows (filled chunk by chunk when streaming)
    assign_partials_.allocate((n_ + kernels::kSimtBM - 1) / kernels::kSimtBM, "assign partial sums", &budget_);
    scalars_.allocate(4, "scalars", &budget_);
    check(gpu::malloc_host(reinterpret_cast<void**>(&host_scalars_), 4 * sizeof(double)), "pinned host allocation");
    scan_values();
    // A distributed fit passes the largest magnitude over every shard: each shard then scores in
    // the same unit and picks the same kernels, so a point's label and distance do not depend
    // on which shard holds it.
    if (s.data_max_abs > data_largest_) data_largest_ = s.data_max_abs;
    scale_ = score_scale_for(data_largest_, dtype_, metric_);
  }

  ~CudaProblem() override {
    if (host_scalars_) (void)gpu::free_host(host_scalars_);
  }

  std::int64_t n() const override { return n_; }
  std::int64_t d() const override { return d_; }
  std::string device_name() const override { return device_name_; }
  DataPlacement placement() const override { return placement_; }
  ValueCheck check_values() const override { return check_; }

  double total_weight() const override {
    if (n_ == 0) return 0;
    DeviceScope scope(device_);
    const std::int64_t nb = (n_ + kReduceChunk - 1) / kReduceChunk;
    DeviceBuffer<double> partials(nb, "partial sums");
    for_rows(kNeedWeights, [&](const Rows& r) {
      chunk_sums<<<int((r.n + kReduceChunk - 1) / kReduceChunk), 256>>>(WeightValue{r.weights}, r.n, kReduceChunk,
                                                                        partials.get() + r.base / kReduceChunk);
      check_launch("chunk_sums");
    });
    return sum_to_host(partials.get(), nb);
  }

  double mean_variance() const override {
    if (n_ == 0) return std::numeric_limits<double>::quiet_NaN();  // as the reference: 0 / 0
    DeviceScope scope(device_);
    constexpr std::int64_t rows = 1024;
    const std::int64_t nb = (n_ + rows - 1) / rows;
    DeviceBuffer<double> partials(nb * d_, "column partial sums"), column(d_, "column sums");
    const int threads = int(std::min<std::int64_t>(256, (d_ + kernels::kWarpSize - 1) / kernels::kWarpSize * kernels::kWarpSize));
    auto pass = [&](const double* mean) {
      for_rows(kNeedX, [&](const Rows& r) {
        with_device_type(dtype_, [&](auto tag) {
          using T = decltype(tag);
          column_sums<T><<<int((r.n + rows - 1) / rows), threads>>>(static_cast<const T*>(r.x), r.n, d_, ld_, r.row_scale, mean,
                                                                    rows, partials.get() + (r.base / rows) * d_);
          return 0;
        });
        check_launch("column_sums");
      });
      sum_rows<<<int((d_ + 255) / 256), 256>>>(partials.get(), nb, d_, column.get());
      check_launch("sum_rows");
      std::vector<double> host(d_);
      check(gpu::memcpy(host.data(), column.get(), d_ * sizeof(double), gpu::kDeviceToHost), "copy column sums");
      return host;
    };
    std::vector<double> mean = pass(nullptr);
    for (auto& m : mean) m /= double(n_);
    DeviceBuffer<double> mean_d(d_, "column means");
    check(gpu::memcpy(mean_d.get(), mean.data(), d_ * sizeof(double), gpu::kHostToDevice), "copy means");
    const std::vector<double> var = pass(mean_d.get());
    double total = 0;
    for (double v : var) total += v / double(n_);
    return total / double(d_);
  }

  void set_centroids(const double* c, std::int64_t k) override {
    DeviceScope scope(device_);
    k_ = k;
    fixed_words_ready_ = false;  // sized for the old k
    centroids_.allocate(k * d_, "centroids", &budget_);
    previous_.allocate(k * d_, "previous centroids", &budget_);
    centroid_bound_ = upload_centres(c, k, centroids_.get());
    check(gpu::memcpy(previous_.get(), centroids_.get(), k * d_ * sizeof(double), gpu::kDeviceToDevice), "copy centroids");
    empty_.allocate(k, "empty flags", &budget_);
    shift_parts_.allocate(k, "shift parts", &budget_);
    empty_list_.allocate(k, "empty list", &budget_);
    prepare(ops_, centroids_.get(), k, centroid_bound_);
    shift_valid_ = true;
    shift_ = 0;
  }

  void get_centroids(double* c) const override {
    DeviceScope scope(device_);
    check(gpu::memcpy(c, centroids_.get(), k_ * d_ * sizeof(double), gpu::kDeviceToHost), "copy centroids");
  }

  double assign() override {
    if (n_ == 0) return 0;  // a shard without rows
    DeviceScope scope(device_);
    kernels::AssignOutput out = output(kernels::AssignMode::Assign);
    out.centroids = centroids_.get();
    if (!streamed_) {
      out.labels = labels_.get();
      out.dist = dist_.get();
      return run_assign(ops_, out);
    }
    // One pass: each chunk is assigned, then its rows are added to the cluster sums while they
    // are on the device (accumulate() then has nothing left to read).
    timer_.begin();
    accumulate_begin(k_, d_, label_bits(k_));
    const std::int64_t per = partial_rows(ops_);
    for_rows(kNeedX | kNeedWeights | kKeepDist | kKeepLabels, [&](const Rows& r) {
      launch_assign(ops_, chunk_output(out, r, per), r);
      accumulate_rows(r, r.labels, k_, d_, label_bits(k_));
    });
    accumulate_finish(k_, d_);
    fused_sums_ = true;
    timer_.mark("streamed assign + accumulate");
    return sum_to_host(assign_partials_.get(), (n_ + per - 1) / per);
  }

  void accumulate() override {
    DeviceScope scope(device_);
    if (streamed_ && fused_sums_) return;  // the assign pass made them
    accumulate_begin(k_, d_, label_bits(k_));
    for_rows(kNeedX | kNeedWeights | kNeedLabels, [&](const Rows& r) { accumulate_rows(r, r.labels, k_, d_, label_bits(k_)); });
    accumulate_finish(k_, d_);
  }

  std::vector<std::int64_t> update() override {
    DeviceScope scope(device_);
    timer_.begin();
    kernels::finalize_centroids<<<int(k_), 128>>>(sums_.get(), d_, metric_ == Metric::Cosine, centroids_.get(),
                                                  previous_.get(), empty_.get(), shift_parts_.get());
    check_launch("finalize_centroids");
    kernels::sum_fixed_order<<<1, 1024>>>(shift_parts_.get(), k_, scalars_.get() + 1);
    check_launch("sum_fixed_order");
    // the count lands beside the shift, so one small copy brings both back
    kernels::compact_flags<<<1, 1024>>>(empty_.get(), k_, empty_list_.get(),
                                        reinterpret_cast<std::int64_t*>(scalars_.get() + 2));
    check_launch("compact_flags");
    timer_.mark("finalize");
    // New centroids are means of data rows (normalised for cosine); empty ones keep theirs.
    centroid_bound_ = std::max(centroid_bound_, metric_ == Metric::Cosine ? 1.0 : data_largest_);
    prepare(ops_, centroids_.get(), k_, centroid_bound_);
    timer_.mark("prepare operands");
    double shift = 0;
    std::int64_t count = 0;
    read_scalars(1);
    shift = host_scalars_[1];
    std::memcpy(&count, host_scalars_ + 2, sizeof count);
    timer_.mark("update readback");
    shift_ = shift;
    shift_valid_ = true;
    std::vector<std::int64_t> empties(count);
    if (count > 0)
      check(gpu::memcpy(empties.data(), empty_list_.get(), count * sizeof(std::int64_t), gpu::kDeviceToHost),
            "copy empty list");
    return empties;
  }

  std::vector<std::int64_t> update_from(const double* sums, const double* weights) override {
    DeviceScope scope(device_);
    const std::int64_t w = d_ + 1;
    std::vector<double> totals(k_ * w);
    for (std::int64_t j = 0; j < k_; ++j) {
      std::copy(sums + j * d_, sums + (j + 1) * d_, &totals[j * w]);
      totals[j * w + d_] = weights[j];
    }
    given_.allocate(k_ * w, "given cluster sums", &budget_);
    check(gpu::memcpy(given_.get(), totals.data(), k_ * w * sizeof(double), gpu::kHostToDevice), "copy given sums");
    return update_from_given();
  }

  DeviceWords accumulate_fixed_words(const FixedPointFormat& format) override {
    fixed_totals_on_device(format);
    DeviceScope scope(device_);
    const std::int64_t n = k_ * (d_ + 1);
    fixed_words_.allocate(n * detail::kFixedWords, "fixed-point words", &budget_);
    split_fixed_words<<<int(std::min<std::int64_t>(1024, (n + 255) / 256)), 256>>>(fixed_totals_.get(), n, fixed_words_.get());
    check_launch("split_fixed_words");
    fixed_words_ready_ = true;
    return DeviceWords{fixed_words_.get(), n * detail::kFixedWords, device_, nullptr};
  }

  std::vector<std::int64_t> update_from_fixed_words(const FixedPointFormat& format) override {
    detail::check_format(format, d_, gpu::kPlatform);
    if (!fixed_words_ready_)
      throw Error(ErrorCode::Internal, "CUDA backend: update_from_fixed_words without accumulate_fixed_words before it");
    DeviceScope scope(device_);
    const std::int64_t w = d_ + 1, n = k_ * w;
    std::vector<int> exponent(format.exponent);
    exponent.push_back(format.weight_exponent);
    fixed_exponents_.allocate(w, "fixed-point exponents", &budget_);
    check(gpu::memcpy(fixed_exponents_.get(), exponent.data(), w * sizeof(int), gpu::kHostToDevice), "copy exponents");
    given_.allocate(n, "given cluster sums", &budget_);
    fixed_words_to_totals<<<int(std::min<std::int64_t>(1024, (n + 255) / 256)), 256>>>(fixed_words_.get(), n, w,
                                                                                      fixed_exponents_.get(), given_.get());
    check_launch("fixed_words_to_totals");
    return update_from_given();
  }

  /// update_from's step from the k x (d + 1) totals in given_: centroids, empties, shift.
  std::vector<std::int64_t> update_from_given() {
    auto* largest_bits = reinterpret_cast<unsigned long long*>(scalars_.get() + 3);
    check(gpu::memset(largest_bits, 0, sizeof(double)), "memset");
    centroids_from_totals<<<int(k_), 128>>>(given_.get(), d_, metric_ == Metric::Cosine, centroids_.get(), previous_.get(),
                                            empty_.get(), shift_parts_.get(), largest_bits);
    check_launch("centroids_from_totals");
    kernels::sum_fixed_order<<<1, 1024>>>(shift_parts_.get(), k_, scalars_.get() + 1);
    check_launch("sum_fixed_order");
    kernels::compact_flags<<<1, 1024>>>(empty_.get(), k_, empty_list_.get(),
                                        reinterpret_cast<std::int64_t*>(scalars_.get() + 2));
    check_launch("compact_flags");
    // shift, empty count and the largest |c_jf| in one small copy
    check(gpu::memcpy_async(host_scalars_ + 1, scalars_.get() + 1, 3 * sizeof(double), gpu::kDeviceToHost, 0),
          "copy scalars");
    check(gpu::stream_synchronize(0), "stream synchronize");
    std::int64_t count = 0;
    std::memcpy(&count, host_scalars_ + 2, sizeof count);
    // The exact largest magnitude of the centroids, new and kept: the same on every process of
    // a distributed fit (it decides the operands' range, operands.cuh).
    centroid_bound_ = host_scalars_[3];
    prepare(ops_, centroids_.get(), k_, centroid_bound_);
    shift_ = host_scalars_[1];
    shift_valid_ = true;
    std::vector<std::int64_t> empties(count);
    if (count > 0)
      check(gpu::memcpy(empties.data(), empty_list_.get(), count * sizeof(std::int64_t), gpu::kDeviceToHost),
            "copy empty list");
    return empties;
  }

  void accumulate_fixed(const FixedPointFormat& format, FixedSum* sums, FixedSum* weights) const override {
    fixed_totals_on_device(format);
    DeviceScope scope(device_);
    const std::int64_t w = d_ + 1;
    std::vector<FixedSum> totals(k_ * w);
    check(gpu::memcpy(totals.data(), fixed_totals_.get(), k_ * w * sizeof(FixedSum), gpu::kDeviceToHost),
          "copy fixed-point sums");
    for (std::int64_t j = 0; j < k_; ++j) {
      std::copy(&totals[j * w], &totals[j * w + d_], sums + j * d_);
      weights[j] = totals[j * w + d_];
    }
  }

  /// accumulate_fixed's k x (d + 1) integer totals, left in fixed_totals_.
  void fixed_totals_on_device(const FixedPointFormat& format) const {
    detail::check_format(format, d_, gpu::kPlatform);
    DeviceScope scope(device_);
    auto* self = const_cast<CudaProblem*>(this);  // the sort's and totals' buffers only; sums_ stays accumulate()'s
    const std::int64_t w = d_ + 1;
    std::vector<detail::FixedScale> grid(w);
    for (std::int64_t f = 0; f < d_; ++f) grid[f] = detail::fixed_scale(format.exponent[f]);
    grid[d_] = detail::fixed_scale(format.weight_exponent);
    self->fixed_grid_.allocate(w, "fixed-point grid", &self->budget_);
    self->fixed_totals_.allocate(k_ * w, "fixed-point sums", &self->budget_);
    check(gpu::memcpy(fixed_grid_.get(), grid.data(), w * sizeof(detail::FixedScale), gpu::kHostToDevice), "copy grid");
    check(gpu::memset(fixed_totals_.get(), 0, k_ * w * sizeof(FixedSum)), "memset");
    if (n_ > 0 && k_ > 0) {
      // Each chunk (all rows when resident) sorted by label, its runs added into the integer
      // totals: integer sums are the same whatever the order and the chunking.
      self->accumulate_begin(k_, d_, label_bits(k_));  // sizes the sort's buffers (sums_ is left as it is)
      for_rows(kNeedX | kNeedWeights | kNeedLabels, [&](const Rows& r) {
        self->sort_rows_by_label(r.labels, r.n, k_, label_bits(k_));
        const FixedSegmentArgs a{sorted_labels_.get(), order_.get(), r.n, k_, d_, kFixedChunk, r.weights,
                                 metric_ == Metric::Cosine ? r.row_scale : nullptr, fixed_grid_.get(), fixed_totals_.get()};
        with_device_type(dtype_, [&](auto tag) {
          using T = decltype(tag);
          fixed_segment_sums<T><<<int((r.n + kFixedChunk - 1) / kFixedChunk), kernels::kWarpSize>>>(
              a, static_cast<const T*>(r.x), ld_);
          return 0;
        });
        check_launch("fixed_segment_sums");
      });
    }
  }

  bool exact_weighted_distance_sum(std::int64_t* words) const override {
    if (n_ >= (std::int64_t(1) << 30)) return false;  // the words' headroom (exact_update.cuh)
    DeviceScope scope(device_);
    long_words_.allocate(detail::kLongWords, "long accumulator");
    check(gpu::memset(long_words_.get(), 0, detail::kLongWords * sizeof(unsigned long long)), "memset");
    for_rows(kNeedWeights | kNeedDist, [&](const Rows& r) {
      exact_weighted_sum<<<int(std::min<std::int64_t>(1024, (r.n + 255) / 256)), 256>>>(r.weights, r.dist, r.n,
                                                                                      long_words_.get());
      check_launch("exact_weighted_sum");
    });
    unsigned long long host[detail::kLongWords];
    check(gpu::memcpy(host, long_words_.get(), sizeof host, gpu::kDeviceToHost), "copy long accumulator");
    for (int q = 0; q < detail::kLongWords; ++q) words[q] = std::int64_t(std::uint64_t(words[q]) + host[q]);
    return true;
  }

  void replace_centroids(const std::int64_t* ids, std::int64_t m, const double* rows) override {
    DeviceScope scope(device_);
    for (std::int64_t t = 0; t < m; ++t)
      check(gpu::memcpy(centroids_.get() + ids[t] * d_, rows + t * d_, d_ * sizeof(double), gpu::kHostToDevice),
            "copy replaced centroid");
    for (std::int64_t e = 0; e < m * d_; ++e) centroid_bound_ = std::max(centroid_bound_, std::abs(rows[e]));
    prepare(ops_, centroids_.get(), k_, centroid_bound_);
    shift_valid_ = false;
  }

  double shift() const override {
    if (shift_valid_) return shift_;
    DeviceScope scope(device_);
    centroid_shift_parts<<<int(k_), 128>>>(centroids_.get(), previous_.get(), d_, shift_parts_.get());
    check_launch("centroid_shift_parts");
    return sum_to_host(shift_parts_.get(), k_);
  }

  void get_labels(std::int32_t* out) const override {
    if (streamed_) {
      std::memcpy(out, host_labels_.get(), std::size_t(n_) * sizeof(std::int32_t));
      return;
    }
    DeviceScope scope(device_);
    check(gpu::memcpy(out, labels_.get(), n_ * sizeof(std::int32_t), gpu::kDeviceToHost), "copy labels");
  }
  void get_distances(double* out) const override {
    if (streamed_) {
      std::memcpy(out, host_dist_.get(), std::size_t(n_) * sizeof(double));
      return;
    }
    DeviceScope scope(device_);
    check(gpu::memcpy(out, dist_.get(), n_ * sizeof(double), gpu::kDeviceToHost), "copy distances");
  }

  double update_nearest(const double* c, std::int64_t m, bool reset, std::int64_t first_label) override {
    DeviceScope scope(device_);
    fused_sums_ = false;  // labels change
    if (reset && !streamed_) {
      fill<<<grid_for(n_, 256), 256>>>(dist_.get(), n_, kInf);
      check_launch("fill");
    }
    if (reset && streamed_ && m == 0) std::fill(host_dist_.get(), host_dist_.get() + n_, kInf);
    if (m == 0) return kInf;
    if (first_label + m > INT32_MAX) throw Error(ErrorCode::InvalidArgument, std::string(gpu::kPlatform) + ": update_nearest labels overflow int32");
    DeviceBuffer<double> centres(m * d_, "centres");
    const double largest = upload_centres(c, m, centres.get());
    prepare(tmp_ops_, centres.get(), m, largest);
    kernels::AssignOutput out = output(kernels::AssignMode::UpdateNearest);
    out.centroids = centres.get();
    out.label_offset = std::int32_t(first_label);
    if (!streamed_) {
      out.dist = dist_.get();
      out.labels = labels_.get();
      return run_assign(tmp_ops_, out);
    }
    const std::int64_t per = partial_rows(tmp_ops_);
    const unsigned need = kNeedX | kNeedWeights | kNeedLabels | kKeepDist | kKeepLabels | (reset ? kDistInfinite : kNeedDist);
    for_rows(need, [&](const Rows& r) { launch_assign(tmp_ops_, chunk_output(out, r, per), r); });
    return sum_to_host(assign_partials_.get(), (n_ + per - 1) / per);
  }

  void potentials(const double* c, std::int64_t m, double* out) const override {
    if (n_ == 0) {
      std::fill(out, out + m, 0.0);
      return;
    }
    DeviceScope scope(device_);
    DeviceBuffer<double> centres(m * d_, "centres");
    upload_centres(c, m, centres.get());
    constexpr std::int64_t rows = 256;
    const std::int64_t nb = (n_ + rows - 1) / rows;
    DeviceBuffer<double> partials(nb * m, "potential partials"), sums(m, "potentials");
    const int threads = 256;
    const std::size_t smem = std::size_t(threads / kernels::kWarpSize) * m * sizeof(double);
    with_device_type(dtype_, [&](auto tag) {
      using T = decltype(tag);
      if (smem > 48 * 1024) check(gpu::allow_dynamic_shared(candidate_potentials<T>, int(smem)), "allow_dynamic_shared");
      return 0;
    });
    for_rows(kNeedX | kNeedWeights | kNeedDist, [&](const Rows& r) {
      with_device_type(dtype_, [&](auto tag) {
        using T = decltype(tag);
        candidate_potentials<T><<<int((r.n + rows - 1) / rows), threads, smem>>>(
            static_cast<const T*>(r.x), r.n, d_, ld_, metric_code(), r.row_scale, r.weights, r.dist, centres.get(), m, rows,
            partials.get() + (r.base / rows) * m);
        return 0;
      });
      check_launch("candidate_potentials");
    });
    sum_rows<<<int((m + 255) / 256), 256>>>(partials.get(), nb, m, sums.get());
    check_launch("sum_rows");
    check(gpu::memcpy(out, sums.get(), m * sizeof(double), gpu::kDeviceToHost), "copy potentials");
  }

  void sample(const double* targets, std::int64_t m, bool by_weight, std::int64_t* out) const override {
    if (n_ == 0) {  // nothing to draw from (callers of a fit never get here: k <= n)
      std::fill(out, out + m, std::int64_t(0));
      return;
    }
    DeviceScope scope(device_);
    const std::int64_t nb = (n_ + kSampleChunk - 1) / kSampleChunk;
    DeviceBuffer<double> partials(nb, "sample partials");
    DeviceBuffer<long long> last(1, "last positive");
    const long long minus_one = -1;
    check(gpu::memcpy(last.get(), &minus_one, sizeof minus_one, gpu::kHostToDevice), "init last positive");
    for_rows(by_weight ? kNeedWeights : kNeedWeights | kNeedDist, [&](const Rows& r) {
      const SampleMass mass{r.weights, r.dist, by_weight};
      chunk_sums<<<int((r.n + kSampleChunk - 1) / kSampleChunk), 256>>>(mass, r.n, kSampleChunk,
                                                                        partials.get() + r.base / kSampleChunk);
      check_launch("chunk_sums");
      last_positive<<<grid_for(r.n, 256), 256>>>(mass, r.n, r.base, last.get());
      check_launch("last_positive");
    });
    std::vector<double> block_end(nb);
    check(gpu::memcpy(block_end.data(), partials.get(), nb * sizeof(double), gpu::kDeviceToHost), "copy partials");
    for (std::int64_t b = 1; b < nb; ++b) block_end[b] += block_end[b - 1];
    long long last_pos = -1;
    check(gpu::memcpy(&last_pos, last.get(), sizeof last_pos, gpu::kDeviceToHost), "copy last positive");
    if (last_pos < 0) last_pos = 0;

    std::vector<std::int64_t> chunk_of, slot;
    std::vector<double> base, target;
    for (std::int64_t t = 0; t < m; ++t) {
      const std::int64_t b = std::upper_bound(block_end.begin(), block_end.end(), targets[t]) - block_end.begin();
      out[t] = last_pos;
      if (b >= nb) continue;
      chunk_of.push_back(b);
      base.push_back(b > 0 ? block_end[b - 1] : 0.0);
      target.push_back(targets[t]);
      slot.push_back(t);
    }
    const std::int64_t q = std::int64_t(slot.size());
    if (q == 0) return;
    // Streamed: the blocks the targets fall in, copied into a packed array of whole blocks
    // (rows past the data's end have mass 0, so the in-block search is that of the resident
    // array); block_at maps a packed block back to its global one.
    SampleMass mass{weights(), dist_.get(), by_weight};
    std::int64_t mass_rows = n_;
    std::vector<std::int64_t> block_at;
    DeviceBuffer<double> packed_w, packed_dist;
    if (streamed_) {
      std::vector<std::int64_t> packed_of(q);
      for (std::int64_t r = 0; r < q; ++r) {
        auto it = std::find(block_at.begin(), block_at.end(), chunk_of[r]);
        if (it == block_at.end()) it = block_at.insert(block_at.end(), chunk_of[r]);
        packed_of[r] = std::int64_t(it - block_at.begin());
      }
      const std::int64_t pb = std::int64_t(block_at.size());
      std::vector<double> w(pb * kSampleChunk, 0.0), dist(pb * kSampleChunk, 0.0);
      for (std::int64_t b = 0; b < pb; ++b)
        for (std::int64_t i = 0; i < kSampleChunk && block_at[b] * kSampleChunk + i < n_; ++i) {
          const std::int64_t g = block_at[b] * kSampleChunk + i;
          w[b * kSampleChunk + i] = host_weights_.get() ? host_weights_.get()[g] : 1.0;
          dist[b * kSampleChunk + i] = host_dist_.get()[g];
        }
      packed_w.allocate(pb * kSampleChunk, "sampled blocks");
      packed_dist.allocate(pb * kSampleChunk, "sampled blocks");
      check(gpu::memcpy(packed_w.get(), w.data(), w.size() * sizeof(double), gpu::kHostToDevice), "copy sampled blocks");
      check(gpu::memcpy(packed_dist.get(), dist.data(), dist.size() * sizeof(double), gpu::kHostToDevice),
            "copy sampled blocks");
      mass = SampleMass{packed_w.get(), packed_dist.get(), by_weight};
      mass_rows = pb * kSampleChunk;
      chunk_of = packed_of;
    }
    DeviceBuffer<std::int64_t> chunk_d(q, "chunks"), found_d(q, "found");
    DeviceBuffer<double> base_d(q, "bases"), target_d(q, "targets");
    check(gpu::memcpy(chunk_d.get(), chunk_of.data(), q * sizeof(std::int64_t), gpu::kHostToDevice), "copy chunks");
    check(gpu::memcpy(base_d.get(), base.data(), q * sizeof(double), gpu::kHostToDevice), "copy bases");
    check(gpu::memcpy(target_d.get(), target.data(), q * sizeof(double), gpu::kHostToDevice), "copy targets");
    sample_in_chunk<<<grid_for(q * kernels::kWarpSize, 256), 256>>>(mass, mass_rows, kSampleChunk, chunk_d.get(),
                                                                     base_d.get(), target_d.get(), q, found_d.get());
    check_launch("sample_in_chunk");
    std::vector<std::int64_t> found(q);
    check(gpu::memcpy(found.data(), found_d.get(), q * sizeof(std::int64_t), gpu::kDeviceToHost), "copy samples");
    for (std::int64_t r = 0; r < q; ++r) {
      if (streamed_ && found[r] >= 0) found[r] = block_at[chunk_of[r]] * kSampleChunk + found[r] - chunk_of[r] * kSampleChunk;
      out[slot[r]] = found[r] < 0 ? last_pos : std::min<std::int64_t>(found[r], last_pos);
    }
  }

  std::vector<std::int64_t> sample_independent(double scale, double potential, std::uint64_t seed) const override {
    if (n_ == 0) return {};
    DeviceScope scope(device_);
    const std::int64_t rows = max_rows();
    DeviceBuffer<std::int32_t> flags(rows, "sample flags");
    DeviceBuffer<std::int64_t> picked(rows, "picked"), count(1, "count");
    std::size_t bytes = 0;
    check(gpu::select_flagged_indices(nullptr, bytes, flags.get(), picked.get(), count.get(), rows), "device select size");
    DeviceBuffer<unsigned char> temp(std::int64_t(bytes), "select temp");
    std::vector<std::int64_t> out;
    for_rows(kNeedWeights | kNeedDist, [&](const Rows& r) {
      oversample_flags<<<grid_for(r.n, 256), 256>>>(r.weights, r.dist, r.n, row_offset_ + r.base, scale, potential, seed,
                                                    flags.get());
      check_launch("oversample_flags");
      std::size_t b = bytes;
      check(gpu::select_flagged_indices(temp.get(), b, flags.get(), picked.get(), count.get(), r.n), "device select");
      std::int64_t c = 0;
      check(gpu::memcpy(&c, count.get(), sizeof c, gpu::kDeviceToHost), "copy count");
      const std::size_t at = out.size();
      out.resize(at + std::size_t(c));
      if (c > 0)
        check(gpu::memcpy(out.data() + at, picked.get(), c * sizeof(std::int64_t), gpu::kDeviceToHost), "copy picks");
      for (std::size_t i = at; i < out.size(); ++i) out[i] += r.base;
    });
    return out;
  }

  void gather_rows(const std::int64_t* idx, std::int64_t m, double* out) const override {
    if (m == 0) return;
    DeviceScope scope(device_);
    DeviceBuffer<double> rows(m * d_, "gathered rows");
    if (!streamed_) {
      DeviceBuffer<std::int64_t> idx_d(m, "row indices");
      check(gpu::memcpy(idx_d.get(), idx, m * sizeof(std::int64_t), gpu::kHostToDevice), "copy indices");
      with_device_type(dtype_, [&](auto tag) {
        using T = decltype(tag);
        gather_rows_kernel<T>(all_rows(), idx_d.get(), m, rows.get());
        return 0;
      });
    } else {
      // the rows from host memory, in the device layout; their norms as the chunks get them
      const std::int64_t es = std::int64_t(size_of(dtype_)), pitch = ld_ * es;
      std::vector<unsigned char> packed(std::size_t(m * pitch), 0);
      for (std::int64_t t = 0; t < m; ++t)
        std::memcpy(packed.data() + t * pitch, host_x_ + idx[t] * host_pitch_, std::size_t(d_ * es));
      DeviceBuffer<unsigned char> x(m * pitch, "gathered data rows");
      check(gpu::memcpy(x.get(), packed.data(), packed.size(), gpu::kHostToDevice), "copy gathered rows");
      std::vector<std::int64_t> iota(m);
      for (std::int64_t t = 0; t < m; ++t) iota[t] = t;
      DeviceBuffer<std::int64_t> idx_d(m, "row indices");
      check(gpu::memcpy(idx_d.get(), iota.data(), m * sizeof(std::int64_t), gpu::kHostToDevice), "copy indices");
      DeviceBuffer<double> norm2, scale;
      Rows r;
      r.n = m;
      r.x = x.get();
      if (metric_ == Metric::Cosine) {
        norm2.allocate(m, "gathered row norms");
        scale.allocate(m, "gathered row scales");
        launch_row_stats(r.x, m, norm2.get(), scale.get());
        r.row_scale = scale.get();
      }
      with_device_type(dtype_, [&](auto tag) {
        using T = decltype(tag);
        gather_rows_kernel<T>(r, idx_d.get(), m, rows.get());
        return 0;
      });
    }
    check(gpu::memcpy(out, rows.get(), m * d_ * sizeof(double), gpu::kDeviceToHost), "copy rows");
  }

  void label_weights(std::int64_t m, double* out) const override {
    DeviceScope scope(device_);
    auto* self = const_cast<CudaProblem*>(this);  // scratch buffers only; the visible state is unchanged
    self->fused_sums_ = false;                    // sums_ is overwritten
    self->accumulate_begin(m, 0, 30);
    for_rows(kNeedWeights | kNeedLabels, [&](const Rows& r) { self->accumulate_rows(r, r.labels, m, 0, 30); });
    self->accumulate_finish(m, 0);
    check(gpu::memcpy(out, sums_.get(), m * sizeof(double), gpu::kDeviceToHost), "copy weights");
  }

  std::vector<std::int64_t> farthest_points(std::int64_t m) const override {
    DeviceScope scope(device_);
    const std::int64_t take = std::min<std::int64_t>(m, check_.positive_weights);
    if (take <= 0) return {};
    if (streamed_) return farthest_on_host(take);
    DeviceBuffer<double> keys(n_, "farthest keys"), sorted(n_, "sorted keys");
    DeviceBuffer<std::int32_t> ids(n_, "ids"), order(n_, "order");
    farthest_keys<<<grid_for(n_, 256), 256>>>(weights(), dist_.get(), n_, keys.get());
    check_launch("farthest_keys");
    iota32<<<grid_for(n_, 256), 256>>>(ids.get(), n_);
    check_launch("iota32");
    std::size_t bytes = 0;
    check(gpu::sort_pairs_descending(nullptr, bytes, keys.get(), sorted.get(), ids.get(), order.get(), n_),
          "device sort size");
    DeviceBuffer<unsigned char> temp(std::int64_t(bytes), "sort temp");
    check(gpu::sort_pairs_descending(temp.get(), bytes, keys.get(), sorted.get(), ids.get(), order.get(), n_),
          "device sort");
    std::vector<std::int32_t> top(take);
    check(gpu::memcpy(top.data(), order.get(), take * sizeof(std::int32_t), gpu::kDeviceToHost), "copy farthest");
    return std::vector<std::int64_t>(top.begin(), top.end());
  }

 private:
  // ---- binding ------------------------------------------------------------------------------
  AssignPath choose_path() const {
    const char* force = std::getenv("FKM_CUDA_FORCE_SIMT");
    // HIP has no tensor-core kernel (an MFMA mainloop is not written): the SIMT kernel, which
    // the FKM_CUDA_FORCE_SIMT tests run on NVIDIA, is its only FlashAssign.
    const bool simt = gpu::kIsHip || (force && force[0] == '1');
    const bool fast = precision_ == Precision::Fast;
    switch (dtype_) {
      case DType::F64: return AssignPath::SimtF64;
      case DType::F32: return simt ? AssignPath::SimtF32 : (fast ? AssignPath::FastTf32 : AssignPath::ScreenTf32);
      case DType::F16: return simt ? AssignPath::SimtF32 : (fast ? AssignPath::FastHalf : AssignPath::ScreenHalf);
      case DType::BF16: return simt ? AssignPath::SimtF32 : (fast ? AssignPath::FastBf16 : AssignPath::ScreenBf16);
    }
    return AssignPath::SimtF32;
  }

  /// Whether a device view's rows can be used in place (the tensor-core loads copy 16 bytes).
  static bool usable_in_place(const MatrixView& x) {
    const std::int64_t es = std::int64_t(size_of(x.dtype));
    return x.space == MemorySpace::Device && (x.row_stride * es) % 16 == 0 &&
           reinterpret_cast<std::uintptr_t>(x.data) % 16 == 0;
  }

  /// Device bytes of the resident and streamed layouts (generous estimates of the arrays
  /// allocated below and in accumulate_begin; the budget checks the real allocations).
  PlacementCosts placement_costs(const ProblemSpec& s) const {
    const std::int64_t es = std::int64_t(size_of(dtype_));
    const std::int64_t row = (d_ * es + 15) / 16 * 16;
    const std::int64_t k = std::max<std::int64_t>(1, s.k);
    const bool weighted = s.weights.data != nullptr, cosine = metric_ == Metric::Cosine;
    const std::int64_t kpad = (k + 127) / 128 * 128, dpad = (d_ + 63) / 64 * 64;
    // centroids, previous, operands (up to 3 terms), bias/scale, update state (done, carry,
    // sums), the pieces of up to 2k clusters' groups, small per-cluster arrays, slack for the
    // primitives' temporaries and the few-element buffers
    const std::int64_t centroid_state = 2 * k * d_ * 8 + 3 * kpad * dpad * 4 + 4 * kpad * 8 + 3 * k * (d_ + 1) * 8 +
                                        2 * k * (d_ + 1) * 8 + 80 * k + (8 << 20);
    const std::int64_t per_row = 4 + 8 + (weighted ? 8 : 0);  // labels, dist, weights
    // row norms (cosine), screen lists, sort keys/values/iota and its temporary, group pieces,
    // per-block partials
    const std::int64_t scratch = (cosine ? 16 : 0) + (is_screen(path_) ? 8 : 0) + 12 + 16 + (d_ + 1) * 8 / 256 + 2;
    const std::int64_t whole_data_partials = n_ / 1024 * d_ * 8 + n_ / 256 * 8 * 16 + n_ / 64 * 8 + (1 << 20);
    PlacementCosts c;
    c.n = n_;
    c.resident_bytes = (usable_in_place(s.x) ? 0 : n_ * row) + n_ * (per_row + scratch) + centroid_state + whole_data_partials;
    c.streamed_fixed_bytes = centroid_state + whole_data_partials;
    c.streamed_row_bytes = kBuffers * (row + per_row) + scratch;
    c.copy_row_bytes = row + (weighted ? 8 : 0);
    return c;
  }

  /// Rows per second FlashAssign is expected to take at k centroids: a model of the kernel
  /// (2 k d flops per row at the path's sustained rate), used only to size chunks.
  double modelled_assign_rate(std::int64_t k) const {
    double flops = 50e12;  // SIMT fp32
    switch (path_) {
      case AssignPath::SimtF64: flops = 20e12; break;
      case AssignPath::SimtF32: flops = 50e12; break;
      case AssignPath::FastHalf: case AssignPath::FastBf16: case AssignPath::ScreenHalf: case AssignPath::ScreenBf16:
        flops = 350e12; break;
      case AssignPath::FastTf32: case AssignPath::ScreenTf32: flops = 150e12; break;
    }
    const double per_row = 2.0 * double(std::max<std::int64_t>(k, 64)) * double(std::max<std::int64_t>(d_, 16));
    return flops / per_row;
  }

  DataPlacement plan(const ProblemSpec& s) const {
    std::size_t free_b = 0, total_b = 0;
    check(gpu::mem_info(&free_b, &total_b), "memory info");
    // leave room for the context's own allocations and the primitives' temporaries
    const std::int64_t usable = std::max<std::int64_t>(0, std::int64_t(double(free_b) * 0.92) - (256LL << 20));
    PlacementRequest r;
    r.cap_bytes = s.max_device_bytes;
    r.budget_bytes = s.max_device_bytes > 0 ? std::min<std::int64_t>(s.max_device_bytes, usable) : usable;
    r.chunk_rows = s.stream_chunk_rows;
    r.can_stream = s.x.space == MemorySpace::Host;
    r.buffers = kBuffers;
    const PlacementCosts c = placement_costs(s);
    const bool streams = r.can_stream && (r.chunk_rows > 0 || c.resident_bytes > r.budget_bytes);
    if (streams && r.budget_bytes >= minimum_streaming_bytes(c)) {
      const std::int64_t probe = std::min<std::int64_t>(64LL << 20, std::max<std::int64_t>(1LL << 20, r.budget_bytes / 8));
      r.h2d_bytes_per_second = pinned_h2d_bandwidth(device_, probe);
      r.assign_rows_per_second = modelled_assign_rate(s.k);
    }
    return plan_placement(c, r, gpu::kPlatform);
  }

  void bind_resident(const ProblemSpec& s) {
    bind_data(s.x);
    bind_weights(s.weights);
    labels_.allocate(n_, "labels", &budget_);
    dist_.allocate(n_, "distances", &budget_);
    fill<<<grid_for(n_, 256), 256>>>(dist_.get(), n_, kInf);
    check_launch("fill");
    if (metric_ == Metric::Cosine) {
      row_norm2_.allocate(n_, "row norms", &budget_);
      row_scale_.allocate(n_, "row scales", &budget_);
      launch_row_stats(x_, n_, row_norm2_.get(), row_scale_.get());
    }
  }

  /// The data stays in host memory: per-row arrays there too (pinned: the chunks copy to and
  /// from them directly), the chunk buffers and one chunk's scratch on the device.
  void bind_streamed(const ProblemSpec& s) {
    const std::int64_t es = std::int64_t(size_of(dtype_));
    ld_ = (d_ * es + 15) / 16 * 16 / es;
    host_x_ = static_cast<const unsigned char*>(s.x.data);
    host_pitch_ = s.x.row_stride * es;
    if (s.weights.data) {
      host_weights_.allocate(n_, "weights");
      for (std::int64_t i = 0; i < n_; ++i) host_weights_.get()[i] = detail::weight_at(s.weights, i);
    }
    host_dist_.allocate(n_, "distances");
    std::fill(host_dist_.get(), host_dist_.get() + n_, kInf);
    host_labels_.allocate(n_, "labels");
    std::fill(host_labels_.get(), host_labels_.get() + n_, 0);
    // rows already in the device layout are copied straight from the caller's memory once it
    // is page-locked (FKM_CUDA_STREAM_STAGING=1 forces the staging buffers, for tests)
    const char* force = std::getenv("FKM_CUDA_STREAM_STAGING");
    const bool same_layout = host_pitch_ == ld_ * es;
    direct_ = same_layout && !(force && force[0] == '1') &&
              registration_.lock(host_x_, std::size_t(n_ * host_pitch_));
    placement_.transfer = direct_ ? "page-locked in place" : "staged";
    stream_ = std::make_unique<ChunkStream>(kBuffers, placement_.chunk_rows, ld_ * es, s.weights.data != nullptr, !direct_,
                                            &budget_);
    if (metric_ == Metric::Cosine) {
      row_norm2_.allocate(max_rows(), "chunk row norms", &budget_);
      row_scale_.allocate(max_rows(), "chunk row scales", &budget_);
    }
  }

  std::int64_t max_rows() const { return streamed_ ? stream_->rows() : n_; }

  /// Every row, resident.
  Rows all_rows() const {
    Rows r;
    r.n = n_;
    r.x = x_;
    r.weights = weights_.get();
    r.row_scale = row_scale_.get();
    r.labels = const_cast<std::int32_t*>(labels_.get());
    r.dist = const_cast<double*>(dist_.get());
    return r;
  }

  /// f(rows) over all rows: once (resident), or per chunk through the copy/compute pipeline
  /// (streamed; `need` says what each chunk copies in and back).
  template <class F>
  void for_rows(unsigned need, F&& f) const {
    if (n_ == 0) return;  // a shard without rows: no pass has anything to do
    if (!streamed_) {
      f(all_rows());
      return;
    }
    const std::int64_t rows = stream_->rows(), chunks = (n_ + rows - 1) / rows;
    const std::int64_t es = std::int64_t(size_of(dtype_)), pitch = ld_ * es;
    auto count_of = [&](std::int64_t c) { return std::min(rows, n_ - c * rows); };
    stream_->sweep(
        chunks,
        [&](std::int64_t c, ChunkStream::Slot& slot) {
          if ((need & kNeedX) && !direct_) stream_->stage_rows(slot, host_x_, host_pitch_, d_ * es, c * rows, count_of(c));
        },
        [&](std::int64_t c, ChunkStream::Slot& slot, gpu::Stream copy) {
          const std::int64_t base = c * rows, n = count_of(c);
          if (need & kNeedX)
            check(gpu::memcpy_async(slot.x.get(), direct_ ? host_x_ + base * pitch : slot.staged, std::size_t(n * pitch),
                                    gpu::kHostToDevice, copy),
                  "copy chunk");
          if ((need & kNeedWeights) && host_weights_.get())
            check(gpu::memcpy_async(slot.weights.get(), host_weights_.get() + base, std::size_t(n) * sizeof(double),
                                    gpu::kHostToDevice, copy),
                  "copy chunk weights");
          if (need & kNeedDist)
            check(gpu::memcpy_async(slot.dist.get(), host_dist_.get() + base, std::size_t(n) * sizeof(double),
                                    gpu::kHostToDevice, copy),
                  "copy chunk distances");
          if (need & kNeedLabels)
            check(gpu::memcpy_async(slot.labels.get(), host_labels_.get() + base, std::size_t(n) * sizeof(std::int32_t),
                                    gpu::kHostToDevice, copy),
                  "copy chunk labels");
        },
        [&](std::int64_t c, ChunkStream::Slot& slot) {
          Rows r;
          r.base = c * rows;
          r.n = count_of(c);
          r.x = slot.x.get();
          r.weights = host_weights_.get() ? slot.weights.get() : nullptr;
          r.labels = slot.labels.get();
          r.dist = slot.dist.get();
          if (need & kDistInfinite) {
            fill<<<grid_for(r.n, 256), 256>>>(r.dist, r.n, kInf);
            check_launch("fill");
          }
          if ((need & kNeedX) && metric_ == Metric::Cosine) {
            launch_row_stats(r.x, r.n, row_norm2_.get(), row_scale_.get());
            r.row_scale = row_scale_.get();
          }
          f(r);
          if (need & kKeepDist)
            check(gpu::memcpy_async(host_dist_.get() + r.base, r.dist, std::size_t(r.n) * sizeof(double), gpu::kDeviceToHost,
                                    nullptr),
                  "copy chunk distances back");
          if (need & kKeepLabels)
            check(gpu::memcpy_async(host_labels_.get() + r.base, r.labels, std::size_t(r.n) * sizeof(std::int32_t),
                                    gpu::kDeviceToHost, nullptr),
                  "copy chunk labels back");
        });
  }

  void launch_row_stats(const void* x, std::int64_t n, double* norm2, double* scale) const {
    with_device_type(dtype_, [&](auto tag) {
      using T = decltype(tag);
      row_stats<T><<<grid_for(n * kernels::kWarpSize, 256), 256>>>(static_cast<const T*>(x), n, d_, ld_, norm2, scale);
      return 0;
    });
    check_launch("row_stats");
  }

  /// The k largest distances among points of positive weight, largest first, ties to the lower
  /// index: the order of the resident path's stable descending radix sort (its keys are
  /// dist + 0.0, so -0 and +0 are one key), from the host copy of the distances.
  std::vector<std::int64_t> farthest_on_host(std::int64_t take) const {
    const double* w = host_weights_.get();
    const double* dist = host_dist_.get();
    using Entry = std::pair<double, std::int64_t>;
    auto better = [](const Entry& a, const Entry& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
    std::vector<Entry> heap;  // the best `take` so far; the worst of them on top
    heap.reserve(std::size_t(take));
    for (std::int64_t i = 0; i < n_; ++i) {
      if (w && !(w[i] > 0)) continue;
      const Entry e{dist[i] + 0.0, i};
      if (std::int64_t(heap.size()) < take) {
        heap.push_back(e);
        std::push_heap(heap.begin(), heap.end(), better);
      } else if (better(e, heap.front())) {
        std::pop_heap(heap.begin(), heap.end(), better);
        heap.back() = e;
        std::push_heap(heap.begin(), heap.end(), better);
      }
    }
    std::sort(heap.begin(), heap.end(), better);
    std::vector<std::int64_t> out;
    for (const Entry& e : heap) out.push_back(e.second);
    return out;
  }

  void bind_data(const MatrixView& x) {
    const std::int64_t es = std::int64_t(size_of(dtype_));
    if (x.space == MemorySpace::Device) {
      int owner = -1;
      check(gpu::pointer_device(x.data, &owner), "pointer attributes");
      if (owner < 0)
        throw Error(ErrorCode::InvalidData, std::string(gpu::kPlatform) + ": device_view data is not device memory of this backend");
      if (owner != device_)
        throw Error(ErrorCode::InvalidData, std::string(gpu::kPlatform) + ": device_view data lives on device " + std::to_string(owner) +
                                                ", the view says device " + std::to_string(device_));
      if (usable_in_place(x)) {  // use the caller's memory in place
        x_ = x.data;
        ld_ = x.row_stride;
        return;
      }
    }
    // An owned copy with 16-byte aligned rows (the tensor-core loads copy 16 bytes at a time).
    ld_ = (d_ * es + 15) / 16 * 16 / es;
    x_owned_.allocate(n_ * ld_ * es, "data", &budget_);
    x_ = x_owned_.get();
    if (n_ == 0) return;  // a shard without rows
    check(gpu::memset(x_owned_.get(), 0, n_ * ld_ * es), "memset");
    check(gpu::memcpy_2d(x_owned_.get(), ld_ * es, x.data, x.row_stride * es, d_ * es, n_,
                       x.space == MemorySpace::Device ? gpu::kDeviceToDevice : gpu::kHostToDevice),
          "copy data to the device");
  }

  void bind_weights(const VectorView& w) {
    if (!w.data) return;
    weights_.allocate(n_, "weights", &budget_);
    if (w.space == MemorySpace::Host) {
      std::vector<double> host(n_);
      for (std::int64_t i = 0; i < n_; ++i) host[i] = detail::weight_at(w, i);
      check(gpu::memcpy(weights_.get(), host.data(), n_ * sizeof(double), gpu::kHostToDevice), "copy weights");
      return;
    }
    if (w.dtype == DType::F64)
      widen_weights<<<grid_for(n_, 256), 256>>>(static_cast<const double*>(w.data), n_, weights_.get());
    else
      widen_weights<<<grid_for(n_, 256), 256>>>(static_cast<const float*>(w.data), n_, weights_.get());
    check_launch("widen_weights");
  }

  void scan_values() {
    DeviceBuffer<unsigned long long> flags(4, "value check");
    const unsigned long long init[4] = {~0ull, ~0ull, 0ull, 0ull};
    check(gpu::memcpy(flags.get(), init, sizeof init, gpu::kHostToDevice), "init value check");
    for_rows(kNeedX | kNeedWeights, [&](const Rows& r) {
      with_device_type(dtype_, [&](auto tag) {
        using T = decltype(tag);
        fkm::cuda::check_values<T><<<grid_for(r.n * d_, 256), 256>>>(static_cast<const T*>(r.x), r.n, d_, ld_, r.weights, r.base,
                                                                     flags.get(), flags.get() + 1, flags.get() + 2,
                                                                     flags.get() + 3);
        return 0;
      });
      check_launch("check_values");
    });
    unsigned long long got[4];
    check(gpu::memcpy(got, flags.get(), sizeof got, gpu::kDeviceToHost), "copy value check");
    const std::int64_t data_row = got[0] == ~0ull ? -1 : std::int64_t(got[0] / d_);
    const std::int64_t weight_row = got[1] == ~0ull ? -1 : std::int64_t(got[1]);
    if (data_row >= 0 && (weight_row < 0 || data_row <= weight_row)) {
      check_.bad_row = data_row;
      check_.bad_col = std::int64_t(got[0] % d_);
    } else if (weight_row >= 0) {
      check_.bad_row = weight_row;
      check_.in_weights = true;
    }
    check_.positive_weights = std::int64_t(got[2]);
    std::memcpy(&data_largest_, &got[3], sizeof data_largest_);
  }

  // ---- helpers ------------------------------------------------------------------------------
  template <class T>
  const T* xp() const {
    return static_cast<const T*>(x_);
  }
  const double* weights() const { return weights_.get(); }
  kernels::MetricCode metric_code() const {
    return metric_ == Metric::L2 ? kernels::MetricCode::L2
                                 : (metric_ == Metric::Cosine ? kernels::MetricCode::Cosine : kernels::MetricCode::InnerProduct);
  }

  kernels::AssignOutput output(kernels::AssignMode mode) const {
    kernels::AssignOutput o;
    o.mode = mode;
    o.metric = metric_code();
    o.d = d_;
    o.row_scale = row_scale_.get();
    o.weights = weights();
    o.partials = assign_partials_.get();
    return o;
  }

  /// `out` retargeted at one chunk: its rows' arrays, its blocks' slice of the partial sums
  /// (per: rows per partial; chunks start at multiples of it).
  static kernels::AssignOutput chunk_output(kernels::AssignOutput out, const Rows& r, std::int64_t per) {
    out.labels = r.labels;
    out.dist = r.dist;
    out.row_scale = r.row_scale;
    out.weights = r.weights;
    out.partials += r.base / per;
    return out;
  }

  /// Copies scalars_[first..3) to the pinned mirror (one small copy, then wait).
  void read_scalars(int first) const {
    check(gpu::memcpy_async(host_scalars_ + first, scalars_.get() + first, (3 - first) * sizeof(double),
                          gpu::kDeviceToHost, 0),
          "copy scalars");
    check(gpu::stream_synchronize(0), "stream synchronize");
  }

  double sum_to_host(const double* v, std::int64_t n) const {
    kernels::sum_fixed_order<<<1, 1024>>>(v, n, scalars_.get());
    check_launch("sum_fixed_order");
    double s = 0;
    read_scalars(0);
    s = host_scalars_[0];
    return s;
  }

  /// m centres (m x d fp64 host) to the device, normalised for cosine; returns their largest
  /// magnitude (it decides whether the scaled kernels can take them: operands.cuh).
  double upload_centres(const double* c, std::int64_t m, double* dst) const {
    std::vector<double> rows(c, c + m * d_);
    if (metric_ == Metric::Cosine)
      for (std::int64_t j = 0; j < m; ++j) {
        double s = 0;
        for (std::int64_t f = 0; f < d_; ++f) s += rows[j * d_ + f] * rows[j * d_ + f];
        if (s > 0) {
          const double inv = 1.0 / std::sqrt(s);
          for (std::int64_t f = 0; f < d_; ++f) rows[j * d_ + f] *= inv;
        }
      }
    check(gpu::memcpy(dst, rows.data(), m * d_ * sizeof(double), gpu::kHostToDevice), "copy centres");
    double largest = 0;
    for (double v : rows) largest = std::max(largest, std::abs(v));
    return largest;
  }

  // ---- centroid operands and FlashAssign ----------------------------------------------------
  /// How one operand set is laid out and scaled.
  struct OperandPlan {
    int nsplit;
    std::int64_t kpad, dpad;
    TermRule rule;
    OperandRange range;
  };

  /// The screen's error-bound constants for operands of type Op (core/kernels/screen.hpp):
  /// fp16/bf16 points meet their operands in m16n8k16 steps, fp32 points (rounded to tf32, an
  /// error the screen measures per row) in m16n8k8 steps. Operands below the smallest normal may
  /// be flushed to zero.
  template <class Op>
  BoundSpec bound_spec(Operands& ops, std::int64_t dpad) {
    ops.bound.allocate(1, "screen bound", &budget_);
    check(gpu::memset(ops.bound.get(), 0, sizeof(kernels::ScreenBound)), "memset");
    BoundSpec b;
    b.out = ops.bound.get();
    const bool half = std::is_same_v<Op, gpu::half>, tf32 = sizeof(Op) == 4;
    b.steps = int(dpad / (tf32 ? 8 : 16));
    const double delta = 0x1p-20, sd = double(b.steps) * delta;
    b.gamma = sd < 0.5 ? sd / (1 - sd) : kInf;  // kInf: nothing is proved (absurdly wide rows)
    b.mu_x = b.mu_c = half ? 0x1p-14 : 0x1p-126;
    return b;
  }

  template <class Op, class Acc>
  void prepare_as(Operands& ops, const double* c, std::int64_t k, const OperandPlan& plan, BoundSpec bound) {
    ops.k = k;
    ops.kpad = plan.kpad;
    ops.dpad = plan.dpad;
    ops.terms.allocate(std::int64_t(plan.nsplit) * plan.kpad * plan.dpad * std::int64_t(sizeof(Op)), "centroid operands",
                       &budget_);
    Acc *bias, *mul;
    if constexpr (sizeof(Acc) == 8) {
      ops.bias_d.allocate(plan.kpad, "centroid bias", &budget_);
      ops.mul_d.allocate(plan.kpad, "centroid scale", &budget_);
      bias = ops.bias_d.get();
      mul = ops.mul_d.get();
    } else {
      ops.bias_f.allocate(plan.kpad, "centroid bias", &budget_);
      ops.mul_f.allocate(plan.kpad, "centroid scale", &budget_);
      bias = ops.bias_f.get();
      mul = ops.mul_f.get();
    }
    const bool scaled = plan.range != OperandRange::Unscaled;
    PrepareArgs a{c, k, d_, plan.kpad, plan.dpad, plan.nsplit, plan.rule, plan.range, metric_ == Metric::L2,
                  scaled ? scale_.s_total : 0, scale_.wide_shift, bound};
    prepare_operands<Op, Acc><<<int(plan.kpad), 128>>>(a, reinterpret_cast<Op*>(ops.terms.get()), bias, mul);
    check_launch("prepare_operands");
  }

  /// Operands of k centroids (fp64, on the device) whose largest magnitude is at most `largest`.
  void prepare(Operands& ops, const double* c, std::int64_t k, double largest) {
    auto pad = [](std::int64_t v, std::int64_t m) { return (v + m - 1) / m * m; };
    const std::int64_t kpad = centroid_pad(k), dpad16 = pad(d_, kChunkBytes / 2), dpad32 = pad(d_, kChunkBytes / 4);
    ops.wide = path_ != AssignPath::SimtF64 && !scale_.centroids_in_range(largest);
    if (path_ == AssignPath::SimtF64 || ops.wide)
      return prepare_as<double, double>(ops, c, k, {1, k, d_, TermRule::Split, OperandRange::Unscaled}, {});
    switch (path_) {
      case AssignPath::SimtF64: break;
      case AssignPath::SimtF32:
        return prepare_as<float, float>(ops, c, k, {1, k, d_, TermRule::Split, OperandRange::Wide}, {});
      case AssignPath::FastHalf:
        return prepare_as<gpu::half, float>(ops, c, k, {1, kpad, dpad16, TermRule::Split, OperandRange::Half}, {});
      case AssignPath::ScreenHalf:
        return prepare_as<gpu::half, float>(ops, c, k, {2, kpad, dpad16, TermRule::Split, OperandRange::Half},
                                            bound_spec<gpu::half>(ops, dpad16));
      case AssignPath::FastBf16:
        return prepare_as<gpu::bfloat16, float>(ops, c, k, {1, kpad, dpad16, TermRule::Split, OperandRange::Wide}, {});
      case AssignPath::ScreenBf16:
        return prepare_as<gpu::bfloat16, float>(ops, c, k, {3, kpad, dpad16, TermRule::Split, OperandRange::Wide},
                                                bound_spec<gpu::bfloat16>(ops, dpad16));
      case AssignPath::FastTf32:
        return prepare_as<float, float>(ops, c, k, {1, kpad, dpad32, TermRule::Tf32ThenFull, OperandRange::Wide}, {});
      case AssignPath::ScreenTf32:
        return prepare_as<float, float>(ops, c, k, {2, kpad, dpad32, TermRule::Tf32ThenFull, OperandRange::Wide},
                                        bound_spec<float>(ops, dpad32));
    }
  }


  /// Rows per partial sum of FlashAssign with `ops` (the partials array is laid out by it).
  std::int64_t partial_rows(const Operands& ops) const {
    if (ops.wide || path_ == AssignPath::SimtF64 || path_ == AssignPath::SimtF32) return kernels::kSimtBM;
    if (is_screen(path_)) return kReduceChunk;
    return kMmaBM;
  }

  template <class T, int NSPLIT, MmaRole ROLE>
  void launch_mma(const Operands& ops, const kernels::AssignOutput& out, const kernels::ScreenArgs& screen, const Rows& r) {
#if defined(__HIP__)
    throw Error(ErrorCode::Internal, "hip: no tensor-core FlashAssign on this platform");
#else
    MmaAssignArgs<T> a{static_cast<const T*>(r.x), r.n, d_, ld_, reinterpret_cast<const T*>(ops.terms.get()), ops.k, ops.kpad, ops.dpad,
                       ops.bias_f.get(), ops.mul_f.get()};
    if (ROLE == MmaRole::Pairs) {
      a.rows = screen.near_rows;
      a.row_count = screen.near_count;
    } else if (ROLE == MmaRole::Rescore) {
      a.rows = screen.open_rows;
      a.row_count = screen.open_count;
    }
    // Pairs, Rescore: a list at most n long; blocks past its end return at once
    const int blocks = int((r.n + kMmaBM - 1) / kMmaBM);
    if constexpr ((ROLE == MmaRole::Plain || ROLE == MmaRole::Screen) && NSPLIT == 1) {
      if (launch_wgmma<T, ROLE>(a, out, screen, blocks)) return;
    }
    if (std::int64_t(ops.kpad / kMmaBN) * (ops.dpad * std::int64_t(sizeof(T)) / kChunkBytes) > INT32_MAX)
      throw Error(ErrorCode::InvalidArgument, std::string(gpu::kPlatform) + ": k x d too large for one assign launch");
    const auto launch = [&](auto tile_n) {
      constexpr int BN = decltype(tile_n)::value;
      const std::int64_t resident_bytes = mma_smem_bytes<T, NSPLIT, true, BN>(ops.dpad);
      if (resident_bytes <= 150 * 1024) {
        check(gpu::allow_dynamic_shared(assign_mma<T, NSPLIT, true, ROLE, BN>, int(resident_bytes)), "allow_dynamic_shared");
        assign_mma<T, NSPLIT, true, ROLE, BN><<<blocks, kMmaThreads, resident_bytes>>>(a, out, screen);
      } else {
        const std::int64_t bytes = mma_smem_bytes<T, NSPLIT, false, BN>(ops.dpad);
        check(gpu::allow_dynamic_shared(assign_mma<T, NSPLIT, false, ROLE, BN>, int(bytes)), "allow_dynamic_shared");
        assign_mma<T, NSPLIT, false, ROLE, BN><<<blocks, kMmaThreads, bytes>>>(a, out, screen);
      }
    };
    // the passes over every row take the narrow tile at k <= 16; the listed passes (a few rows) keep one shape
    constexpr bool kEveryRow = ROLE == MmaRole::Plain || ROLE == MmaRole::Screen;
    if (kEveryRow && mma_tile_n(ops.k) == 16)
      launch(std::integral_constant<int, kEveryRow ? 16 : kMmaBN>{});
    else
      launch(std::integral_constant<int, kMmaBN>{});
    check_launch("assign_mma");
#endif
  }

  /// The Hopper kernel (assign_wgmma.cuh) for the passes over every row, where it runs and pays
  /// (wgmma_takes); false: the caller launches the mma.sync kernel.
  template <class T, MmaRole ROLE>
  bool launch_wgmma(const MmaAssignArgs<T>& a, const kernels::AssignOutput& out, const kernels::ScreenArgs& screen, int blocks) {
#if defined(__HIP__)
    return false;
#else
    if (!wgmma_takes(a.n, a.kpad)) return false;
    with_wgmma_placement<T>(a.dpad, [&](auto resident) {
      constexpr int BN = kWgmmaBN;
      constexpr bool RESIDENT = decltype(resident)::value;
      const auto kernel = assign_wgmma<T, BN, RESIDENT, ROLE>;
      const std::int64_t es = sizeof(T), bytes = wgmma_smem_bytes<BN, RESIDENT>(a.dpad * es);
      const CUtensorMap xmap = box_map<T>(a.x, a.d, a.n, 1, a.ld * es, a.n * a.ld * es, kWgmmaBM);
      const CUtensorMap cmap = box_map<T>(a.c, a.dpad, a.kpad, 1, a.dpad * es, a.kpad * a.dpad * es, BN);
      check(gpu::allow_dynamic_shared(kernel, int(bytes)), "allow_dynamic_shared");
      kernel<<<blocks, kWgmmaThreads, bytes>>>(xmap, cmap, a, out, screen);
      check_launch("assign_wgmma");
    });
    return true;
#endif
  }

  /// The SIMT kernel over every row of r (listed == null) or over the re-score list. c: the
  /// operand rows (ldc = ops.dpad) in the arithmetic type.
  template <class T, class Acc>
  void launch_simt(const Operands& ops, const kernels::AssignOutput& out, const Rows& r, const Acc* c,
                   const kernels::ScreenArgs* listed = nullptr) {
    const Acc* bias = sizeof(Acc) == 8 ? reinterpret_cast<const Acc*>(ops.bias_d.get()) : reinterpret_cast<const Acc*>(ops.bias_f.get());
    const Acc* mul = sizeof(Acc) == 8 ? reinterpret_cast<const Acc*>(ops.mul_d.get()) : reinterpret_cast<const Acc*>(ops.mul_f.get());
    kernels::SimtAssignArgs<T, Acc> a{static_cast<const T*>(r.x), r.n, d_, ld_, c, ops.k, ops.dpad, bias, mul};
    if (listed) {  // the re-score: the open rows
      a.rows = listed->open_rows;
      a.row_count = listed->open_count;
    }
    const int blocks = int((r.n + kernels::kSimtBM - 1) / kernels::kSimtBM);  // listed: blocks past the end return
    kernels::assign_simt<T, Acc><<<blocks, kernels::kSimtThreads>>>(a, out);
    check_launch("assign_simt");
  }
  template <class T, class Acc>
  void launch_simt(const Operands& ops, const kernels::AssignOutput& out, const Rows& r) {
    launch_simt<T, Acc>(ops, out, r, reinterpret_cast<const Acc*>(ops.terms.get()));
  }

  /// precision = exact on tensor cores (core/kernels/screen.hpp): the one-term screen finishes
  /// the rows it proves and lists the others as near; the pairs pass finishes the near rows
  /// whose nearest centroid it proves one of two, and lists the rest as open; the open rows are
  /// re-scored with NSPLIT centroid terms (0: FFMA on the fp32 operand copy, term 1 of
  /// TermRule::Tf32ThenFull). The lists' order depends on the scheduling, so the inertia is
  /// summed afterwards over all rows in index order (partials of kReduceChunk rows).
  template <class T, int NSPLIT>
  void screen_and_rescore(const Operands& ops, const kernels::AssignOutput& out, const Rows& r) {
    check(gpu::memset(list_counts_.get(), 0, 2 * sizeof(std::int32_t)), "memset");
    kernels::ScreenArgs screen;
    screen.bound = ops.bound.get();
    screen.sigma = scale_.sigma();
    screen.k = ops.k;
    screen.force_screen = screen_force_;
    screen.force_pairs = pairs_force_;
    screen.near_rows = near_rows_.get();
    screen.near_count = list_counts_.get();
    screen.open_rows = open_rows_.get();
    screen.open_count = list_counts_.get() + 1;
    kernels::AssignOutput o = out;
    o.partials = nullptr;
    launch_mma<T, 1, MmaRole::Screen>(ops, o, screen, r);
    timer_.mark("assign screen");
    launch_mma<T, 1, MmaRole::Pairs>(ops, o, screen, r);
    timer_.mark("assign pairs");
    if constexpr (NSPLIT > 0) {
      launch_mma<T, NSPLIT, MmaRole::Rescore>(ops, o, screen, r);
    } else {
      const auto* full = reinterpret_cast<const float*>(ops.terms.get()) + ops.kpad * ops.dpad;
      launch_simt<T, float>(ops, o, r, full, &screen);
    }
    timer_.mark("assign rescore");
    if (timer_.on()) {
      std::int32_t listed[2] = {0, 0};
      check(gpu::memcpy(listed, list_counts_.get(), sizeof listed, gpu::kDeviceToHost), "copy list lengths");
      timer_.tally("screened rows", r.n);
      timer_.tally("near rows", listed[0]);
      timer_.tally("rescored rows", listed[1]);
    }
    if (out.mode == kernels::AssignMode::LabelsOnly) return;
    chunk_sums<<<int((r.n + kReduceChunk - 1) / kReduceChunk), 256>>>(SampleMass{out.weights, out.dist, false}, r.n,
                                                                      kReduceChunk, out.partials);
    check_launch("chunk_sums");
  }

  /// Queues FlashAssign over the rows r: labels, dist, and (unless LabelsOnly) one partial sum
  /// of w_i dist_i per partial_rows(ops) rows at out.partials. No host synchronisation.
  void launch_assign(const Operands& ops, const kernels::AssignOutput& out, const Rows& r) {
    if (ops.wide || path_ == AssignPath::SimtF64) {
      with_device_type(dtype_, [&](auto tag) {
        launch_simt<decltype(tag), double>(ops, out, r);
        return 0;
      });
      return;
    }
    switch (path_) {
      case AssignPath::SimtF64: break;
      case AssignPath::SimtF32:
        with_device_type(dtype_, [&](auto tag) {
          using T = decltype(tag);
          if constexpr (!std::is_same_v<T, double>) launch_simt<T, float>(ops, out, r);
          return 0;
        });
        break;
      case AssignPath::FastHalf: launch_mma<gpu::half, 1, MmaRole::Plain>(ops, out, {}, r); break;
      case AssignPath::FastBf16: launch_mma<gpu::bfloat16, 1, MmaRole::Plain>(ops, out, {}, r); break;
      case AssignPath::FastTf32: launch_mma<float, 1, MmaRole::Plain>(ops, out, {}, r); break;
      case AssignPath::ScreenHalf: screen_and_rescore<gpu::half, 2>(ops, out, r); break;
      case AssignPath::ScreenBf16: screen_and_rescore<gpu::bfloat16, 3>(ops, out, r); break;
      case AssignPath::ScreenTf32: screen_and_rescore<float, 0>(ops, out, r); break;
    }
  }

  /// Resident FlashAssign over all points; returns the fixed-order sum of the rows' contributions.
  double run_assign(const Operands& ops, const kernels::AssignOutput& out) {
    if (n_ == 0) return 0;  // a shard without rows
    timer_.begin();
    launch_assign(ops, out, all_rows());
    timer_.mark("assign kernel");
    if (out.mode == kernels::AssignMode::LabelsOnly) return 0;
    const std::int64_t per = partial_rows(ops);
    const double total = sum_to_host(out.partials, (n_ + per - 1) / per);
    timer_.mark("assign readback");
    return total;
  }

  template <class T>
  void gather_rows_kernel(const Rows& r, const std::int64_t* idx, std::int64_t m, double* rows) const {
    fkm::cuda::gather_rows<T><<<int(m), 128>>>(static_cast<const T*>(r.x), d_, ld_, idx, m,
                                              metric_ == Metric::Cosine ? r.row_scale : nullptr, rows);
    check_launch("gather_rows");
  }

  // ---- the sort-inverse update (core/kernels/update.hpp) -------------------------------------
  /// Radix-sort bits for labels below `bound`.
  static int label_bits(std::int64_t bound) {
    int end_bit = 1;
    while (end_bit < 31 && (std::int64_t(1) << end_bit) < bound) ++end_bit;
    return end_bit;
  }

  /// Starts per-cluster sums for clusters j < k (features when dd = d, only weights when dd =
  /// 0; labels below 2^end_bit) over chunks of at most max_rows() rows: sizes every buffer first (no allocation while
  /// a pass is in flight) and zeroes the running state.
  void accumulate_begin(std::int64_t k, std::int64_t dd, int end_bit) {
    const std::int64_t rows = max_rows(), w = dd + 1;
    counts_.allocate(k + 1, "cluster counts", &budget_);
    begin_.allocate(k + 1, "cluster starts", &budget_);
    piece_counts_.allocate(k + 1, "cluster piece counts", &budget_);
    piece_begin_.allocate(k + 1, "cluster piece starts", &budget_);
    for (auto& r : rank_) r.allocate(k, "cluster ranks", &budget_);
    done_.allocate(k * w, "cluster sums", &budget_);
    carry_.allocate(k * w, "open group sums", &budget_);
    sums_.allocate(k * w, "cluster sums", &budget_);
    pieces_.allocate(kernels::max_pieces(rows, k) * w, "group pieces", &budget_);
    sorted_labels_.allocate(rows, "sorted labels", &budget_);
    order_.allocate(rows, "sort order", &budget_);
    if (iota_.size() < rows) {
      iota_.allocate(rows, "point indices", &budget_);
      iota32<<<grid_for(rows, 256), 256>>>(iota_.get(), rows);
      check_launch("iota32");
    }
    std::size_t scan_bytes = 0, piece_scan_bytes = 0, sort_bytes = 0;
    check(gpu::exclusive_sum(nullptr, scan_bytes, counts_.get(), begin_.get(), k + 1), "device scan size");
    check(gpu::exclusive_sum(nullptr, piece_scan_bytes, piece_counts_.get(), piece_begin_.get(), k + 1), "device scan size");
    check(gpu::sort_pairs(nullptr, sort_bytes, labels_for_sizing(), sorted_labels_.get(), iota_.get(), order_.get(), rows, 0,
                          end_bit),
          "device sort size");
    temp_.allocate(std::int64_t(std::max({scan_bytes, piece_scan_bytes, sort_bytes})), "device temp", &budget_);
    check(gpu::memset(done_.get(), 0, std::size_t(k * w) * sizeof(double)), "memset");
    check(gpu::memset(carry_.get(), 0, std::size_t(k * w) * sizeof(double)), "memset");
    check(gpu::memset(rank_[0].get(), 0, std::size_t(k) * sizeof(std::int64_t)), "memset");
    rank_cur_ = 0;
  }

  /// The label array CUB's size query may name (it does not read it).
  const std::int32_t* labels_for_sizing() const { return sorted_labels_.get(); }

  /// Adds the rows r (labels: theirs, on the device) to the running per-cluster sums, in the
  /// per-cluster order of core/kernels/update.hpp. Labels >= k are ignored; all are below 2^end_bit.
  /// Sorts n rows' labels stably (each cluster's run in chunk-local index order): begin_ (the
  /// k + 1 run starts), sorted_labels_ and order_. Buffers sized by accumulate_begin.
  void sort_rows_by_label(const std::int32_t* labels, std::int64_t n, std::int64_t k, int end_bit) {
    check(gpu::memset(counts_.get(), 0, (k + 1) * sizeof(unsigned long long)), "memset");
    label_counts<<<int(std::clamp<std::int64_t>((n + 1023) / 1024, 1, 1024)), 1024>>>(labels, n, k, counts_.get());
    check_launch("label_counts");
    std::size_t bytes = std::size_t(temp_.size());
    check(gpu::exclusive_sum(temp_.get(), bytes, counts_.get(), begin_.get(), k + 1), "device scan");
    bytes = std::size_t(temp_.size());
    check(gpu::sort_pairs(temp_.get(), bytes, labels, sorted_labels_.get(), iota_.get(), order_.get(), n, 0, end_bit),
          "device sort");
  }

  void accumulate_rows(const Rows& r, const std::int32_t* labels, std::int64_t k, std::int64_t dd, int end_bit) {
    timer_.begin();
    sort_rows_by_label(labels, r.n, k, end_bit);
    timer_.mark("histogram + sort");
    std::size_t bytes = 0;
    const auto* begin = reinterpret_cast<const std::int64_t*>(begin_.get());
    kernels::count_pieces<<<grid_for(k + 1, 256), 256>>>(begin, rank_[rank_cur_].get(), k, piece_counts_.get());
    check_launch("count_pieces");
    bytes = std::size_t(temp_.size());
    check(gpu::exclusive_sum(temp_.get(), bytes, piece_counts_.get(), piece_begin_.get(), k + 1), "device scan");
    timer_.mark("count pieces");
    const std::int64_t max_p = kernels::max_pieces(r.n, k);
    kernels::GroupArgs a{sorted_labels_.get(), order_.get(), begin, piece_begin_.get(), rank_[rank_cur_].get(), r.n, k, dd,
                         max_p, r.weights, metric_ == Metric::Cosine ? r.row_scale : nullptr, done_.get(), carry_.get(),
                         pieces_.get()};
    constexpr int kWarpsPerBlock = 8;
    with_device_type(dtype_, [&](auto tag) {
      using T = decltype(tag);
      kernels::launch_group_sums<T>(a, static_cast<const T*>(r.x), ld_, kWarpsPerBlock);
      return 0;
    });
    check_launch("group_sums");
    timer_.mark("group sums");
    kernels::launch_fold_groups(a, rank_[1 - rank_cur_].get());
    check_launch("fold_groups");
    rank_cur_ = 1 - rank_cur_;
    timer_.mark("fold groups");
  }

  /// sums_ = the per-cluster totals once every row has been added.
  void accumulate_finish(std::int64_t k, std::int64_t dd) {
    kernels::finish_groups<<<grid_for(k * (dd + 1), 256), 256>>>(done_.get(), carry_.get(), rank_[rank_cur_].get(), k, dd,
                                                                 sums_.get());
    check_launch("finish_groups");
  }

  static constexpr int kBuffers = 3;  ///< staging buffers of a streamed fit (triple buffering)

  int device_;
  std::string device_name_;
  std::int64_t n_, d_, k_ = 0, ld_ = 0;
  DType dtype_;
  Metric metric_;
  Precision precision_;
  std::int64_t row_offset_;
  MemoryBudget budget_;
  AssignPath path_ = AssignPath::SimtF32;
  ValueCheck check_;
  double data_largest_ = 0;    ///< max |x_if| (scan_values)
  double centroid_bound_ = 0;  ///< an upper bound on max |c_jf| of the current centroids
  ScoreScale scale_;           ///< score unit and operand exponents (operands.cuh)
  bool screen_force_ = false;  ///< FKM_CUDA_SCREEN=pairs or rescore: proof 1 proves nothing
  bool pairs_force_ = false;   ///< FKM_CUDA_SCREEN=rescore: proof 2 proves nothing
  DeviceBuffer<std::int32_t> near_rows_, open_rows_, list_counts_;  ///< Screen paths: the lists and their lengths

  // ---- where the data is: resident (x_, labels_, dist_, ...) or streamed (host_*, stream_)
  DataPlacement placement_;
  bool streamed_ = false;
  const unsigned char* host_x_ = nullptr;  ///< streamed: the caller's rows
  std::int64_t host_pitch_ = 0;            ///< streamed: bytes between them
  PinnedArray<double> host_weights_, host_dist_;
  PinnedArray<std::int32_t> host_labels_;
  HostRegistration registration_;  ///< before stream_: unlocked after the last copy is done
  bool direct_ = false;            ///< streamed: chunks copy from the page-locked rows in place
  std::unique_ptr<ChunkStream> stream_;
  bool fused_sums_ = false;  ///< streamed: sums_ hold the last assign's labels (made in its pass)

  const void* x_ = nullptr;
  DeviceBuffer<unsigned char> x_owned_;
  DeviceBuffer<double> weights_, row_norm2_, row_scale_, dist_;  ///< streamed: row_* are one chunk's
  DeviceBuffer<std::int32_t> labels_, sorted_labels_, order_, iota_;
  DeviceBuffer<double> centroids_, previous_, sums_, done_, carry_, pieces_, shift_parts_, assign_partials_;
  DeviceBuffer<double> given_;                           ///< update_from: the given totals, k x (d + 1)
  DeviceBuffer<detail::FixedScale> fixed_grid_;          ///< accumulate_fixed: the d + 1 grids
  DeviceBuffer<FixedSum> fixed_totals_;                  ///< accumulate_fixed: k x (d + 1) integers
  DeviceBuffer<std::int64_t> fixed_words_;               ///< accumulate_fixed_words: the totals as summable words
  DeviceBuffer<int> fixed_exponents_;                    ///< update_from_fixed_words: the d + 1 grids' exponents
  bool fixed_words_ready_ = false;                       ///< fixed_words_ holds the current k x (d + 1) totals
  mutable DeviceBuffer<unsigned long long> long_words_;  ///< exact_weighted_distance_sum's accumulator
  mutable DeviceBuffer<double> scalars_;  ///< [0] a sum, [1] shift, [2] empty count (int64 bits), [3] largest |c| (update_from)
  double* host_scalars_ = nullptr;        ///< pinned mirror of scalars_
  DeviceBuffer<unsigned long long> counts_;
  DeviceBuffer<long long> begin_;
  DeviceBuffer<std::int64_t> piece_counts_, piece_begin_, rank_[2];
  int rank_cur_ = 0;  ///< rank_[rank_cur_]: rows of each cluster seen so far
  DeviceBuffer<std::int32_t> empty_;
  DeviceBuffer<std::int64_t> empty_list_;
  DeviceBuffer<unsigned char> temp_;
  Operands ops_, tmp_ops_;
  PhaseTimer timer_;
  double shift_ = 0;
  bool shift_valid_ = true;
};

}  // namespace

std::unique_ptr<Problem> make_cuda_problem(const ProblemSpec& spec, int device) {
  return std::make_unique<CudaProblem>(spec, device);
}

}  // namespace fkm::cuda

// Batched problems (Backend::fit_batch): in this translation unit, beside the kernels it shares.
#include "cuda_batched.cuh"
