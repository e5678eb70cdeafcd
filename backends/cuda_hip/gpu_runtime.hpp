// The host runtime of the CUDA and HIP backends, one spelling for both: the backend's host code
// (backends/cuda/*.cu) calls gpu::* and compiles unchanged with nvcc (CUDA runtime) and with
// HIP clang (HIP runtime). Only what the backend uses is here; every name is an alias or an
// inline function, so there is no cost and no macro.
#pragma once
#include <cstddef>
#include <string>

#include "fkm/backend.hpp"

#if defined(__HIP__)
#include <hip/hip_runtime.h>
#else
#include <cuda_runtime.h>
#endif

namespace fkm::gpu {

#if defined(__HIP__)
inline constexpr bool kIsHip = true;
inline constexpr const char* kPlatform = "hip";
inline constexpr BackendKind kBackendKind = BackendKind::Hip;
using Status = hipError_t;
using DeviceProp = hipDeviceProp_t;
using MemcpyKind = hipMemcpyKind;
using Stream = hipStream_t;
using Event = hipEvent_t;
inline constexpr Status kSuccess = hipSuccess;
inline constexpr Status kOutOfMemory = hipErrorOutOfMemory;
inline constexpr MemcpyKind kHostToDevice = hipMemcpyHostToDevice;
inline constexpr MemcpyKind kDeviceToHost = hipMemcpyDeviceToHost;
inline constexpr MemcpyKind kDeviceToDevice = hipMemcpyDeviceToDevice;

inline Status last_error() { return hipGetLastError(); }
/// Resets the sticky error state after a failure that was handled.
inline void clear_last_error() { (void)hipGetLastError(); }
inline const char* error_name(Status s) { return hipGetErrorName(s); }
inline const char* error_string(Status s) { return hipGetErrorString(s); }
inline Status device_count(int* n) { return hipGetDeviceCount(n); }
inline Status get_device(int* d) { return hipGetDevice(d); }
inline Status set_device(int d) { return hipSetDevice(d); }
inline Status device_properties(DeviceProp* p, int d) { return hipGetDeviceProperties(p, d); }
inline Status malloc(void** p, std::size_t bytes) { return hipMalloc(p, bytes); }
inline Status free(void* p) { return hipFree(p); }
inline Status mem_info(std::size_t* free_b, std::size_t* total_b) { return hipMemGetInfo(free_b, total_b); }
inline Status memcpy(void* dst, const void* src, std::size_t bytes, MemcpyKind kind) {
  return hipMemcpy(dst, src, bytes, kind);
}
inline Status memcpy_2d(void* dst, std::size_t dpitch, const void* src, std::size_t spitch, std::size_t width,
                        std::size_t rows, MemcpyKind kind) {
  return hipMemcpy2D(dst, dpitch, src, spitch, width, rows, kind);
}
inline Status memset(void* p, int value, std::size_t bytes) { return hipMemset(p, value, bytes); }
inline Status memcpy_async(void* dst, const void* src, std::size_t bytes, MemcpyKind kind, Stream stream = nullptr) {
  return hipMemcpyAsync(dst, src, bytes, kind, stream);
}
inline Status stream_synchronize(Stream stream = nullptr) { return hipStreamSynchronize(stream); }
/// Page-locked host memory (fast, asynchronous copies of a few scalars).
inline Status malloc_host(void** p, std::size_t bytes) { return hipHostMalloc(p, bytes); }
inline Status free_host(void* p) { return hipHostFree(p); }
inline Status event_create(Event* e) { return hipEventCreate(e); }
inline Status event_destroy(Event e) { return hipEventDestroy(e); }
inline Status event_record(Event e, Stream stream = nullptr) { return hipEventRecord(e, stream); }
inline Status event_synchronize(Event e) { return hipEventSynchronize(e); }
inline Status event_elapsed_ms(float* ms, Event start, Event end) { return hipEventElapsedTime(ms, start, end); }
/// An event without timing (cheapest: ordering only, for the copy/compute pipeline).
inline Status event_create_ordering(Event* e) { return hipEventCreateWithFlags(e, hipEventDisableTiming); }
/// A stream that does not synchronise with the legacy default stream (the streaming copies).
inline Status stream_create_nonblocking(Stream* s) { return hipStreamCreateWithFlags(s, hipStreamNonBlocking); }
inline Status stream_destroy(Stream s) { return hipStreamDestroy(s); }
/// Work queued on `stream` after this call waits for `e`.
inline Status stream_wait_event(Stream stream, Event e) { return hipStreamWaitEvent(stream, e, 0); }
/// Page-locks existing host memory (the device then copies from it directly). HIP 5 has no
/// read-only registration: `read_only` registers it as ordinary memory.
inline Status host_register(void* p, std::size_t bytes, bool read_only) {
  (void)read_only;
  return hipHostRegister(p, bytes, hipHostRegisterDefault);
}
inline Status host_unregister(void* p) { return hipHostUnregister(p); }
inline constexpr Status kAlreadyRegistered = hipErrorHostMemoryAlreadyRegistered;
/// Whether host memory at p is page-locked already (allocated pinned, or registered).
inline bool host_is_pinned(const void* p) {
  hipPointerAttribute_t a{};
  const Status s = hipPointerGetAttributes(&a, p);
  if (s != kSuccess) {
    (void)hipGetLastError();
    return false;
  }
  return a.memoryType == hipMemoryTypeHost;
}

/// Where a pointer lives: `device` is the device owning device (or managed) memory, -1 otherwise.
inline Status pointer_device(const void* p, int* device) {
  hipPointerAttribute_t a{};
  const Status s = hipPointerGetAttributes(&a, p);
  *device = (s == kSuccess && (a.memoryType == hipMemoryTypeDevice || a.isManaged)) ? a.device : -1;
  return s;
}

/// Lets `kernel` use `bytes` of dynamic shared memory (LDS).
template <class Kernel>
Status allow_dynamic_shared(Kernel kernel, int bytes) {
  return hipFuncSetAttribute(reinterpret_cast<const void*>(kernel), hipFuncAttributeMaxDynamicSharedMemorySize, bytes);
}

/// The chip's name as the compiler's --offload-arch knows it (gcnArchName without features).
inline std::string arch_name(const DeviceProp& p) {
  const std::string full = p.gcnArchName;
  return full.substr(0, full.find(':'));
}
#else
inline constexpr bool kIsHip = false;
inline constexpr const char* kPlatform = "cuda";
inline constexpr BackendKind kBackendKind = BackendKind::Cuda;
using Status = cudaError_t;
using DeviceProp = cudaDeviceProp;
using MemcpyKind = cudaMemcpyKind;
using Stream = cudaStream_t;
using Event = cudaEvent_t;
inline constexpr Status kSuccess = cudaSuccess;
inline constexpr Status kOutOfMemory = cudaErrorMemoryAllocation;
inline constexpr MemcpyKind kHostToDevice = cudaMemcpyHostToDevice;
inline constexpr MemcpyKind kDeviceToHost = cudaMemcpyDeviceToHost;
inline constexpr MemcpyKind kDeviceToDevice = cudaMemcpyDeviceToDevice;

inline Status last_error() { return cudaGetLastError(); }
/// Resets the sticky error state after a failure that was handled.
inline void clear_last_error() { (void)cudaGetLastError(); }
inline const char* error_name(Status s) { return cudaGetErrorName(s); }
inline const char* error_string(Status s) { return cudaGetErrorString(s); }
inline Status device_count(int* n) { return cudaGetDeviceCount(n); }
inline Status get_device(int* d) { return cudaGetDevice(d); }
inline Status set_device(int d) { return cudaSetDevice(d); }
inline Status device_properties(DeviceProp* p, int d) { return cudaGetDeviceProperties(p, d); }
inline Status malloc(void** p, std::size_t bytes) { return cudaMalloc(p, bytes); }
inline Status free(void* p) { return cudaFree(p); }
inline Status mem_info(std::size_t* free_b, std::size_t* total_b) { return cudaMemGetInfo(free_b, total_b); }
inline Status memcpy(void* dst, const void* src, std::size_t bytes, MemcpyKind kind) {
  return cudaMemcpy(dst, src, bytes, kind);
}
inline Status memcpy_2d(void* dst, std::size_t dpitch, const void* src, std::size_t spitch, std::size_t width,
                        std::size_t rows, MemcpyKind kind) {
  return cudaMemcpy2D(dst, dpitch, src, spitch, width, rows, kind);
}
inline Status memset(void* p, int value, std::size_t bytes) { return cudaMemset(p, value, bytes); }
inline Status memcpy_async(void* dst, const void* src, std::size_t bytes, MemcpyKind kind, Stream stream = nullptr) {
  return cudaMemcpyAsync(dst, src, bytes, kind, stream);
}
inline Status stream_synchronize(Stream stream = nullptr) { return cudaStreamSynchronize(stream); }
/// Page-locked host memory (fast, asynchronous copies of a few scalars).
inline Status malloc_host(void** p, std::size_t bytes) { return cudaMallocHost(p, bytes); }
inline Status free_host(void* p) { return cudaFreeHost(p); }
inline Status event_create(Event* e) { return cudaEventCreate(e); }
inline Status event_destroy(Event e) { return cudaEventDestroy(e); }
inline Status event_record(Event e, Stream stream = nullptr) { return cudaEventRecord(e, stream); }
inline Status event_synchronize(Event e) { return cudaEventSynchronize(e); }
inline Status event_elapsed_ms(float* ms, Event start, Event end) { return cudaEventElapsedTime(ms, start, end); }
/// An event without timing (cheapest: ordering only, for the copy/compute pipeline).
inline Status event_create_ordering(Event* e) { return cudaEventCreateWithFlags(e, cudaEventDisableTiming); }
/// A stream that does not synchronise with the legacy default stream (the streaming copies).
inline Status stream_create_nonblocking(Stream* s) { return cudaStreamCreateWithFlags(s, cudaStreamNonBlocking); }
inline Status stream_destroy(Stream s) { return cudaStreamDestroy(s); }
/// Work queued on `stream` after this call waits for `e`.
inline Status stream_wait_event(Stream stream, Event e) { return cudaStreamWaitEvent(stream, e, 0); }
/// Page-locks existing host memory (the device then copies from it directly); `read_only` for
/// memory mapped read-only (a memory-mapped input file).
inline Status host_register(void* p, std::size_t bytes, bool read_only) {
  return cudaHostRegister(p, bytes, read_only ? cudaHostRegisterReadOnly : cudaHostRegisterDefault);
}
inline Status host_unregister(void* p) { return cudaHostUnregister(p); }
inline constexpr Status kAlreadyRegistered = cudaErrorHostMemoryAlreadyRegistered;
/// Whether host memory at p is page-locked already (allocated pinned, or registered).
inline bool host_is_pinned(const void* p) {
  cudaPointerAttributes a{};
  const Status s = cudaPointerGetAttributes(&a, p);
  if (s != kSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  return a.type == cudaMemoryTypeHost;
}

/// Where a pointer lives: `device` is the device owning device (or managed) memory, -1 otherwise.
inline Status pointer_device(const void* p, int* device) {
  cudaPointerAttributes a{};
  const Status s = cudaPointerGetAttributes(&a, p);
  *device = (s == kSuccess && (a.type == cudaMemoryTypeDevice || a.type == cudaMemoryTypeManaged)) ? a.device : -1;
  return s;
}

/// Lets `kernel` use `bytes` of dynamic shared memory (beyond the default 48 KiB).
template <class Kernel>
Status allow_dynamic_shared(Kernel kernel, int bytes) {
  return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
}

/// The chip's name as the compiler knows it (sm_XY).
inline std::string arch_name(const DeviceProp& p) { return "sm_" + std::to_string(p.major) + std::to_string(p.minor); }
#endif

}  // namespace fkm::gpu
