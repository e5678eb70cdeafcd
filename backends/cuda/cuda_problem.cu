// The CUDA Problem. The data, weights, labels, distances and centroids live on the GPU for the
// whole fit; every Lloyd step is a few kernel launches, and the host reads back only scalars
// (inertia; shift and the number of empty clusters), plus the empty clusters' indices when
// there are any.
//
//   assign()      FlashAssign (assign_mma.cuh on tensor cores, or the SIMT kernel of
//                 core/kernels/assign.hpp) -> labels, dist, per-block inertia -> fixed-order sum;
//                 precision = exact: a one-term screen proves most labels (core/kernels/screen.hpp)
//                 and the listed rest is re-scored with fp32-accurate arithmetic
//   accumulate()  label histogram -> exclusive scan -> stable radix sort of (label, index) ->
//                 segment sums (core/kernels/update.hpp), no floating-point atomics
//   update()      divide, normalise (cosine), empties, shift; re-prepare centroid operands

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "../../core/kernels/update.hpp"
#include "../../core/src/convert.hpp"
#include "../cuda_hip/gpu_primitives.hpp"
#include "../cuda_hip/gpu_runtime.hpp"
#include "../cuda_hip/gpu_types.hpp"
#include "assign_mma.cuh"
#include "cuda_problem.hpp"
#include "device_buffer.hpp"
#include "operands.cuh"
#include "point_kernels.cuh"

namespace fkm::cuda {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr std::int64_t kSegmentChunk = 256;  // sorted positions per update block (fixed: determinism)
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

int grid_for(std::int64_t work, int threads) {
  return int(std::min<std::int64_t>((work + threads - 1) / threads, 65535LL * 16));
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
    bind_data(s.x);
    bind_weights(s.weights);
    labels_.allocate(n_, "labels", &budget_);
    dist_.allocate(n_, "distances", &budget_);
    fill<<<grid_for(n_, 256), 256>>>(dist_.get(), n_, kInf);
    check_launch("fill");
    if (metric_ == Metric::Cosine) {
      row_norm2_.allocate(n_, "row norms", &budget_);
      row_scale_.allocate(n_, "row scales", &budget_);
      with_device_type(dtype_, [&](auto tag) {
        using T = decltype(tag);
        row_stats<T><<<grid_for(n_ * kernels::kWarpSize, 256), 256>>>(xp<T>(), n_, d_, ld_, row_norm2_.get(),
                                                                        row_scale_.get());
        return 0;
      });
      check_launch("row_stats");
    }
    scan_values();
    scale_ = score_scale_for(data_largest_, dtype_, metric_);
    if (is_screen(path_)) {
      // FKM_CUDA_SCREEN=pairs: the screen proves nothing (every row meets the pairs pass);
      // =rescore: neither proof holds (every row is re-scored). For tests of those passes.
      const char* force = std::getenv("FKM_CUDA_SCREEN");
      const std::string mode = force ? force : "";
      screen_force_ = mode == "pairs" || mode == "rescore";
      pairs_force_ = mode == "rescore";
      near_rows_.allocate(n_, "near rows", &budget_);
      open_rows_.allocate(n_, "open rows", &budget_);
      list_counts_.allocate(2, "list lengths", &budget_);
    }
    assign_partials_.allocate((n_ + kernels::kSimtBM - 1) / kernels::kSimtBM, "assign partial sums", &budget_);
    scalars_.allocate(4, "scalars", &budget_);
    check(gpu::malloc_host(reinterpret_cast<void**>(&host_scalars_), 4 * sizeof(double)), "pinned host allocation");
  }

  ~CudaProblem() override {
    if (host_scalars_) (void)gpu::free_host(host_scalars_);
  }

  std::int64_t n() const override { return n_; }
  std::int64_t d() const override { return d_; }
  std::string device_name() const override { return device_name_; }
  ValueCheck check_values() const override { return check_; }

  double total_weight() const override {
    DeviceScope scope(device_);
    const std::int64_t nb = (n_ + kReduceChunk - 1) / kReduceChunk;
    DeviceBuffer<double> partials(nb, "partial sums");
    chunk_sums<<<int(nb), 256>>>(WeightValue{weights()}, n_, kReduceChunk, partials.get());
    check_launch("chunk_sums");
    return sum_to_host(partials.get(), nb);
  }

  double mean_variance() const override {
    DeviceScope scope(device_);
    constexpr std::int64_t rows = 1024;
    const std::int64_t nb = (n_ + rows - 1) / rows;
    DeviceBuffer<double> partials(nb * d_, "column partial sums"), column(d_, "column sums");
    const double* scale = metric_ == Metric::Cosine ? row_scale_.get() : nullptr;
    const int threads = int(std::min<std::int64_t>(256, (d_ + kernels::kWarpSize - 1) / kernels::kWarpSize * kernels::kWarpSize));
    auto pass = [&](const double* mean) {
      with_device_type(dtype_, [&](auto tag) {
        using T = decltype(tag);
        column_sums<T><<<int(nb), threads>>>(xp<T>(), n_, d_, ld_, scale, mean, rows, partials.get());
        return 0;
      });
      check_launch("column_sums");
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
    DeviceScope scope(device_);
    kernels::AssignOutput out = output(kernels::AssignMode::Assign);
    out.centroids = centroids_.get();
    out.labels = labels_.get();
    out.dist = dist_.get();
    return run_assign(ops_, out);
  }

  void accumulate() override { segment_reduce(labels_.get(), k_, true, k_); }

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
    DeviceScope scope(device_);
    check(gpu::memcpy(out, labels_.get(), n_ * sizeof(std::int32_t), gpu::kDeviceToHost), "copy labels");
  }
  void get_distances(double* out) const override {
    DeviceScope scope(device_);
    check(gpu::memcpy(out, dist_.get(), n_ * sizeof(double), gpu::kDeviceToHost), "copy distances");
  }

  double update_nearest(const double* c, std::int64_t m, bool reset, std::int64_t first_label) override {
    DeviceScope scope(device_);
    if (reset) {
      fill<<<grid_for(n_, 256), 256>>>(dist_.get(), n_, kInf);
      check_launch("fill");
    }
    if (m == 0) return kInf;
    if (first_label + m > INT32_MAX) throw Error(ErrorCode::InvalidArgument, std::string(gpu::kPlatform) + ": update_nearest labels overflow int32");
    DeviceBuffer<double> centres(m * d_, "centres");
    const double largest = upload_centres(c, m, centres.get());
    prepare(tmp_ops_, centres.get(), m, largest);
    kernels::AssignOutput out = output(kernels::AssignMode::UpdateNearest);
    out.centroids = centres.get();
    out.dist = dist_.get();
    out.labels = labels_.get();
    out.label_offset = std::int32_t(first_label);
    return run_assign(tmp_ops_, out);
  }

  void potentials(const double* c, std::int64_t m, double* out) const override {
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
      if (smem > 48 * 1024)
        check(gpu::allow_dynamic_shared(candidate_potentials<T>, int(smem)),
              "allow_dynamic_shared");
      candidate_potentials<T><<<int(nb), threads, smem>>>(xp<T>(), n_, d_, ld_, metric_code(), row_scale_.get(),
                                                          weights(), dist_.get(), centres.get(), m, rows, partials.get());
      return 0;
    });
    check_launch("candidate_potentials");
    sum_rows<<<int((m + 255) / 256), 256>>>(partials.get(), nb, m, sums.get());
    check_launch("sum_rows");
    check(gpu::memcpy(out, sums.get(), m * sizeof(double), gpu::kDeviceToHost), "copy potentials");
  }

  void sample(const double* targets, std::int64_t m, bool by_weight, std::int64_t* out) const override {
    DeviceScope scope(device_);
    const SampleMass mass{weights(), dist_.get(), by_weight};
    const std::int64_t nb = (n_ + kSampleChunk - 1) / kSampleChunk;
    DeviceBuffer<double> partials(nb, "sample partials");
    chunk_sums<<<int(nb), 256>>>(mass, n_, kSampleChunk, partials.get());
    check_launch("chunk_sums");
    std::vector<double> block_end(nb);
    check(gpu::memcpy(block_end.data(), partials.get(), nb * sizeof(double), gpu::kDeviceToHost), "copy partials");
    for (std::int64_t b = 1; b < nb; ++b) block_end[b] += block_end[b - 1];

    DeviceBuffer<long long> last(1, "last positive");
    const long long minus_one = -1;
    check(gpu::memcpy(last.get(), &minus_one, sizeof minus_one, gpu::kHostToDevice), "init last positive");
    last_positive<<<grid_for(n_, 256), 256>>>(mass, n_, last.get());
    check_launch("last_positive");
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
    DeviceBuffer<std::int64_t> chunk_d(q, "chunks"), found_d(q, "found");
    DeviceBuffer<double> base_d(q, "bases"), target_d(q, "targets");
    check(gpu::memcpy(chunk_d.get(), chunk_of.data(), q * sizeof(std::int64_t), gpu::kHostToDevice), "copy chunks");
    check(gpu::memcpy(base_d.get(), base.data(), q * sizeof(double), gpu::kHostToDevice), "copy bases");
    check(gpu::memcpy(target_d.get(), target.data(), q * sizeof(double), gpu::kHostToDevice), "copy targets");
    sample_in_chunk<<<grid_for(q * kernels::kWarpSize, 256), 256>>>(mass, n_, kSampleChunk, chunk_d.get(), base_d.get(),
                                                                     target_d.get(), q, found_d.get());
    check_launch("sample_in_chunk");
    std::vector<std::int64_t> found(q);
    check(gpu::memcpy(found.data(), found_d.get(), q * sizeof(std::int64_t), gpu::kDeviceToHost), "copy samples");
    for (std::int64_t r = 0; r < q; ++r) out[slot[r]] = found[r] < 0 ? last_pos : std::min<std::int64_t>(found[r], last_pos);
  }

  std::vector<std::int64_t> sample_independent(double scale, double potential, std::uint64_t seed) const override {
    DeviceScope scope(device_);
    DeviceBuffer<std::int32_t> flags(n_, "sample flags");
    DeviceBuffer<std::int64_t> picked(n_, "picked"), count(1, "count");
    oversample_flags<<<grid_for(n_, 256), 256>>>(weights(), dist_.get(), n_, row_offset_, scale, potential, seed, flags.get());
    check_launch("oversample_flags");
    std::size_t bytes = 0;
    check(gpu::select_flagged_indices(nullptr, bytes, flags.get(), picked.get(), count.get(), n_), "device select size");
    DeviceBuffer<unsigned char> temp(std::int64_t(bytes), "select temp");
    check(gpu::select_flagged_indices(temp.get(), bytes, flags.get(), picked.get(), count.get(), n_), "device select");
    std::int64_t c = 0;
    check(gpu::memcpy(&c, count.get(), sizeof c, gpu::kDeviceToHost), "copy count");
    std::vector<std::int64_t> out(c);
    if (c > 0) check(gpu::memcpy(out.data(), picked.get(), c * sizeof(std::int64_t), gpu::kDeviceToHost), "copy picks");
    return out;
  }

  void gather_rows(const std::int64_t* idx, std::int64_t m, double* out) const override {
    if (m == 0) return;
    DeviceScope scope(device_);
    DeviceBuffer<std::int64_t> idx_d(m, "row indices");
    DeviceBuffer<double> rows(m * d_, "gathered rows");
    check(gpu::memcpy(idx_d.get(), idx, m * sizeof(std::int64_t), gpu::kHostToDevice), "copy indices");
    with_device_type(dtype_, [&](auto tag) {
      using T = decltype(tag);
      gather_rows_kernel<T>(idx_d.get(), m, rows.get());
      return 0;
    });
    check(gpu::memcpy(out, rows.get(), m * d_ * sizeof(double), gpu::kDeviceToHost), "copy rows");
  }

  void label_weights(std::int64_t m, double* out) const override {
    DeviceScope scope(device_);
    auto* self = const_cast<CudaProblem*>(this);  // scratch buffers only; the visible state is unchanged
    self->segment_reduce(labels_.get(), m, false, std::int64_t(1) << 30);
    check(gpu::memcpy(out, sums_.get(), m * sizeof(double), gpu::kDeviceToHost), "copy weights");
  }

  std::vector<std::int64_t> farthest_points(std::int64_t m) const override {
    DeviceScope scope(device_);
    const std::int64_t take = std::min<std::int64_t>(m, check_.positive_weights);
    if (take <= 0) return {};
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
      const bool aligned = (x.row_stride * es) % 16 == 0 && reinterpret_cast<std::uintptr_t>(x.data) % 16 == 0;
      if (aligned) {  // use the caller's memory in place
        x_ = x.data;
        ld_ = x.row_stride;
        return;
      }
    }
    // An owned copy with 16-byte aligned rows (the tensor-core loads copy 16 bytes at a time).
    ld_ = (d_ * es + 15) / 16 * 16 / es;
    x_owned_.allocate(n_ * ld_ * es, "data", &budget_);
    check(gpu::memset(x_owned_.get(), 0, n_ * ld_ * es), "memset");
    check(gpu::memcpy_2d(x_owned_.get(), ld_ * es, x.data, x.row_stride * es, d_ * es, n_,
                       x.space == MemorySpace::Device ? gpu::kDeviceToDevice : gpu::kHostToDevice),
          "copy data to the device");
    x_ = x_owned_.get();
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
    with_device_type(dtype_, [&](auto tag) {
      using T = decltype(tag);
      fkm::cuda::check_values<T><<<grid_for(n_ * d_, 256), 256>>>(xp<T>(), n_, d_, ld_, weights(), flags.get(), flags.get() + 1,
                                                       flags.get() + 2, flags.get() + 3);
      return 0;
    });
    check_launch("check_values");
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
    const std::int64_t kpad = pad(k, kMmaBN), dpad16 = pad(d_, kChunkBytes / 2), dpad32 = pad(d_, kChunkBytes / 4);
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

  template <class T, int NSPLIT, MmaRole ROLE>
  std::int64_t launch_mma(const Operands& ops, const kernels::AssignOutput& out, const kernels::ScreenArgs& screen) {
#if defined(__HIP__)
    throw Error(ErrorCode::Internal, "hip: no tensor-core FlashAssign on this platform");
#else
    MmaAssignArgs<T> a{xp<T>(), n_, d_, ld_, reinterpret_cast<const T*>(ops.terms.get()), ops.k, ops.kpad, ops.dpad,
                       ops.bias_f.get(), ops.mul_f.get()};
    if (ROLE == MmaRole::Pairs) {
      a.rows = screen.near_rows;
      a.row_count = screen.near_count;
    } else if (ROLE == MmaRole::Rescore) {
      a.rows = screen.open_rows;
      a.row_count = screen.open_count;
    }
    // Pairs, Rescore: a list at most n long; blocks past its end return at once
    const int blocks = int((n_ + kMmaBM - 1) / kMmaBM);
    if (std::int64_t(ops.kpad / kMmaBN) * (ops.dpad * std::int64_t(sizeof(T)) / kChunkBytes) > INT32_MAX)
      throw Error(ErrorCode::InvalidArgument, std::string(gpu::kPlatform) + ": k x d too large for one assign launch");
    const std::int64_t resident_bytes = mma_smem_bytes<T, NSPLIT, true>(ops.dpad);
    if (resident_bytes <= 150 * 1024) {
      check(gpu::allow_dynamic_shared(assign_mma<T, NSPLIT, true, ROLE>, int(resident_bytes)), "allow_dynamic_shared");
      assign_mma<T, NSPLIT, true, ROLE><<<blocks, kMmaThreads, resident_bytes>>>(a, out, screen);
    } else {
      const std::int64_t bytes = mma_smem_bytes<T, NSPLIT, false>(ops.dpad);
      check(gpu::allow_dynamic_shared(assign_mma<T, NSPLIT, false, ROLE>, int(bytes)), "allow_dynamic_shared");
      assign_mma<T, NSPLIT, false, ROLE><<<blocks, kMmaThreads, bytes>>>(a, out, screen);
    }
    check_launch("assign_mma");
    return blocks;
#endif
  }

  /// The SIMT kernel over every row (rows == null) or over the re-score list. c: the operand
  /// rows (ldc = ops.dpad) in the arithmetic type.
  template <class T, class Acc>
  std::int64_t launch_simt(const Operands& ops, const kernels::AssignOutput& out, const Acc* c,
                           const kernels::ScreenArgs* listed = nullptr) {
    const Acc* bias = sizeof(Acc) == 8 ? reinterpret_cast<const Acc*>(ops.bias_d.get()) : reinterpret_cast<const Acc*>(ops.bias_f.get());
    const Acc* mul = sizeof(Acc) == 8 ? reinterpret_cast<const Acc*>(ops.mul_d.get()) : reinterpret_cast<const Acc*>(ops.mul_f.get());
    kernels::SimtAssignArgs<T, Acc> a{xp<T>(), n_, d_, ld_, c, ops.k, ops.dpad, bias, mul};
    if (listed) {  // the re-score: the open rows
      a.rows = listed->open_rows;
      a.row_count = listed->open_count;
    }
    const int blocks = int((n_ + kernels::kSimtBM - 1) / kernels::kSimtBM);  // listed: blocks past the end return
    kernels::assign_simt<T, Acc><<<blocks, kernels::kSimtThreads>>>(a, out);
    check_launch("assign_simt");
    return blocks;
  }
  template <class T, class Acc>
  std::int64_t launch_simt(const Operands& ops, const kernels::AssignOutput& out) {
    return launch_simt<T, Acc>(ops, out, reinterpret_cast<const Acc*>(ops.terms.get()));
  }

  /// precision = exact on tensor cores (core/kernels/screen.hpp): the one-term screen finishes
  /// the rows it proves and lists the others as near; the pairs pass finishes the near rows
  /// whose nearest centroid it proves one of two, and lists the rest as open; the open rows are
  /// re-scored with NSPLIT centroid terms (0: FFMA on the fp32 operand copy, term 1 of
  /// TermRule::Tf32ThenFull). The lists' order depends on the scheduling, so the inertia is
  /// summed afterwards over all rows in index order.
  template <class T, int NSPLIT>
  double screen_and_rescore(const Operands& ops, const kernels::AssignOutput& out) {
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
    launch_mma<T, 1, MmaRole::Screen>(ops, o, screen);
    timer_.mark("assign screen");
    launch_mma<T, 1, MmaRole::Pairs>(ops, o, screen);
    timer_.mark("assign pairs");
    if constexpr (NSPLIT > 0) {
      launch_mma<T, NSPLIT, MmaRole::Rescore>(ops, o, screen);
    } else {
      const auto* full = reinterpret_cast<const float*>(ops.terms.get()) + ops.kpad * ops.dpad;
      launch_simt<T, float>(ops, o, full, &screen);
    }
    timer_.mark("assign rescore");
    if (timer_.on()) {
      std::int32_t listed[2] = {0, 0};
      check(gpu::memcpy(listed, list_counts_.get(), sizeof listed, gpu::kDeviceToHost), "copy list lengths");
      timer_.tally("screened rows", n_);
      timer_.tally("near rows", listed[0]);
      timer_.tally("rescored rows", listed[1]);
    }
    if (out.mode == kernels::AssignMode::LabelsOnly) return 0;
    const std::int64_t nb = (n_ + kReduceChunk - 1) / kReduceChunk;
    chunk_sums<<<int(nb), 256>>>(SampleMass{out.weights, out.dist, false}, n_, kReduceChunk, out.partials);
    check_launch("chunk_sums");
    const double total = sum_to_host(out.partials, nb);
    timer_.mark("assign readback");
    return total;
  }

  /// Runs FlashAssign over all points; returns the fixed-order sum of the rows' contributions.
  double run_assign(const Operands& ops, const kernels::AssignOutput& out) {
    std::int64_t blocks = 0;
    timer_.begin();
    if (ops.wide || path_ == AssignPath::SimtF64) {
      blocks = with_device_type(dtype_, [&](auto tag) { return launch_simt<decltype(tag), double>(ops, out); });
    } else {
      switch (path_) {
        case AssignPath::SimtF64: break;
        case AssignPath::SimtF32:
          blocks = with_device_type(dtype_, [&](auto tag) -> std::int64_t {
            using T = decltype(tag);
            if constexpr (std::is_same_v<T, double>) return 0;
            else return launch_simt<T, float>(ops, out);
          });
          break;
        case AssignPath::FastHalf: blocks = launch_mma<gpu::half, 1, MmaRole::Plain>(ops, out, {}); break;
        case AssignPath::FastBf16: blocks = launch_mma<gpu::bfloat16, 1, MmaRole::Plain>(ops, out, {}); break;
        case AssignPath::FastTf32: blocks = launch_mma<float, 1, MmaRole::Plain>(ops, out, {}); break;
        case AssignPath::ScreenHalf: return screen_and_rescore<gpu::half, 2>(ops, out);
        case AssignPath::ScreenBf16: return screen_and_rescore<gpu::bfloat16, 3>(ops, out);
        case AssignPath::ScreenTf32: return screen_and_rescore<float, 0>(ops, out);
      }
    }
    timer_.mark("assign kernel");
    if (out.mode == kernels::AssignMode::LabelsOnly) return 0;
    const double total = sum_to_host(out.partials, blocks);
    timer_.mark("assign readback");
    return total;
  }

  template <class T>
  void gather_rows_kernel(const std::int64_t* idx, std::int64_t m, double* rows) const {
    fkm::cuda::gather_rows<T><<<int(m), 128>>>(xp<T>(), d_, ld_, idx, m,
                                              metric_ == Metric::Cosine ? row_scale_.get() : nullptr, rows);
    check_launch("gather_rows");
  }

  // ---- the sort-inverse update ----------------------------------------------------------------
  /// sums_[j * (d + 1) + ...] for clusters j < k of `labels`: per-feature weighted sums (when
  /// `features`) and the total weight in the last column. Labels >= k are ignored; every label
  /// is below max_label_bound (it sets the radix sort's bit count).
  void segment_reduce(const std::int32_t* labels, std::int64_t k, bool features, std::int64_t max_label_bound) {
    DeviceScope scope(device_);
    const std::int64_t dd = features ? d_ : 0;
    const std::int64_t nb = (n_ + kSegmentChunk - 1) / kSegmentChunk;
    counts_.allocate(k + 1, "cluster counts", &budget_);
    begin_.allocate(k + 1, "cluster starts", &budget_);
    sums_.allocate(k * (dd + 1), "cluster sums", &budget_);
    seg_partials_.allocate(nb * 2 * (dd + 1), "segment partials", &budget_);
    sorted_labels_.allocate(n_, "sorted labels", &budget_);
    order_.allocate(n_, "sort order", &budget_);
    if (iota_.size() < n_) {
      iota_.allocate(n_, "point indices", &budget_);
      iota32<<<grid_for(n_, 256), 256>>>(iota_.get(), n_);
      check_launch("iota32");
    }
    timer_.begin();
    check(gpu::memset(counts_.get(), 0, (k + 1) * sizeof(unsigned long long)), "memset");
    label_counts<<<int(std::min<std::int64_t>(1024, (n_ + 1023) / 1024)), 1024>>>(labels, n_, k, counts_.get());
    check_launch("label_counts");
    int end_bit = 1;
    while (end_bit < 31 && (std::int64_t(1) << end_bit) < max_label_bound) ++end_bit;
    std::size_t scan_bytes = 0, sort_bytes = 0;
    check(gpu::exclusive_sum(nullptr, scan_bytes, counts_.get(), begin_.get(), k + 1), "device scan size");
    check(gpu::sort_pairs(nullptr, sort_bytes, labels, sorted_labels_.get(), iota_.get(), order_.get(),
                                          n_, 0, end_bit),
          "device sort size");
    temp_.allocate(std::int64_t(std::max(scan_bytes, sort_bytes)), "device temp", &budget_);
    scan_bytes = sort_bytes = std::size_t(temp_.size());
    timer_.mark("histogram");
    check(gpu::exclusive_sum(temp_.get(), scan_bytes, counts_.get(), begin_.get(), k + 1), "device scan");
    timer_.mark("scan");
    check(gpu::sort_pairs(temp_.get(), sort_bytes, labels, sorted_labels_.get(), iota_.get(), order_.get(),
                                          n_, 0, end_bit),
          "device sort");
    timer_.mark("sort");
    kernels::SegmentArgs a{sorted_labels_.get(), order_.get(), reinterpret_cast<const std::int64_t*>(begin_.get()),
                           n_, k, dd, kSegmentChunk, weights(),
                           metric_ == Metric::Cosine ? row_scale_.get() : nullptr, sums_.get(), seg_partials_.get()};
    const int threads = int(std::min<std::int64_t>(256, (dd + kernels::kWarpSize) / kernels::kWarpSize * kernels::kWarpSize));
    with_device_type(dtype_, [&](auto tag) {
      using T = decltype(tag);
      kernels::segment_sums<T><<<int(nb), kernels::kWarpSize>>>(a, xp<T>(), ld_);
      return 0;
    });
    check_launch("segment_sums");
    kernels::fix_split_segments<<<int(k), threads>>>(a);
    check_launch("fix_split_segments");
    timer_.mark("segment sums");
  }

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

  const void* x_ = nullptr;
  DeviceBuffer<unsigned char> x_owned_;
  DeviceBuffer<double> weights_, row_norm2_, row_scale_, dist_;
  DeviceBuffer<std::int32_t> labels_, scratch_labels_, sorted_labels_, order_, iota_;
  DeviceBuffer<double> centroids_, previous_, sums_, seg_partials_, shift_parts_, assign_partials_;
  mutable DeviceBuffer<double> scalars_;  ///< [0] a sum, [1] shift, [2] empty count (int64 bits)
  double* host_scalars_ = nullptr;        ///< pinned mirror of scalars_
  DeviceBuffer<unsigned long long> counts_;
  DeviceBuffer<long long> begin_;
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
