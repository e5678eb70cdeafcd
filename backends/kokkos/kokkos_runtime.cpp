#include "kokkos_runtime.hpp"

#include <cstdlib>
#include <mutex>
#include <thread>

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

}  // namespace fkm::kokkos
