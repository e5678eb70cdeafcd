// CUDA error checking and owned device memory. Every runtime call goes through check(); an
// allocation that fails becomes fkm::Error(OutOfMemory) naming the bytes asked for and free.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "../cuda_hip/gpu_runtime.hpp"
#include "fkm/error.hpp"

namespace fkm::cuda {

/// Throws Error(Internal) naming the failed call when `status` is not gpu::kSuccess.
inline void check(gpu::Status status, const char* what) {
  if (status == gpu::kSuccess) return;
  gpu::clear_last_error();  // clear a sticky-free error so later calls are not blamed for it
  throw Error(ErrorCode::Internal, (std::string(gpu::kPlatform) + ": ") + what + " failed: " + gpu::error_name(status) + " (" +
                                       gpu::error_string(status) + ")");
}

/// Checks the last kernel launch.
inline void check_launch(const char* kernel) { check(gpu::last_error(), kernel); }

/// Device bytes one Problem may still take (max_device_bytes; 0 = no limit of its own).
class MemoryBudget {
 public:
  explicit MemoryBudget(std::int64_t limit) : limit_(limit) {}
  void take(std::int64_t bytes, const char* what) {
    if (limit_ > 0 && used_ + bytes > limit_)
      throw Error(ErrorCode::OutOfMemory, (std::string(gpu::kPlatform) + ": ") + what + " needs " + std::to_string(bytes) +
                                              " bytes of device memory but max_device_bytes = " + std::to_string(limit_) +
                                              " and " + std::to_string(used_) + " bytes are already in use");
    used_ += bytes;
  }
  void give(std::int64_t bytes) { used_ -= bytes; }

 private:
  std::int64_t limit_, used_ = 0;
};

/// An owned array of `count` T on the current device; never copied, moved freely.
template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(std::int64_t count, const char* what, MemoryBudget* budget = nullptr) { allocate(count, what, budget); }
  ~DeviceBuffer() { release(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept { *this = std::move(o); }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      release();
      std::swap(ptr_, o.ptr_);
      std::swap(count_, o.count_);
      std::swap(budget_, o.budget_);
    }
    return *this;
  }

  /// (Re)allocates for at least `count` elements; keeps the old memory when it is big enough.
  void allocate(std::int64_t count, const char* what, MemoryBudget* budget = nullptr) {
    if (count <= count_ && ptr_) return;
    release();
    const std::int64_t bytes = std::max<std::int64_t>(count, 1) * std::int64_t(sizeof(T));
    if (budget) budget->take(bytes, what);
    void* p = nullptr;
    const gpu::Status status = gpu::malloc(&p, std::size_t(bytes));
    if (status != gpu::kSuccess) {
      gpu::clear_last_error();
      if (budget) budget->give(bytes);
      std::size_t free_b = 0, total_b = 0;
      (void)gpu::mem_info(&free_b, &total_b);
      if (status == gpu::kOutOfMemory)
        throw Error(ErrorCode::OutOfMemory, (std::string(gpu::kPlatform) + ": out of device memory allocating ") + what + ": needs " +
                                                std::to_string(bytes) + " bytes, " + std::to_string(free_b) + " of " +
                                                std::to_string(total_b) + " bytes are free");
      check(status, "device malloc");
    }
    ptr_ = static_cast<T*>(p);
    count_ = count;
    budget_ = budget;
  }
  void release() noexcept {
    if (ptr_) {
      (void)gpu::free(ptr_);
      if (budget_) budget_->give(std::max<std::int64_t>(count_, 1) * std::int64_t(sizeof(T)));
    }
    ptr_ = nullptr;
    count_ = 0;
    budget_ = nullptr;
  }

  T* get() const { return ptr_; }
  std::int64_t size() const { return count_; }

 private:
  T* ptr_ = nullptr;
  std::int64_t count_ = 0;
  MemoryBudget* budget_ = nullptr;
};

}  // namespace fkm::cuda
