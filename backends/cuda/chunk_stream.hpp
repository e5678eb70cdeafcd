// The copy/compute pipeline of out-of-core fits: host rows go through pinned staging buffers
// onto the device a chunk at a time. Copies run on their own (non-blocking) stream, compute on
// the legacy default stream where every kernel of the backend already runs; an event per buffer
// orders them: chunk c's compute waits for chunk c's copy, and chunk c's buffers are refilled
// (chunk c + buffers) only after its compute is done. With 3 buffers the host fills chunk c
// while the GPU copies chunk c - 1 and computes chunk c - 2. Only gpu::* runtime calls (the HIP
// backend compiles this unchanged).
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../cuda_hip/gpu_runtime.hpp"
#include "device_buffer.hpp"

namespace fkm::cuda {

/// `count` T of page-locked host memory (the device copies from and to it asynchronously).
template <class T>
class PinnedArray {
 public:
  PinnedArray() = default;
  PinnedArray(const PinnedArray&) = delete;
  PinnedArray& operator=(const PinnedArray&) = delete;
  ~PinnedArray() { release(); }
  void allocate(std::int64_t count, const char* what) {
    release();
    void* p = nullptr;
    const std::size_t bytes = std::size_t(std::max<std::int64_t>(count, 1)) * sizeof(T);
    if (gpu::malloc_host(&p, bytes) != gpu::kSuccess) {
      gpu::clear_last_error();
      throw Error(ErrorCode::OutOfMemory, std::string(gpu::kPlatform) + ": cannot allocate " + std::to_string(bytes) +
                                              " bytes of page-locked host memory for " + what);
    }
    ptr_ = static_cast<T*>(p);
    count_ = count;
  }
  void release() noexcept {
    if (ptr_) (void)gpu::free_host(ptr_);
    ptr_ = nullptr;
    count_ = 0;
  }
  T* get() const { return ptr_; }
  std::int64_t size() const { return count_; }

 private:
  T* ptr_ = nullptr;
  std::int64_t count_ = 0;
};

/// The caller's rows page-locked in place for the fit (unregistered at the end), so the DMA
/// engine reads them directly: no host copy at all, the bus's full speed. Tried first when the
/// rows are already in the device layout (16-byte rows, no padding); when the memory cannot be
/// locked (limits, a mapping the driver refuses) the rows go through the staging buffers.
class HostRegistration {
 public:
  HostRegistration() = default;
  HostRegistration(const HostRegistration&) = delete;
  HostRegistration& operator=(const HostRegistration&) = delete;
  ~HostRegistration() {
    if (ours_) (void)gpu::host_unregister(base_);
  }
  /// Locks [p, p + bytes) (whole pages); true when it is page-locked now (by us or before).
  bool lock(const void* p, std::size_t bytes) {
    if (gpu::host_is_pinned(p)) return usable_ = true;
    const std::uintptr_t page = 4096, start = reinterpret_cast<std::uintptr_t>(p) / page * page;
    const std::uintptr_t end = (reinterpret_cast<std::uintptr_t>(p) + bytes + page - 1) / page * page;
    void* base = reinterpret_cast<void*>(start);
    for (bool read_only : {false, true}) {  // read-only: a memory-mapped input file
      const gpu::Status s = gpu::host_register(base, std::size_t(end - start), read_only);
      if (s == gpu::kSuccess) {
        base_ = base;
        ours_ = true;
        return usable_ = true;
      }
      gpu::clear_last_error();
      if (s == gpu::kAlreadyRegistered) break;  // partly locked by someone else: stage instead
    }
    return usable_ = false;
  }
  bool usable() const { return usable_; }

 private:
  void* base_ = nullptr;
  bool ours_ = false, usable_ = false;
};

/// Host threads kept for the staging copies (one memcpy does not keep up with a PCIe 5 DMA
/// engine, and starting threads per chunk would cost more than a small chunk's copy).
class CopyPool {
 public:
  explicit CopyPool(int threads) : threads_(std::max(1, threads)) {
    for (int i = 1; i < threads_; ++i) workers_.emplace_back([this] { serve(); });
  }
  CopyPool(const CopyPool&) = delete;
  CopyPool& operator=(const CopyPool&) = delete;
  ~CopyPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      ++generation_;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }
  int threads() const { return threads_; }

  /// Runs f(part) for every part in [0, parts) on the pool and the calling thread; returns when
  /// all are done.
  void run(int parts, const std::function<void(int)>& f) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &f;
      parts_ = parts;
      next_ = 0;
      pending_ = parts;
      ++generation_;
    }
    wake_.notify_all();
    work();
    std::unique_lock<std::mutex> lock(mutex_);
    finished_.wait(lock, [&] { return pending_ == 0; });
    job_ = nullptr;
  }

 private:
  void work() {
    for (;;) {
      int part;
      const std::function<void(int)>* job;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!job_ || next_ >= parts_) return;
        part = next_++;
        job = job_;
      }
      (*job)(part);
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ == 0) finished_.notify_all();
    }
  }
  void serve() {
    std::uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      work();
    }
  }

  int threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, finished_;
  const std::function<void(int)>* job_ = nullptr;
  int parts_ = 0, next_ = 0, pending_ = 0;
  std::uint64_t generation_ = 0;
  bool stop_ = false;
};

/// Copies `rows` rows of `row_bytes` from src (pitch src_pitch) to dst (pitch dst_pitch, the
/// bytes past row_bytes zeroed: the kernels load whole 16-byte words), split over the pool.
inline void copy_rows_parallel(unsigned char* dst, std::int64_t dst_pitch, const unsigned char* src, std::int64_t src_pitch,
                               std::int64_t row_bytes, std::int64_t rows, CopyPool& pool) {
  auto part = [=](std::int64_t r0, std::int64_t r1) {
    if (dst_pitch == src_pitch && dst_pitch == row_bytes) {
      std::memcpy(dst + r0 * dst_pitch, src + r0 * src_pitch, std::size_t((r1 - r0) * row_bytes));
      return;
    }
    for (std::int64_t r = r0; r < r1; ++r) {
      std::memcpy(dst + r * dst_pitch, src + r * src_pitch, std::size_t(row_bytes));
      if (dst_pitch > row_bytes) std::memset(dst + r * dst_pitch + row_bytes, 0, std::size_t(dst_pitch - row_bytes));
    }
  };
  const std::int64_t bytes = rows * dst_pitch;
  const int t = int(std::max<std::int64_t>(1, std::min<std::int64_t>(pool.threads(), bytes / (2 << 20))));  // >= 2 MiB each
  if (t <= 1) return part(0, rows);
  const std::int64_t per = (rows + t - 1) / t;
  pool.run(t, [&](int i) {
    const std::int64_t r0 = std::min(rows, i * per), r1 = std::min(rows, r0 + per);
    if (r0 < r1) part(r0, r1);
  });
}

/// The staging buffers, their device twins and the copy stream.
class ChunkStream {
 public:
  /// One buffer of the pipeline: the rows of one chunk in flight.
  struct Slot {
    unsigned char* staged = nullptr;  ///< pinned: the chunk's rows in the device layout
    DeviceBuffer<unsigned char> x;
    DeviceBuffer<double> weights, dist;
    DeviceBuffer<std::int32_t> labels;
    gpu::Event copied{}, done{};
    bool busy = false;  ///< `done` was recorded and not yet waited for
  };

  /// `buffers` slots of `rows` rows of `row_bytes` (device layout) each, with weights when
  /// `weighted`; device memory from `budget`.
  ChunkStream(int buffers, std::int64_t rows, std::int64_t row_bytes, bool weighted, bool staged, MemoryBudget* budget)
      : rows_(rows),
        row_bytes_(row_bytes),
        slots_(std::size_t(buffers)) {
    // memory first (what may fail for want of it), then the stream and events, which the
    // destructor only releases once the constructor has finished
    for (std::size_t s = 0; s < slots_.size(); ++s) {
      Slot& slot = slots_[s];
      slot.x.allocate(rows * row_bytes, "a streamed chunk of data", budget);
      if (weighted) slot.weights.allocate(rows, "a streamed chunk's weights", budget);
      slot.dist.allocate(rows, "a streamed chunk's distances", budget);
      slot.labels.allocate(rows, "a streamed chunk's labels", budget);
    }
    if (staged) {  // else the rows are copied from page-locked memory directly
      pool_ = std::make_unique<CopyPool>(int(std::max(1u, std::min(12u, std::thread::hardware_concurrency() * 3 / 4))));
      staging_.allocate(std::int64_t(buffers) * rows * row_bytes, "the streaming staging buffers");
      for (std::size_t s = 0; s < slots_.size(); ++s) slots_[s].staged = staging_.get() + std::int64_t(s) * rows * row_bytes;
    }
    try {
      check(gpu::stream_create_nonblocking(&copy_), "stream create");
      for (Slot& slot : slots_) {
        check(gpu::event_create_ordering(&slot.copied), "event create");
        check(gpu::event_create_ordering(&slot.done), "event create");
      }
    } catch (...) {
      release_events();
      throw;
    }
  }
  ChunkStream(const ChunkStream&) = delete;
  ChunkStream& operator=(const ChunkStream&) = delete;
  ~ChunkStream() {
    drain();  // no copy may still read a staging buffer or write a slot when they are freed
    release_events();
  }

  std::int64_t rows() const { return rows_; }
  int buffers() const { return int(slots_.size()); }
  int host_threads() const { return pool_ ? pool_->threads() : 0; }
  gpu::Stream copy_stream() const { return copy_; }

  /// For c in [0, chunks): slot = buffer c % buffers, once chunk c - buffers is done with it;
  /// fill(c, slot) on the host (the staging buffer), upload(c, slot, copy stream) queues the
  /// copies, compute(c, slot) queues the work on the default stream after them. Returns when
  /// everything queued has finished. On an exception, waits for the work in flight, rethrows.
  template <class Fill, class Upload, class Compute>
  void sweep(std::int64_t chunks, Fill&& fill, Upload&& upload, Compute&& compute) {
    try {
      for (std::int64_t c = 0; c < chunks; ++c) {
        Slot& slot = slots_[std::size_t(c % std::int64_t(slots_.size()))];
        if (slot.busy) {
          check(gpu::event_synchronize(slot.done), "event synchronize");
          slot.busy = false;
        }
        fill(c, slot);
        upload(c, slot, copy_);
        check(gpu::event_record(slot.copied, copy_), "event record");
        check(gpu::stream_wait_event(nullptr, slot.copied), "stream wait event");
        compute(c, slot);
        check(gpu::event_record(slot.done, nullptr), "event record");
        slot.busy = true;
      }
      finish();
    } catch (...) {
      drain();
      throw;
    }
  }

  /// Fills `slot`'s staging buffer with rows [r0, r0 + count) of a host matrix.
  void stage_rows(Slot& slot, const unsigned char* host, std::int64_t host_pitch, std::int64_t row_bytes,
                  std::int64_t r0, std::int64_t count) const {
    copy_rows_parallel(slot.staged, row_bytes_, host + r0 * host_pitch, host_pitch, row_bytes, count, *pool_);
  }

 private:
  void finish() {
    check(gpu::stream_synchronize(copy_), "stream synchronize");
    check(gpu::stream_synchronize(nullptr), "stream synchronize");
    for (Slot& s : slots_) s.busy = false;
  }
  void release_events() noexcept {
    for (Slot& s : slots_) {
      if (s.copied) (void)gpu::event_destroy(s.copied);
      if (s.done) (void)gpu::event_destroy(s.done);
      s.copied = s.done = gpu::Event{};
    }
    if (copy_) (void)gpu::stream_destroy(copy_);
    copy_ = gpu::Stream{};
  }
  void drain() noexcept {
    if (copy_) (void)gpu::stream_synchronize(copy_);
    (void)gpu::stream_synchronize(nullptr);
    gpu::clear_last_error();
    for (Slot& s : slots_) s.busy = false;
  }

  std::int64_t rows_, row_bytes_;
  PinnedArray<unsigned char> staging_;
  std::vector<Slot> slots_;
  gpu::Stream copy_{};
  std::unique_ptr<CopyPool> pool_;  ///< staged only
};

}  // namespace fkm::cuda
