#include "kokkos_runtime.hpp"

#include <cstdlib>
#include <mutex>
#include <thread>
#include <type_traits>

#include "fkm/error.hpp"
#include "kokkos_types.hpp"

#if defined(KOKKOS_ENABLE_CUDA)
#include <cuda_runtime.h>
#endif

namespace fkm::kokkos {
namespace {

void finalize_at_exit() {
  if (Kokkos::is_initialized()) Kokkos::finalize();
}

std::string version_string() {
  return std::to_string(KOKKOS_VERSION / 10000) + "." + std::to_string(KOKKOS_VERSION / 100 % 100) + "." +
         std::to_string(KOKKOS_VERSION % 100);
}

}  // namespace

void ensure_initialized() {
  static std::mutex mutex;
  const std::lock_guard<std::mutex> lock(mutex);
  if (Kokkos::is_initialized()) return;
#if KOKKOS_VERSION >= 40000
  if (Kokkos::is_finalized())
    throw Error(ErrorCode::Unsupported,
                "Kokkos was already finalized in this process; the Kokkos backend cannot re-initialize it");
#endif
#if defined(KOKKOS_ENABLE_CUDA)
  // Kokkos::initialize aborts the process when its GPU is missing: say so with an error instead.
  if (std::is_same<ExecSpace, Kokkos::Cuda>::value) {
    int count = 0;
    const cudaError_t s = cudaGetDeviceCount(&count);
    if (s != cudaSuccess || count == 0) {
      (void)cudaGetLastError();
      throw Error(ErrorCode::Unsupported, std::string("Kokkos was built for Cuda but no CUDA device is usable: ") +
                                              (s != cudaSuccess ? cudaGetErrorString(s) : "no device"));
    }
  }
#endif
  // Kokkos' start-up hints (e.g. "OMP_PROC_BIND not set") are silenced: fkm is a library and
  // its CLI prints only its own messages. Applications wanting them initialise Kokkos first.
#if KOKKOS_VERSION >= 30700
  Kokkos::initialize(Kokkos::InitializationSettings().set_disable_warnings(true));
#else
  Kokkos::InitArguments args;  // replaced by InitializationSettings in Kokkos 3.7
  args.disable_warnings = true;
  Kokkos::initialize(args);
#endif
  std::atexit(finalize_at_exit);
}

std::unique_lock<std::mutex> exclusive_use() {
  static std::mutex mutex;  // function-local: constructed on first use, thread-safely
  return std::unique_lock<std::mutex>(mutex);
}

DeviceInfo describe_device() {
  ensure_initialized();
  DeviceInfo info;
  const std::string space = ExecSpace::name();
  info.name = "Kokkos " + version_string() + " " + space;
  info.arch = space;
  info.compute_units = int(ExecSpace().concurrency());
#if defined(KOKKOS_ENABLE_CUDA)
  if (std::is_same<ExecSpace, Kokkos::Cuda>::value) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, ExecSpace().cuda_device()) == cudaSuccess) {
      info.name += std::string(" on ") + prop.name;
      info.arch = "Cuda sm_" + std::to_string(prop.major) + std::to_string(prop.minor);
      info.memory_bytes = std::int64_t(prop.totalGlobalMem);
      info.compute_units = prop.multiProcessorCount;
    }
    return info;
  }
#endif
  if (kernels_read_host) info.name += " on host (" + std::to_string(info.compute_units) + " threads)";
  return info;
}

int device_ordinal() {
  ensure_initialized();
#if defined(KOKKOS_ENABLE_CUDA)
  if (std::is_same<ExecSpace, Kokkos::Cuda>::value) return ExecSpace().cuda_device();
#endif
  return kernels_read_host ? -1 : 0;
}

void check_device_pointer(const void* data, std::int64_t elements, int device, const char* what) {
  if (elements == 0) return;
  ensure_initialized();
  const std::string prefix = std::string("kokkos backend (") + ExecSpace::name() + "): device_view " + what;
  if (kernels_read_host) throw Error(ErrorCode::Unsupported, prefix + ": this execution space cannot read device memory");
  if (data == nullptr) throw Error(ErrorCode::InvalidData, prefix + " is a null pointer");
#if defined(KOKKOS_ENABLE_CUDA)
  if (std::is_same<ExecSpace, Kokkos::Cuda>::value) {
    const int mine = device_ordinal();
    if (device != mine)
      throw Error(ErrorCode::InvalidData, prefix + " says device " + std::to_string(device) +
                                              ", Kokkos runs on device " + std::to_string(mine));
    cudaPointerAttributes a{};
    if (cudaPointerGetAttributes(&a, data) != cudaSuccess) {
      (void)cudaGetLastError();  // reset the error this query left behind
      throw Error(ErrorCode::InvalidData, prefix + ": CUDA does not know the pointer");
    }
    if (a.type != cudaMemoryTypeDevice && a.type != cudaMemoryTypeManaged)
      throw Error(ErrorCode::InvalidData, prefix + " is not device memory (a host pointer in a device view?)");
    if (a.device != mine)
      throw Error(ErrorCode::InvalidData, prefix + " lives on device " + std::to_string(a.device) +
                                              ", Kokkos runs on device " + std::to_string(mine));
  }
#endif
  (void)device;  // other GPU spaces (HIP, SYCL): the pointer is taken as the view says
}

}  // namespace fkm::kokkos
