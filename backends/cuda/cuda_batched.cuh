// Batched problems on the CUDA backend (Backend::fit_batch, fkm/batched.hpp): B independent
// k-means problems of one shape, (B, N, D), fitted together with one launch per phase.
//
// A *slot* is one run of one problem (n_init runs per problem: slot s = problem s / runs, run
// s % runs). Each slot has its own labels, distances, centroids and operands in arrays of
// slots x (N, K, ...), and every Lloyd phase is one launch over all slots (kernels:
// cuda_batched_kernels.cuh):
//   assign      one FlashAssign launch (grid: row tiles x slots; each tile scores its own
//               slot's K centroids), or the screen's three passes, one launch each; one launch
//               sums each slot's inertia
//   accumulate  slot s's labels become clusters s*K + j: one histogram, scan, radix sort and
//               segment sum over the running slots' points and slots*K clusters, blocks counted
//               from each slot's first row
//   update      one launch each: finalize, shift sums, empty lists, operand preparation
//   read back   one small copy per iteration: each slot's inertia, shift and empty count
// The host then decides, per slot, what the single-problem loop (core/src/lloyd.cpp) decides:
// reseed empties (per slot, only when there are any), stop on tol or max_iter. A slot that
// stops takes part in one more assign (the loop's final assign) and is then frozen: masked
// out of every later launch. Initialisation runs per problem through the ordinary CUDA
// Problem (a device view of the uploaded batch), as the single fit does it; so every slot
// computes exactly what its problem's fit alone computes, and its result is bitwise the same.
//
// Progress callbacks and errors: the loop would call a problem's callbacks during its fit,
// problem after problem, and stop at the first error. Here the iterations of all problems
// interleave, so the records are kept and the callbacks are called after the batch ran, in
// the loop's order (problem by problem, run by run, iteration by iteration); a callback that
// returns false, or a problem whose fit failed (non-finite inertia, a failed initialisation),
// throws at the same point of that sequence as the loop would, with "problem b: ".
//
// Runs as the default loop instead (Backend::fit_batch, core/src/batched.cpp):
//   FKM_CUDA_BATCHED=loop (side-by-side timing); slots > 65535 or slots x N, slots x K past
//   int32 (grid and sort limits); the batch's device memory over max_device_bytes or over
//   what the GPU has free (the loop needs one problem's); problems whose centroids need
//   different assign kernels (some out of the fp32 score scale's range: operands.cuh). The
//   loop gives the same results, slower.
//
// Included at the end of cuda_problem.cu: one translation unit, so the kernels that the
// shared headers define are compiled once. CUDA only (the HIP backend runs the default loop).
#pragma once
#if !defined(__HIP__)

#include <chrono>
#include <optional>
#include <utility>

#include "../../core/src/init.hpp"
#include "../../core/src/problem_spec.hpp"
#include "../../core/src/rng.hpp"
#include "../../core/src/stopwatch.hpp"
#include "../../core/src/validate.hpp"
#include "cuda_batched.hpp"
#include "cuda_batched_kernels.cuh"

namespace fkm::cuda {
namespace {

/// The batch must run as the default loop (see the list above); never leaves fit_batch_on_gpu.
struct RunAsLoop {};

/// Where a slot stands in the batched Lloyd loop.
enum class SlotState {
  Running,    ///< takes part in the next assign and update
  Finishing,  ///< stopped (tol or max_iter): takes part in the next assign (the final one) only
  Done,       ///< frozen, result complete
  Failed,     ///< frozen, `error` is what its fit alone would throw
};

/// One run of one problem.
struct Slot {
  SlotState state = SlotState::Running;
  std::vector<double> initial;  ///< the initial centroids as the backend holds them
  double seconds_init = 0;
  double centroid_bound = 0;  ///< upper bound on max |c_jf| (CudaProblem::centroid_bound_)
  std::vector<IterationRecord> history;
  StopReason stop_reason = StopReason::MaxIter;
  double inertia = 0;  ///< of the final assign
  std::optional<Error> error;
};

/// What the device run leaves for the host: every slot's record, and the best run of every
/// problem with its centroids and labels.
struct BatchOutcome {
  std::vector<Slot> slots;
  std::vector<std::int64_t> best;  ///< per problem: its best slot (-1: a run failed)
  std::vector<std::vector<double>> centroids;
  std::vector<std::vector<std::int32_t>> labels;
  std::vector<double> tol_absolute;
  std::string device_name;
  double seconds_total = 0;
};

/// The assign path of a batch: CudaProblem::choose_path for the same dtype and precision.
AssignPath batch_path(DType dtype, Precision precision) {
  const char* force = std::getenv("FKM_CUDA_FORCE_SIMT");
  const bool simt = force && force[0] == '1';
  const bool fast = precision == Precision::Fast;
  switch (dtype) {
    case DType::F64: return AssignPath::SimtF64;
    case DType::F32: return simt ? AssignPath::SimtF32 : (fast ? AssignPath::FastTf32 : AssignPath::ScreenTf32);
    case DType::F16: return simt ? AssignPath::SimtF32 : (fast ? AssignPath::FastHalf : AssignPath::ScreenHalf);
    case DType::BF16: return simt ? AssignPath::SimtF32 : (fast ? AssignPath::FastBf16 : AssignPath::ScreenBf16);
  }
  return AssignPath::SimtF32;
}

class BatchedFit {
 public:
  BatchedFit(const BatchedMatrixView& x, const KMeansParams& params, const BatchedFitOptions& options, int device)
      : x_view_(x),
        params_(params),
        options_(options),
        device_(device),
        problems_(x.problems),
        n_(x.rows),
        d_(x.cols),
        k_(params.k),
        runs_(params.init == Init::Given ? 1 : params.n_init),
        slots_(problems_ * runs_),
        dtype_(x.dtype),
        es_(std::int64_t(size_of(x.dtype))),
        path_(batch_path(x.dtype, params.precision)),
        budget_(params.max_device_bytes) {}

  ~BatchedFit() {
    if (host_scalars_) (void)gpu::free_host(host_scalars_);
    if (host_masks_) (void)gpu::free_host(host_masks_);
  }

  BatchOutcome run() {
    DeviceScope scope(device_);
    const auto t_start = std::chrono::steady_clock::now();
    bind();
    check_problems();
    initialise();
    choose_operands();
    allocate();
    lloyd();
    BatchOutcome out = collect();
    out.seconds_total = detail::seconds_since(t_start);
    return out;
  }

 private:
  // ---- binding ------------------------------------------------------------------------------
  /// The (B, N, D) data once on the device: in place when its rows are 16-byte aligned and its
  /// problems follow each other, else one owned copy with aligned rows (as CudaProblem). The
  /// (B, N) weights widened to fp64. Cosine: every row's norm.
  void bind() {
    const MatrixView first = x_view_.problem(0);
    const bool aligned = (x_view_.row_stride * es_) % 16 == 0 && reinterpret_cast<std::uintptr_t>(x_view_.data) % 16 == 0;
    if (x_view_.space == MemorySpace::Device) {  // not this device's memory: the loop's bind names the error
      int owner = -1;
      if (gpu::pointer_device(first.data, &owner) != gpu::kSuccess) {
        gpu::clear_last_error();
        throw RunAsLoop{};
      }
      if (owner != device_) throw RunAsLoop{};
    }
    if (x_view_.space == MemorySpace::Device && aligned &&
        (problems_ == 1 || x_view_.batch_stride == n_ * x_view_.row_stride)) {
      x_ = x_view_.data;
      ld_ = x_view_.row_stride;
    } else {
      ld_ = (d_ * es_ + 15) / 16 * 16 / es_;
      x_owned_.allocate(problems_ * n_ * ld_ * es_, "batched data", &budget_);
      check(gpu::memset(x_owned_.get(), 0, problems_ * n_ * ld_ * es_), "memset");
      for (std::int64_t b = 0; b < problems_; ++b) {
        const MatrixView xb = x_view_.problem(b);
        check(gpu::memcpy_2d(static_cast<unsigned char*>(x_owned_.get()) + b * n_ * ld_ * es_, ld_ * es_, xb.data,
                             xb.row_stride * es_, d_ * es_, n_,
                             x_view_.space == MemorySpace::Device ? gpu::kDeviceToDevice : gpu::kHostToDevice),
              "copy data to the device");
      }
      x_ = x_owned_.get();
    }
    x_stride_ = n_ * ld_;
    const BatchedVectorView& w = options_.weights;
    if (w.data) {
      weights_.allocate(problems_ * n_, "batched weights", &budget_);
      if (w.space == MemorySpace::Host) {
        std::vector<double> host(static_cast<std::size_t>(problems_ * n_));
        for (std::int64_t b = 0; b < problems_; ++b) {
          const VectorView wb = w.problem(b);
          for (std::int64_t i = 0; i < n_; ++i) host[std::size_t(b * n_ + i)] = detail::weight_at(wb, i);
        }
        check(gpu::memcpy(weights_.get(), host.data(), problems_ * n_ * sizeof(double), gpu::kHostToDevice),
              "copy weights");
      } else {
        for (std::int64_t b = 0; b < problems_; ++b) {
          const VectorView wb = w.problem(b);
          if (wb.dtype == DType::F64)
            widen_weights<<<grid_for(n_, 256), 256>>>(static_cast<const double*>(wb.data), n_, weights_.get() + b * n_);
          else
            widen_weights<<<grid_for(n_, 256), 256>>>(static_cast<const float*>(wb.data), n_, weights_.get() + b * n_);
          check_launch("widen_weights");
        }
      }
    }
    if (params_.metric == Metric::Cosine) {
      row_norm2_.allocate(problems_ * n_, "row norms", &budget_);
      row_scale_.allocate(problems_ * n_, "row scales", &budget_);
      with_device_type(dtype_, [&](auto tag) {
        using T = decltype(tag);
        row_stats<T><<<grid_for(problems_ * n_ * kernels::kWarpSize, 256), 256>>>(
            static_cast<const T*>(x_), problems_ * n_, d_, ld_, row_norm2_.get(), row_scale_.get());
        return 0;
      });
      check_launch("row_stats");
    }
  }

  /// Problem b's data and weights as device views of the bound batch.
  ProblemSpec problem_spec(std::int64_t b) const {
    const MatrixView xb{static_cast<const unsigned char*>(x_) + b * x_stride_ * es_, n_, d_, ld_, dtype_,
                        MemorySpace::Device, device_};
    VectorView wb;
    if (weights_.get()) wb = VectorView{weights_.get() + b * n_, n_, DType::F64, MemorySpace::Device, device_};
    return detail::problem_spec(params_, xb, wb);
  }

  /// Every problem's values (the default loop's check, before any problem is fitted), and the
  /// facts the kernels need: the largest |x| (the score scale) and the points of positive weight.
  void check_problems() {
    for (std::int64_t b = 0; b < problems_; ++b) {
      try {
        auto problem = make_cuda_problem(problem_spec(b), device_);
        detail::validate_values(*problem, k_);
        positive_.push_back(problem->check_values().positive_weights);
      } catch (const Error& e) {
        if (e.code() == ErrorCode::OutOfMemory) throw;
        throw detail::in_problem(e, b);
      }
    }
    DeviceBuffer<unsigned long long> flags(4, "value check");
    for (std::int64_t b = 0; b < problems_; ++b) {
      const unsigned long long init[4] = {~0ull, ~0ull, 0ull, 0ull};
      check(gpu::memcpy(flags.get(), init, sizeof init, gpu::kHostToDevice), "init value check");
      with_device_type(dtype_, [&](auto tag) {
        using T = decltype(tag);
        fkm::cuda::check_values<T><<<grid_for(n_ * d_, 256), 256>>>(
            static_cast<const T*>(x_) + b * x_stride_, n_, d_, ld_, weights_.get() ? weights_.get() + b * n_ : nullptr,
            std::int64_t(0), flags.get(), flags.get() + 1, flags.get() + 2, flags.get() + 3);
        return 0;
      });
      check_launch("check_values");
      unsigned long long got[4];
      check(gpu::memcpy(got, flags.get(), sizeof got, gpu::kDeviceToHost), "copy value check");
      double largest = 0;
      std::memcpy(&largest, &got[3], sizeof largest);
      data_largest_.push_back(largest);
      scale_.push_back(score_scale_for(largest, dtype_, params_.metric));
    }
  }

  /// Every slot's initial centroids, per problem through the single-problem CUDA Problem with
  /// the seeds of core/src/restarts.cpp: the same centroids, bit for bit. An error of a run is
  /// kept for the callbacks' replay (it is thrown where the loop would throw it).
  void initialise() {
    centroids_.allocate(slots_ * k_ * d_, "batched centroids", &budget_);
    slot_.resize(std::size_t(slots_));
    pending_.resize(std::size_t(slots_));
    for (std::int64_t b = 0; b < problems_; ++b) {
      std::unique_ptr<Problem> problem;
      try {
        problem = make_cuda_problem(problem_spec(b), device_);
        if (b == 0) device_name_ = problem->device_name();
        tol_.push_back(params_.tol > 0 ? params_.tol * problem->mean_variance() : 0.0);
      } catch (const Error& e) {
        if (e.code() == ErrorCode::OutOfMemory) throw;
        for (std::int64_t r = 0; r < runs_; ++r) fail(b * runs_ + r, e);
        tol_.push_back(0);
        continue;
      }
      KMeansParams one = params_;
      if (options_.initial_centroids.data != nullptr) one.initial_centroids = options_.initial_centroids.problem(b);
      for (std::int64_t r = 0; r < runs_; ++r) {
        Slot& slot = slot_[std::size_t(b * runs_ + r)];
        const auto t0 = std::chrono::steady_clock::now();
        try {
          const auto c0 = detail::initial_centroids(*problem, one, detail::mix64(params_.seed) + std::uint64_t(r));
          problem->set_centroids(c0.data(), k_);
          slot.initial.resize(std::size_t(k_ * d_));
          problem->get_centroids(slot.initial.data());
        } catch (const Error& e) {
          if (e.code() == ErrorCode::OutOfMemory) throw;
          fail(b * runs_ + r, e);
          continue;
        }
        slot.seconds_init = detail::seconds_since(t0);
        for (double v : slot.initial) slot.centroid_bound = std::max(slot.centroid_bound, std::abs(v));
        check(gpu::memcpy(centroids_.get() + (b * runs_ + r) * k_ * d_, slot.initial.data(), k_ * d_ * sizeof(double),
                          gpu::kHostToDevice),
              "copy centroids");
      }
    }
  }

  void fail(std::int64_t s, const Error& e) {
    slot_[std::size_t(s)].state = SlotState::Failed;
    slot_[std::size_t(s)].error = e;
  }

  // ---- centroid operands ----------------------------------------------------------------------
  /// Whether slot s's centroids need the fp64 SIMT kernel (CudaProblem::prepare's `wide`).
  bool wide(std::int64_t s) const {
    return path_ != AssignPath::SimtF64 && !scale_[std::size_t(s / runs_)].centroids_in_range(slot_[std::size_t(s)].centroid_bound);
  }

  /// The operand layout of CudaProblem::prepare for the batch's path; every slot the same
  /// kernel (a batch that would mix the scaled and the fp64 kernels runs as the loop).
  void choose_operands() {
    std::optional<bool> all_wide;
    for (std::int64_t s = 0; s < slots_; ++s) {
      if (slot_[std::size_t(s)].state == SlotState::Failed) continue;
      if (all_wide && *all_wide != wide(s)) throw RunAsLoop{};
      all_wide = wide(s);
    }
    wide_ = all_wide.value_or(false);
    auto pad = [](std::int64_t v, std::int64_t m) { return (v + m - 1) / m * m; };
    const std::int64_t kpad = centroid_pad(k_), dpad16 = pad(d_, kChunkBytes / 2), dpad32 = pad(d_, kChunkBytes / 4);
    if (path_ == AssignPath::SimtF64 || wide_) {
      plan_ = {1, k_, d_, TermRule::Split, OperandRange::Unscaled, 8, true, false};
      return;
    }
    switch (path_) {
      case AssignPath::SimtF64: break;
      case AssignPath::SimtF32: plan_ = {1, k_, d_, TermRule::Split, OperandRange::Wide, 4, false, false}; break;
      case AssignPath::FastHalf: plan_ = {1, kpad, dpad16, TermRule::Split, OperandRange::Half, 2, false, false}; break;
      case AssignPath::ScreenHalf: plan_ = {2, kpad, dpad16, TermRule::Split, OperandRange::Half, 2, false, true}; break;
      case AssignPath::FastBf16: plan_ = {1, kpad, dpad16, TermRule::Split, OperandRange::Wide, 2, false, false}; break;
      case AssignPath::ScreenBf16: plan_ = {3, kpad, dpad16, TermRule::Split, OperandRange::Wide, 2, false, true}; break;
      case AssignPath::FastTf32: plan_ = {1, kpad, dpad32, TermRule::Tf32ThenFull, OperandRange::Wide, 4, false, false}; break;
      case AssignPath::ScreenTf32: plan_ = {2, kpad, dpad32, TermRule::Tf32ThenFull, OperandRange::Wide, 4, false, true}; break;
    }
  }

  /// The screen's error-bound constants (CudaProblem::bound_spec) for the plan's operand type.
  BoundSpec bound_spec() const {
    BoundSpec b;
    b.out = bounds_.get();
    const bool half = path_ == AssignPath::ScreenHalf, tf32 = plan_.op_size == 4;
    b.steps = int(plan_.dpad / (tf32 ? 8 : 16));
    const double delta = 0x1p-20, sd = double(b.steps) * delta;
    b.gamma = sd < 0.5 ? sd / (1 - sd) : kInf;
    b.mu_x = b.mu_c = half ? 0x1p-14 : 0x1p-126;
    return b;
  }

  /// Operands of slots first .. first + count (those `active` marks), from their fp64 centroids.
  void prepare(const std::int32_t* active, std::int64_t first, std::int64_t count) {
    if (plan_.screen) {
      zero_slot_bounds<<<1, 256>>>(active, first, count, bounds_.get());
      check_launch("zero_slot_bounds");
    }
    PrepareArgs a{centroids_.get(), k_, d_, plan_.kpad, plan_.dpad, plan_.nsplit, plan_.rule, plan_.range,
                  params_.metric == Metric::L2, 0, 0, plan_.screen ? bound_spec() : BoundSpec{}};
    const dim3 grid(static_cast<unsigned>(plan_.kpad), static_cast<unsigned>(count));
    auto launch = [&](auto op_tag, auto acc_tag) {
      using Op = decltype(op_tag);
      using Acc = decltype(acc_tag);
      Acc* bias = sizeof(Acc) == 8 ? reinterpret_cast<Acc*>(bias_d_.get()) : reinterpret_cast<Acc*>(bias_f_.get());
      Acc* mul = sizeof(Acc) == 8 ? reinterpret_cast<Acc*>(mul_d_.get()) : reinterpret_cast<Acc*>(mul_f_.get());
      prepare_slots<Op, Acc><<<grid, 128>>>(active, first, a, s_total_.get(), wide_shift_.get(), op_bytes_,
                                            reinterpret_cast<Op*>(terms_.get()), bias, mul);
      check_launch("prepare_slots");
    };
    if (plan_.acc_double) return launch(double{}, double{});
    switch (path_) {
      case AssignPath::SimtF32:
      case AssignPath::FastTf32:
      case AssignPath::ScreenTf32: return launch(float{}, float{});
      case AssignPath::FastHalf:
      case AssignPath::ScreenHalf: return launch(gpu::half{}, float{});
      case AssignPath::FastBf16:
      case AssignPath::ScreenBf16: return launch(gpu::bfloat16{}, float{});
      case AssignPath::SimtF64: return launch(double{}, double{});
    }
  }

  // ---- device memory ------------------------------------------------------------------------
  void allocate() {
    const std::int64_t sn = slots_ * n_, sk = slots_ * k_;
    labels_.allocate(sn, "batched labels", &budget_);
    dist_.allocate(sn, "batched distances", &budget_);
    previous_.allocate(sk * d_, "batched previous centroids", &budget_);
    empty_.allocate(sk, "batched empty flags", &budget_);
    shift_parts_.allocate(sk, "batched shift parts", &budget_);
    empty_list_.allocate(sk, "batched empty lists", &budget_);
    sums_.allocate(sk * (d_ + 1), "batched cluster sums", &budget_);
    done_.allocate(sk * (d_ + 1), "batched group sums", &budget_);
    carry_.allocate(sk * (d_ + 1), "batched open group sums", &budget_);
    pieces_.allocate(kernels::max_pieces(sn, sk) * (d_ + 1), "batched group pieces", &budget_);
    piece_counts_.allocate(sk + 1, "batched piece counts", &budget_);
    piece_begin_.allocate(sk + 1, "batched piece starts", &budget_);
    rank_.allocate(sk, "batched cluster ranks", &budget_);
    next_rank_.allocate(sk, "batched next ranks", &budget_);
    keys_.allocate(sn, "batched sort keys", &budget_);
    sorted_keys_.allocate(sn, "batched sorted keys", &budget_);
    rows_.allocate(sn, "batched data rows", &budget_);
    order_.allocate(sn, "batched sort order", &budget_);
    counts_.allocate(sk + 1, "batched cluster counts", &budget_);
    begin_.allocate(sk + 1, "batched cluster starts", &budget_);
    partial_stride_ = std::max((n_ + kernels::kSimtBM - 1) / kernels::kSimtBM, (n_ + kReduceChunk - 1) / kReduceChunk);
    partials_.allocate(slots_ * partial_stride_, "batched assign partial sums", &budget_);
    scalars_.allocate(slots_ * 4, "batched scalars", &budget_);
    masks_.allocate(3 * slots_, "slot masks", &budget_);
    op_bytes_ = std::int64_t(plan_.nsplit) * plan_.kpad * plan_.dpad * plan_.op_size;
    terms_.allocate(slots_ * op_bytes_, "batched centroid operands", &budget_);
    if (plan_.acc_double) {
      bias_d_.allocate(slots_ * plan_.kpad, "batched centroid bias", &budget_);
      mul_d_.allocate(slots_ * plan_.kpad, "batched centroid scale", &budget_);
    } else {
      bias_f_.allocate(slots_ * plan_.kpad, "batched centroid bias", &budget_);
      mul_f_.allocate(slots_ * plan_.kpad, "batched centroid scale", &budget_);
    }
    if (plan_.screen) {
      bounds_.allocate(slots_, "batched screen bounds", &budget_);
      near_rows_.allocate(sn, "batched near rows", &budget_);
      open_rows_.allocate(sn, "batched open rows", &budget_);
      list_counts_.allocate(2 * slots_, "batched list lengths", &budget_);
      const char* force = std::getenv("FKM_CUDA_SCREEN");
      const std::string mode = force ? force : "";
      screen_force_ = mode == "pairs" || mode == "rescore";
      pairs_force_ = mode == "rescore";
    }
    // per slot: its problem's score unit and operand exponents
    std::vector<int> s_total(static_cast<std::size_t>(slots_)), wide_shift(static_cast<std::size_t>(slots_));
    std::vector<double> sigma(static_cast<std::size_t>(slots_));
    for (std::int64_t s = 0; s < slots_; ++s) {
      const ScoreScale& sc = scale_[std::size_t(s / runs_)];
      s_total[std::size_t(s)] = plan_.range != OperandRange::Unscaled ? sc.s_total : 0;
      wide_shift[std::size_t(s)] = sc.wide_shift;
      sigma[std::size_t(s)] = sc.sigma();
    }
    s_total_.allocate(slots_, "score exponents", &budget_);
    wide_shift_.allocate(slots_, "operand exponents", &budget_);
    sigma_.allocate(slots_, "score units", &budget_);
    check(gpu::memcpy(s_total_.get(), s_total.data(), slots_ * sizeof(int), gpu::kHostToDevice), "copy exponents");
    check(gpu::memcpy(wide_shift_.get(), wide_shift.data(), slots_ * sizeof(int), gpu::kHostToDevice), "copy exponents");
    check(gpu::memcpy(sigma_.get(), sigma.data(), slots_ * sizeof(double), gpu::kHostToDevice), "copy score units");
    // the sort and scan's scratch, for the largest label bound
    std::size_t scan_bytes = 0, sort_bytes = 0;
    check(gpu::exclusive_sum(nullptr, scan_bytes, counts_.get(), begin_.get(), sk + 1), "device scan size");
    check(gpu::sort_pairs(nullptr, sort_bytes, keys_.get(), sorted_keys_.get(), rows_.get(), order_.get(), sn, 0,
                          label_bits()),
          "device sort size");
    temp_.allocate(std::int64_t(std::max(scan_bytes, sort_bytes)), "batched device temp", &budget_);
    check(gpu::malloc_host(reinterpret_cast<void**>(&host_scalars_), std::size_t(slots_ * 4) * sizeof(double)),
          "pinned host allocation");
    check(gpu::malloc_host(reinterpret_cast<void**>(&host_masks_), std::size_t(3 * slots_) * sizeof(std::int32_t)),
          "pinned host allocation");
  }

  /// Bits of the sort keys: clusters 0 .. slots*K - 1.
  int label_bits() const {
    int end_bit = 1;
    while (end_bit < 31 && (std::int64_t(1) << end_bit) < slots_ * k_) ++end_bit;
    return end_bit;
  }

  // ---- the Lloyd loop ---------------------------------------------------------------------------
  /// core/src/lloyd.cpp for every slot at once (see the file comment).
  void lloyd() {
    bool first = true;
    for (;;) {
      std::int64_t assigning = 0, running = 0;
      for (std::int64_t s = 0; s < slots_; ++s) {
        const SlotState st = slot_[std::size_t(s)].state;
        host_masks_[s] = st == SlotState::Running || st == SlotState::Finishing;
        host_masks_[slots_ + s] = st == SlotState::Running;
        assigning += host_masks_[s];
        if (st == SlotState::Running) host_masks_[2 * slots_ + running++] = std::int32_t(s);  // the running list
      }
      if (assigning == 0) break;
      const auto t0 = std::chrono::steady_clock::now();
      check(gpu::memcpy_async(masks_.get(), host_masks_, std::size_t(3 * slots_) * sizeof(std::int32_t), gpu::kHostToDevice, 0),
            "copy slot masks");
      const std::int32_t* assign_mask = masks_.get();
      const std::int32_t* update_mask = masks_.get() + slots_;
      if (first) prepare(update_mask, 0, slots_);  // the initial centroids' operands
      first = false;
      timer_.begin();
      assign(assign_mask);
      timer_.mark("batched assign");
      if (running > 0) {
        accumulate(masks_.get() + 2 * slots_, running);
        timer_.mark("batched accumulate");
        update(update_mask);
        timer_.mark("batched update");
      }
      check(gpu::memcpy_async(host_scalars_, scalars_.get(), std::size_t(slots_ * 4) * sizeof(double), gpu::kDeviceToHost, 0),
            "copy scalars");
      check(gpu::stream_synchronize(0), "stream synchronize");
      timer_.mark("batched readback");
      timer_.tally("batched slots run", running);
      const double seconds = detail::seconds_since(t0);
      // every slot's record first, then all of this iteration's reseeds in one batched pass,
      // then each slot's stop test (on the shift the reseed recomputed)
      std::vector<std::int64_t> recorded, reseeding;
      for (std::int64_t s = 0; s < slots_; ++s) {
        Slot& slot = slot_[std::size_t(s)];
        const double inertia = host_scalars_[4 * s];
        if (slot.state == SlotState::Finishing) {
          slot.inertia = inertia;
          slot.state = SlotState::Done;
          try {
            detail::check_inertia(inertia);
          } catch (const Error& e) {
            fail(s, e);
          }
        } else if (slot.state == SlotState::Running && record_iteration(s, inertia, seconds)) {
          recorded.push_back(s);
          if (reseed_take(s) > 0) reseeding.push_back(s);
        }
      }
      if (!reseeding.empty()) reseed_slots(reseeding);
      for (const std::int64_t s : recorded) finish_iteration(s);
      timer_.mark("batched host (reseeds)");
    }
  }

  /// The host's part of slot s's iteration, after the batch's update: its record (pending_ until
  /// finish_iteration). False: the slot failed (non-finite inertia).
  bool record_iteration(std::int64_t s, double inertia, double seconds) {
    IterationRecord rec;
    rec.inertia = inertia;
    try {
      detail::check_inertia(rec.inertia);
    } catch (const Error& e) {
      fail(s, e);
      return false;
    }
    rec.shift = host_scalars_[4 * s + 1];
    std::int64_t count = 0;
    std::memcpy(&count, host_scalars_ + 4 * s + 2, sizeof count);
    rec.n_empty = count;
    rec.seconds = seconds;
    pending_[std::size_t(s)] = rec;
    return true;
  }

  /// Empty clusters of slot s to reseed this iteration (reseed-farthest: as many as it has
  /// points of positive weight to give).
  std::int64_t reseed_take(std::int64_t s) const {
    if (params_.empty_clusters != EmptyClusterPolicy::ReseedFarthest) return 0;
    const std::int64_t count = pending_[std::size_t(s)].n_empty;
    return std::min<std::int64_t>(count, positive_[std::size_t(s / runs_)]);
  }

  /// Slot s's record into its history, then its stop test.
  void finish_iteration(std::int64_t s) {
    Slot& slot = slot_[std::size_t(s)];
    const IterationRecord& rec = pending_[std::size_t(s)];
    slot.history.push_back(rec);
    if (params_.tol > 0 && rec.shift <= tol_[std::size_t(s / runs_)]) {
      slot.stop_reason = StopReason::Tolerance;
      slot.state = SlotState::Finishing;
    } else if (int(slot.history.size()) >= params_.max_iter) {
      slot.state = SlotState::Finishing;
    }
  }

  // ---- assign -----------------------------------------------------------------------------------
  SlotLayout layout(const std::int32_t* active) const {
    SlotLayout l;
    l.active = active;
    l.runs = runs_;
    l.n = n_;
    l.k = k_;
    l.d = d_;
    l.x_stride = x_stride_;
    l.op_bytes = op_bytes_;
    l.kpad = plan_.kpad;
    l.partials = partial_stride_;
    l.sigma = sigma_.get();
    return l;
  }

  kernels::AssignOutput output() const {
    kernels::AssignOutput o;
    o.mode = kernels::AssignMode::Assign;
    o.metric = params_.metric == Metric::L2 ? kernels::MetricCode::L2
                                            : (params_.metric == Metric::Cosine ? kernels::MetricCode::Cosine
                                                                                : kernels::MetricCode::InnerProduct);
    o.centroids = centroids_.get();
    o.d = d_;
    o.row_scale = row_scale_.get();
    o.weights = weights_.get();
    o.labels = labels_.get();
    o.dist = dist_.get();
    o.partials = partials_.get();
    return o;
  }

  /// One assign of every slot `active` marks; each slot's inertia into scalars[4 s].
  void assign(const std::int32_t* active) {
    const SlotLayout l = layout(active);
    const kernels::AssignOutput out = output();
    std::int64_t blocks = 0;  // partial sums per slot
    if (plan_.acc_double) {
      blocks = with_device_type(dtype_, [&](auto tag) { return launch_simt<decltype(tag), double>(l, out); });
    } else {
      switch (path_) {
        case AssignPath::SimtF64: break;
        case AssignPath::SimtF32:
          blocks = with_device_type(dtype_, [&](auto tag) -> std::int64_t {
            using T = decltype(tag);
            if constexpr (std::is_same_v<T, double>) return 0;
            else return launch_simt<T, float>(l, out);
          });
          break;
        case AssignPath::FastHalf: blocks = launch_mma<gpu::half, 1, MmaRole::Plain>(l, out, {}); break;
        case AssignPath::FastBf16: blocks = launch_mma<gpu::bfloat16, 1, MmaRole::Plain>(l, out, {}); break;
        case AssignPath::FastTf32: blocks = launch_mma<float, 1, MmaRole::Plain>(l, out, {}); break;
        case AssignPath::ScreenHalf: blocks = screen_and_rescore<gpu::half, 2>(l, out); break;
        case AssignPath::ScreenBf16: blocks = screen_and_rescore<gpu::bfloat16, 3>(l, out); break;
        case AssignPath::ScreenTf32: blocks = screen_and_rescore<float, 0>(l, out); break;
      }
    }
    sum_each_slot<<<unsigned(slots_), 1024>>>(active, partials_.get(), partial_stride_, blocks, scalars_.get(), 4);
    check_launch("sum_each_slot");
  }

  template <class T, int NSPLIT, MmaRole ROLE>
  std::int64_t launch_mma(const SlotLayout& l, const kernels::AssignOutput& out, const kernels::ScreenArgs& screen) {
    MmaAssignArgs<T> a{static_cast<const T*>(x_), n_, d_, ld_, reinterpret_cast<const T*>(terms_.get()), k_, plan_.kpad,
                       plan_.dpad, bias_f_.get(), mul_f_.get()};
    if (ROLE == MmaRole::Pairs) {
      a.rows = screen.near_rows;
      a.row_count = screen.near_count;
    } else if (ROLE == MmaRole::Rescore) {
      a.rows = screen.open_rows;
      a.row_count = screen.open_count;
    }
    const std::int64_t blocks = (n_ + kMmaBM - 1) / kMmaBM;
    if constexpr ((ROLE == MmaRole::Plain || ROLE == MmaRole::Screen) && NSPLIT == 1) {
      if (launch_wgmma<T, ROLE>(a, out, screen, l, blocks)) return blocks;
    }
    if (std::int64_t(plan_.kpad / kMmaBN) * (plan_.dpad * std::int64_t(sizeof(T)) / kChunkBytes) > INT32_MAX)
      throw Error(ErrorCode::InvalidArgument, std::string(gpu::kPlatform) + ": k x d too large for one assign launch");
    const dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(slots_));
    const std::int64_t resident_bytes = mma_smem_bytes<T, NSPLIT, true>(plan_.dpad);
    if (resident_bytes <= 150 * 1024) {
      check(gpu::allow_dynamic_shared(assign_mma_slots<T, NSPLIT, true, ROLE>, int(resident_bytes)), "allow_dynamic_shared");
      assign_mma_slots<T, NSPLIT, true, ROLE><<<grid, kMmaThreads, resident_bytes>>>(a, out, screen, l);
    } else {
      const std::int64_t bytes = mma_smem_bytes<T, NSPLIT, false>(plan_.dpad);
      check(gpu::allow_dynamic_shared(assign_mma_slots<T, NSPLIT, false, ROLE>, int(bytes)), "allow_dynamic_shared");
      assign_mma_slots<T, NSPLIT, false, ROLE><<<grid, kMmaThreads, bytes>>>(a, out, screen, l);
    }
    check_launch("assign_mma_slots");
    return blocks;
  }

  /// The Hopper kernel over every slot (see CudaProblem::launch_wgmma); false where it cannot run.
  template <class T, MmaRole ROLE>
  bool launch_wgmma(const MmaAssignArgs<T>& a, const kernels::AssignOutput& out, const kernels::ScreenArgs& screen,
                    const SlotLayout& l, std::int64_t blocks) {
#if defined(__HIP__)
    return false;
#else
    if (!wgmma_takes(n_, plan_.kpad)) return false;
    with_wgmma_placement<T>(plan_.dpad, [&](auto resident) {
      constexpr int BN = kWgmmaBN;
      constexpr bool RESIDENT = decltype(resident)::value;
      const auto kernel = assign_wgmma_slots<T, BN, RESIDENT, ROLE>;
      const std::int64_t es = sizeof(T), bytes = wgmma_smem_bytes<BN, RESIDENT>(plan_.dpad * es);
      const CUtensorMap xmap = box_map<T>(x_, d_, n_, problems_, ld_ * es, x_stride_ * es, kWgmmaBM);
      const CUtensorMap cmap = box_map<T>(terms_.get(), plan_.dpad, plan_.kpad, slots_, plan_.dpad * es, op_bytes_, BN);
      check(gpu::allow_dynamic_shared(kernel, int(bytes)), "allow_dynamic_shared");
      const dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(slots_));
      kernel<<<grid, kWgmmaThreads, bytes>>>(xmap, cmap, a, out, screen, l);
      check_launch("assign_wgmma_slots");
    });
    return true;
#endif
  }

  /// The SIMT kernel over every slot's rows, or over its re-score list. c: operand rows in
  /// the arithmetic type (ldc = plan_.dpad), slot 0's.
  template <class T, class Acc>
  std::int64_t launch_simt(const SlotLayout& l, const kernels::AssignOutput& out, const Acc* c,
                           const kernels::ScreenArgs* listed = nullptr) {
    const Acc* bias = sizeof(Acc) == 8 ? reinterpret_cast<const Acc*>(bias_d_.get()) : reinterpret_cast<const Acc*>(bias_f_.get());
    const Acc* mul = sizeof(Acc) == 8 ? reinterpret_cast<const Acc*>(mul_d_.get()) : reinterpret_cast<const Acc*>(mul_f_.get());
    kernels::SimtAssignArgs<T, Acc> a{static_cast<const T*>(x_), n_, d_, ld_, c, k_, plan_.dpad, bias, mul};
    if (listed) {
      a.rows = listed->open_rows;
      a.row_count = listed->open_count;
    }
    const std::int64_t blocks = (n_ + kernels::kSimtBM - 1) / kernels::kSimtBM;
    assign_simt_slots<T, Acc><<<dim3(unsigned(blocks), unsigned(slots_)), kernels::kSimtThreads>>>(a, out, l);
    check_launch("assign_simt_slots");
    return blocks;
  }
  template <class T, class Acc>
  std::int64_t launch_simt(const SlotLayout& l, const kernels::AssignOutput& out) {
    return launch_simt<T, Acc>(l, out, reinterpret_cast<const Acc*>(terms_.get()));
  }

  /// CudaProblem::screen_and_rescore for every slot; returns the partial sums per slot.
  template <class T, int NSPLIT>
  std::int64_t screen_and_rescore(const SlotLayout& l, const kernels::AssignOutput& out) {
    check(gpu::memset(list_counts_.get(), 0, std::size_t(2 * slots_) * sizeof(std::int32_t)), "memset");
    kernels::ScreenArgs screen;
    screen.bound = bounds_.get();
    screen.k = k_;
    screen.force_screen = screen_force_;
    screen.force_pairs = pairs_force_;
    screen.near_rows = near_rows_.get();
    screen.near_count = list_counts_.get();
    screen.open_rows = open_rows_.get();
    screen.open_count = list_counts_.get() + 1;
    kernels::AssignOutput o = out;
    o.partials = nullptr;
    launch_mma<T, 1, MmaRole::Screen>(l, o, screen);
    launch_mma<T, 1, MmaRole::Pairs>(l, o, screen);
    if constexpr (NSPLIT > 0) {
      launch_mma<T, NSPLIT, MmaRole::Rescore>(l, o, screen);
    } else {
      const auto* full = reinterpret_cast<const float*>(terms_.get()) + plan_.kpad * plan_.dpad;
      launch_simt<T, float>(l, o, full, &screen);
    }
    const std::int64_t nb = (n_ + kReduceChunk - 1) / kReduceChunk;
    slot_mass_chunks<<<dim3(unsigned(nb), unsigned(slots_)), 256>>>(l.active, weights_.get(), dist_.get(), runs_, n_,
                                                                   kReduceChunk, partials_.get(), partial_stride_);
    check_launch("slot_mass_chunks");
    return nb;
  }

  // ---- accumulate and update ----------------------------------------------------------------------
  /// CudaProblem::accumulate over the clusters of every running slot (s * K + j): the `count`
  /// slots of `list` fill count x N sorted positions, N per slot; the other slots' clusters are
  /// empty (their sums are never read). The group sums of core/kernels/update.hpp over all of
  /// them as one chunk: a cluster's order depends only on its own rows (in index order), so each
  /// slot's sums are bit for bit those of its problem fitted alone.
  void accumulate(const std::int32_t* list, std::int64_t count) {
    const std::int64_t sn = count * n_, sk = slots_ * k_, w = d_ + 1;
    slot_cluster_keys<<<grid_for(sn, 256), 256>>>(list, count, runs_, n_, k_, labels_.get(), keys_.get(), rows_.get());
    check_launch("slot_cluster_keys");
    check(gpu::memset(counts_.get(), 0, std::size_t(sk + 1) * sizeof(unsigned long long)), "memset");
    label_counts<<<int(std::min<std::int64_t>(1024, (sn + 1023) / 1024)), 1024>>>(keys_.get(), sn, sk, counts_.get());
    check_launch("label_counts");
    std::size_t scan_bytes = 0, piece_scan_bytes = 0, sort_bytes = 0;
    check(gpu::exclusive_sum(nullptr, scan_bytes, counts_.get(), begin_.get(), sk + 1), "device scan size");
    check(gpu::exclusive_sum(nullptr, piece_scan_bytes, piece_counts_.get(), piece_begin_.get(), sk + 1), "device scan size");
    check(gpu::sort_pairs(nullptr, sort_bytes, keys_.get(), sorted_keys_.get(), rows_.get(), order_.get(), sn, 0, label_bits()),
          "device sort size");
    temp_.allocate(std::int64_t(std::max({scan_bytes, piece_scan_bytes, sort_bytes})), "batched device temp", &budget_);
    std::size_t bytes = std::size_t(temp_.size());
    check(gpu::exclusive_sum(temp_.get(), bytes, counts_.get(), begin_.get(), sk + 1), "device scan");
    bytes = std::size_t(temp_.size());
    check(gpu::sort_pairs(temp_.get(), bytes, keys_.get(), sorted_keys_.get(), rows_.get(), order_.get(), sn, 0, label_bits()),
          "device sort");
    check(gpu::memset(done_.get(), 0, std::size_t(sk * w) * sizeof(double)), "memset");
    check(gpu::memset(carry_.get(), 0, std::size_t(sk * w) * sizeof(double)), "memset");
    check(gpu::memset(rank_.get(), 0, std::size_t(sk) * sizeof(std::int64_t)), "memset");
    const auto* begin = reinterpret_cast<const std::int64_t*>(begin_.get());
    kernels::count_pieces<<<grid_for(sk + 1, 256), 256>>>(begin, rank_.get(), sk, piece_counts_.get());
    check_launch("count_pieces");
    bytes = std::size_t(temp_.size());
    check(gpu::exclusive_sum(temp_.get(), bytes, piece_counts_.get(), piece_begin_.get(), sk + 1), "device scan");
    const std::int64_t max_p = kernels::max_pieces(sn, sk);
    kernels::GroupArgs a{sorted_keys_.get(), order_.get(), begin, piece_begin_.get(), rank_.get(), sn, sk, d_, max_p,
                         weights_.get(), params_.metric == Metric::Cosine ? row_scale_.get() : nullptr, done_.get(),
                         carry_.get(), pieces_.get()};
    constexpr int kWarpsPerBlock = 8;
    with_device_type(dtype_, [&](auto tag) {
      using T = decltype(tag);
      kernels::launch_group_sums<T>(a, static_cast<const T*>(x_), ld_, kWarpsPerBlock);
      return 0;
    });
    check_launch("group_sums");
    kernels::launch_fold_groups(a, next_rank_.get());
    check_launch("fold_groups");
    kernels::finish_groups<<<grid_for(sk * w, 256), 256>>>(done_.get(), carry_.get(), next_rank_.get(), sk, d_, sums_.get());
    check_launch("finish_groups");
  }

  /// CudaProblem::update for every running slot: new centroids, shift (scalars[4 s + 1]),
  /// empty list and count (scalars[4 s + 2]), operands for the next assign.
  void update(const std::int32_t* running) {
    finalize_slots<<<dim3(unsigned(k_), unsigned(slots_)), 128>>>(running, sums_.get(), k_, d_,
                                                                 params_.metric == Metric::Cosine, centroids_.get(),
                                                                 previous_.get(), empty_.get(), shift_parts_.get());
    check_launch("finalize_slots");
    sum_each_slot<<<unsigned(slots_), 1024>>>(running, shift_parts_.get(), k_, k_, scalars_.get() + 1, 4);
    check_launch("sum_each_slot");
    compact_each_slot<<<unsigned(slots_), 1024>>>(running, empty_.get(), k_, empty_list_.get(), scalars_.get());
    check_launch("compact_each_slot");
    // New centroids are means of data rows (normalised for cosine); empty ones keep theirs.
    for (std::int64_t s = 0; s < slots_; ++s) {
      Slot& slot = slot_[std::size_t(s)];
      if (slot.state != SlotState::Running) continue;
      slot.centroid_bound = std::max(slot.centroid_bound, params_.metric == Metric::Cosine ? 1.0 : data_largest_[std::size_t(s / runs_)]);
      if (wide(s) != wide_) throw RunAsLoop{};
    }
    prepare(running, 0, slots_);
  }

  // ---- empty clusters (per slot: rare) ------------------------------------------------------------
  /// reseed-farthest for every listed slot at once (core/src/lloyd.cpp's replace_centroids, as
  /// CudaProblem does it for one problem): each slot's `take` empty clusters get its farthest
  /// points of positive weight, farthest first, ties to the lower row. One descending sort of
  /// the listed slots' keys, then a stable sort by slot, gives each slot's rows in the order its
  /// own descending sort would (both sorts are stable; positions are slot-major). Then one
  /// gather + scatter launch, one copy of the gathered rows, and the slots' shifts recomputed
  /// with one copy back. Slots are taken in groups of at most 2^23 rows in all (32 bytes of scratch
  /// a row: 256 MB; and 32-bit positions), at least one slot a group.
  void reseed_slots(const std::vector<std::int64_t>& list) {
    constexpr std::int64_t kGroupPositions = std::int64_t(1) << 23;
    const std::int64_t group = std::max<std::int64_t>(1, kGroupPositions / std::max<std::int64_t>(n_, 1));
    for (std::size_t g0 = 0; g0 < list.size(); g0 += std::size_t(group)) {
      const std::size_t g1 = std::min(list.size(), g0 + std::size_t(group));
      reseed_group(std::vector<std::int64_t>(list.begin() + std::ptrdiff_t(g0), list.begin() + std::ptrdiff_t(g1)));
    }
    for (const std::int64_t s : list) recompute_shift_parts(s);
    std::vector<double> scalars(static_cast<std::size_t>(slots_ * 4));
    check(gpu::memcpy(scalars.data(), scalars_.get(), scalars.size() * sizeof(double), gpu::kDeviceToHost), "copy shifts");
    for (const std::int64_t s : list) pending_[std::size_t(s)].shift = scalars[std::size_t(4 * s + 3)];
  }

  void reseed_group(const std::vector<std::int64_t>& list) {
    const std::int64_t m = std::int64_t(list.size()), nn = m * n_;
    std::vector<std::int64_t> meta(static_cast<std::size_t>(3 * m));  // slot, take, first gathered row
    std::int64_t total = 0, most = 0;
    for (std::int64_t i = 0; i < m; ++i) {
      const std::int64_t take = reseed_take(list[std::size_t(i)]);
      meta[std::size_t(i)] = list[std::size_t(i)];
      meta[std::size_t(m + i)] = take;
      meta[std::size_t(2 * m + i)] = total;
      total += take;
      most = std::max(most, take);
    }
    // scratch kept from one reseed to the next (allocate() keeps memory that is big enough)
    reseed_keys_.allocate(2 * nn, "farthest keys");
    reseed_ids_.allocate(4 * nn, "farthest ids");
    reseed_rows_.allocate(std::max<std::int64_t>(total, 1) * d_, "gathered rows");
    reseed_meta_.allocate(3 * m, "reseed slots");
    double *keys = reseed_keys_.get(), *sorted = keys + nn;
    std::int32_t *pos = reseed_ids_.get(), *order = pos + nn, *seg = order + nn, *by_slot = seg + nn;
    check(gpu::memcpy(reseed_meta_.get(), meta.data(), meta.size() * sizeof(std::int64_t), gpu::kHostToDevice), "copy reseed slots");
    const std::int64_t* slots = reseed_meta_.get();
    const std::int64_t *takes = slots + m, *firsts = slots + 2 * m;
    const dim3 key_grid(unsigned(grid_for(n_, 256)), unsigned(m));
    farthest_keys_slots<<<key_grid, 256>>>(weights_.get(), dist_.get(), n_, runs_, slots, keys);
    check_launch("farthest_keys_slots");
    iota32<<<grid_for(nn, 256), 256>>>(pos, nn);
    check_launch("iota32");
    std::size_t bytes = 0, more = 0;
    int slot_bits = 1;
    while (slot_bits < 31 && (std::int64_t(1) << slot_bits) < m) ++slot_bits;
    check(gpu::sort_pairs_descending(nullptr, bytes, keys, sorted, pos, order, nn), "device sort size");
    check(gpu::sort_pairs(nullptr, more, seg, seg, order, by_slot, nn, 0, slot_bits), "device sort size");
    reseed_temp_.allocate(std::int64_t(std::max(bytes, more)), "sort temp");
    bytes = std::size_t(reseed_temp_.size());
    check(gpu::sort_pairs_descending(reseed_temp_.get(), bytes, keys, sorted, pos, order, nn), "device sort");
    slot_of_position<<<grid_for(nn, 256), 256>>>(order, nn, n_, seg);
    check_launch("slot_of_position");
    // (the sorted slot keys are not needed: `sorted` is free again and takes them)
    auto* seg_sorted = reinterpret_cast<std::int32_t*>(sorted);
    bytes = std::size_t(reseed_temp_.size());
    check(gpu::sort_pairs(reseed_temp_.get(), bytes, seg, seg_sorted, order, by_slot, nn, 0, slot_bits), "device sort");
    with_device_type(dtype_, [&](auto tag) {
      using T = decltype(tag);
      ReseedGather g{slots, takes, firsts, by_slot, n_, d_, k_, runs_, ld_, x_stride_, row_scale_.get(), empty_list_.get()};
      gather_farthest<T><<<dim3(unsigned(most), unsigned(m)), 128>>>(g, static_cast<const T*>(x_), reseed_rows_.get(),
                                                                   centroids_.get());
      return 0;
    });
    check_launch("gather_farthest");
    std::vector<double> rows(static_cast<std::size_t>(total * d_));
    if (total > 0)
      check(gpu::memcpy(rows.data(), reseed_rows_.get(), rows.size() * sizeof(double), gpu::kDeviceToHost), "copy rows");
    for (std::int64_t i = 0; i < m; ++i) {
      const std::int64_t s = meta[std::size_t(i)];
      Slot& slot = slot_[std::size_t(s)];
      const std::int64_t first = meta[std::size_t(2 * m + i)], take = meta[std::size_t(m + i)];
      for (std::int64_t e = first * d_; e < (first + take) * d_; ++e)
        slot.centroid_bound = std::max(slot.centroid_bound, std::abs(rows[std::size_t(e)]));
      if (wide(s) != wide_) throw RunAsLoop{};
      prepare(nullptr, s, 1);
    }
  }

  /// CudaProblem::shift after replace_centroids: sum_j ||c_j - previous_j||^2 in its order, into
  /// scalars_[4 s + 3] (the caller copies the scalars back once for all reseeded slots).
  void recompute_shift_parts(std::int64_t s) {
    centroid_shift_parts<<<int(k_), 128>>>(centroids_.get() + s * k_ * d_, previous_.get() + s * k_ * d_, d_,
                                           shift_parts_.get() + s * k_);
    check_launch("centroid_shift_parts");
    kernels::sum_fixed_order<<<1, 1024>>>(shift_parts_.get() + s * k_, k_, scalars_.get() + 4 * s + 3);
    check_launch("sum_fixed_order");
  }

  // ---- results ------------------------------------------------------------------------------------
  /// Each problem's best run (restarts.cpp: a later run wins only with a strictly lower
  /// inertia), its centroids and labels.
  BatchOutcome collect() {
    BatchOutcome out;
    out.best.assign(std::size_t(problems_), -1);
    out.centroids.resize(std::size_t(problems_));
    out.labels.resize(std::size_t(problems_));
    for (std::int64_t b = 0; b < problems_; ++b) {
      std::int64_t best = -1;
      bool failed = false;
      for (std::int64_t r = 0; r < runs_; ++r) {
        const Slot& slot = slot_[std::size_t(b * runs_ + r)];
        if (slot.state == SlotState::Failed) {
          failed = true;
          break;
        }
        if (r > 0 && !(slot.inertia < slot_[std::size_t(best)].inertia)) continue;
        best = b * runs_ + r;
      }
      if (failed) continue;
      out.best[std::size_t(b)] = best;
      auto& c = out.centroids[std::size_t(b)];
      c.resize(std::size_t(k_ * d_));
      check(gpu::memcpy(c.data(), centroids_.get() + best * k_ * d_, k_ * d_ * sizeof(double), gpu::kDeviceToHost),
            "copy centroids");
      auto& lab = out.labels[std::size_t(b)];
      lab.resize(std::size_t(n_));
      check(gpu::memcpy(lab.data(), labels_.get() + best * n_, n_ * sizeof(std::int32_t), gpu::kDeviceToHost),
            "copy labels");
    }
    out.slots = std::move(slot_);
    out.tol_absolute = tol_;
    out.device_name = device_name_;
    return out;
  }

  /// How a path's centroid operands are laid out (CudaProblem::OperandPlan, plus the types).
  struct Plan {
    int nsplit = 1;
    std::int64_t kpad = 0, dpad = 0;
    TermRule rule = TermRule::Split;
    OperandRange range = OperandRange::Unscaled;
    std::int64_t op_size = 8;  ///< bytes of one operand value
    bool acc_double = true;    ///< fp64 SIMT kernel (fp64 data or wide centroids)
    bool screen = false;       ///< the screen's passes (precision = exact on tensor cores)
  };

  const BatchedMatrixView& x_view_;
  const KMeansParams& params_;
  const BatchedFitOptions& options_;
  int device_;
  std::int64_t problems_, n_, d_, k_, runs_, slots_;
  DType dtype_;
  std::int64_t es_;
  AssignPath path_;
  MemoryBudget budget_;
  Plan plan_;
  bool wide_ = false, screen_force_ = false, pairs_force_ = false;
  std::string device_name_;

  // per problem
  std::vector<std::int64_t> positive_;
  std::vector<double> data_largest_, tol_;
  std::vector<ScoreScale> scale_;
  // per slot
  std::vector<Slot> slot_;

  const void* x_ = nullptr;
  DeviceBuffer<unsigned char> x_owned_;
  std::int64_t ld_ = 0, x_stride_ = 0, op_bytes_ = 0, partial_stride_ = 0;
  DeviceBuffer<double> weights_, row_norm2_, row_scale_;
  DeviceBuffer<double> centroids_, previous_, dist_, sums_, done_, carry_, pieces_, shift_parts_, partials_, scalars_, sigma_;
  DeviceBuffer<std::int64_t> piece_counts_, piece_begin_, rank_, next_rank_;
  DeviceBuffer<double> bias_d_, mul_d_;
  DeviceBuffer<float> bias_f_, mul_f_;
  DeviceBuffer<unsigned char> terms_, temp_;
  DeviceBuffer<kernels::ScreenBound> bounds_;
  DeviceBuffer<std::int32_t> labels_, keys_, sorted_keys_, rows_, order_, empty_, masks_;
  DeviceBuffer<std::int32_t> near_rows_, open_rows_, list_counts_;
  DeviceBuffer<std::int64_t> empty_list_;
  DeviceBuffer<double> reseed_keys_, reseed_rows_;  ///< reseed_group()'s scratch
  DeviceBuffer<std::int32_t> reseed_ids_;
  DeviceBuffer<unsigned char> reseed_temp_;
  DeviceBuffer<std::int64_t> reseed_meta_;
  std::vector<IterationRecord> pending_;  ///< this iteration's record of each slot
  DeviceBuffer<unsigned long long> counts_;
  DeviceBuffer<long long> begin_;
  DeviceBuffer<int> s_total_, wide_shift_;
  double* host_scalars_ = nullptr;        ///< pinned: per slot inertia, shift, empty count, spare
  std::int32_t* host_masks_ = nullptr;    ///< pinned: assign mask, update mask, running slots' list
  PhaseTimer timer_;                       ///< FKM_CUDA_TIMING=1: per-phase device times (stderr)
};

/// The results the loop would return, with its callbacks called in its order (see the file
/// comment); throws what the loop would throw first.
std::vector<KMeansResult> batch_results(BatchOutcome& o, const KMeansParams& params, const BatchedFitOptions& options,
                                        std::int64_t problems, std::int64_t n, std::int64_t d) {
  const std::int64_t runs = params.init == Init::Given ? 1 : params.n_init;
  std::vector<KMeansResult> results;
  for (std::int64_t b = 0; b < problems; ++b) {
    for (std::int64_t r = 0; r < runs; ++r) {
      const Slot& slot = o.slots[std::size_t(b * runs + r)];
      for (std::size_t it = 0; it < slot.history.size(); ++it) {
        const IterationRecord& rec = slot.history[it];
        bool go_on = true;
        if (options.on_iteration) {
          const bool plain = !params.on_iteration || params.on_iteration(int(r), int(it), rec);
          go_on = options.on_iteration(b, int(r), int(it), rec) && plain;
        } else if (params.on_iteration) {
          go_on = params.on_iteration(int(r), int(it), rec);
        }
        if (!go_on)
          throw detail::in_problem(
              Error(ErrorCode::Interrupted, "fit interrupted after iteration " + std::to_string(it + 1)), b);
      }
      if (slot.error) throw detail::in_problem(*slot.error, b);
    }
    const std::int64_t best = o.best[std::size_t(b)];
    const Slot& slot = o.slots[std::size_t(best)];
    KMeansResult res;
    res.n = n;
    res.d = d;
    res.k = params.k;
    res.centroids = std::move(o.centroids[std::size_t(b)]);
    res.labels = std::move(o.labels[std::size_t(b)]);
    res.inertia = slot.inertia;
    res.n_iter = int(slot.history.size());
    res.stop_reason = slot.stop_reason;
    res.converged = slot.stop_reason == StopReason::Tolerance;
    res.initial_centroids = slot.initial;
    res.history = slot.history;
    res.best_init = int(best - b * runs);
    res.tol_absolute = o.tol_absolute[std::size_t(b)];
    res.seconds_init = slot.seconds_init;
    res.seconds_total = o.seconds_total / double(problems);
    res.backend = to_string(gpu::kBackendKind);
    res.device = o.device_name;
    results.push_back(std::move(res));
  }
  return results;
}

/// Whether the batch fits the kernels' index types and grid limits.
bool batchable(const BatchedMatrixView& x, const KMeansParams& params) {
  const char* mode = std::getenv("FKM_CUDA_BATCHED");
  if (mode && std::string(mode) == "loop") return false;
  const std::int64_t runs = params.init == Init::Given ? 1 : params.n_init;
  const std::int64_t slots = x.problems * runs;
  return slots <= 65535 && slots * x.rows < INT32_MAX && slots * params.k < INT32_MAX - 1 && x.problems * x.rows < INT32_MAX;
}

}  // namespace

std::vector<KMeansResult> fit_batch_on_gpu(const Backend& backend, const BatchedMatrixView& x, const KMeansParams& params,
                                           const BatchedFitOptions& options) {
  if (!batchable(x, params)) return backend.Backend::fit_batch(x, params, options);
  const int device = x.space == MemorySpace::Device ? x.device : 0;
  int count = 0;
  check(gpu::device_count(&count), "device count");
  if (device < 0 || device >= count) return backend.Backend::fit_batch(x, params, options);  // it names the error
  std::optional<BatchOutcome> outcome;
  try {
    BatchedFit fit(x, params, options, device);
    outcome = fit.run();
  } catch (const RunAsLoop&) {
    return backend.Backend::fit_batch(x, params, options);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::OutOfMemory) throw;
    return backend.Backend::fit_batch(x, params, options);  // the loop needs one problem's memory
  }
  return batch_results(*outcome, params, options, x.problems, x.rows, x.cols);
}

}  // namespace fkm::cuda

#endif  // !__HIP__
