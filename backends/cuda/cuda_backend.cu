// The CUDA backend: device discovery and binding. Registered in core/src/registry.cpp.
// Compiled as HIP (backends/hip) the same source is the HIP backend.

#include <algorithm>
#include <string>

#include "../../core/src/backend_factories.hpp"
#include "cuda_problem.hpp"
#include "../cuda_hip/gpu_runtime.hpp"
#include "device_buffer.hpp"

namespace fkm::cuda {
namespace {

/// Whether this library holds kernels for the device: sm_80 and newer on CUDA (built for 80 and
/// 90a, PTX JIT covers later chips); on HIP, one of the FKM_HIP_ARCHITECTURES it was built for
/// (an AMD code object runs only on its own architecture); FKM_HIP_ARCHITECTURE_LIST is
/// that list, comma separated.
bool compiled_for(const gpu::DeviceProp& p) {
#if defined(__HIP__)
  const std::string arch = gpu::arch_name(p), built = FKM_HIP_ARCHITECTURE_LIST;
  std::size_t start = 0;
  while (start <= built.size()) {
    const std::size_t end = std::min(built.find(',', start), built.size());
    if (built.compare(start, end - start, arch) == 0) return true;
    start = end + 1;
  }
  return false;
#else
  return p.major >= 8;
#endif
}

class CudaBackend final : public Backend {
 public:
  BackendKind kind() const override { return gpu::kBackendKind; }
  std::string name() const override { return gpu::kPlatform; }

  std::vector<DeviceInfo> devices() const override {
    std::vector<DeviceInfo> out;
    int count = 0;
    if (gpu::device_count(&count) != gpu::kSuccess) {
      gpu::clear_last_error();  // no driver or no device: the backend is compiled in but cannot run
      return out;
    }
    for (int dev = 0; dev < count; ++dev) {
      gpu::DeviceProp p{};
      if (gpu::device_properties(&p, dev) != gpu::kSuccess) {
        gpu::clear_last_error();
        continue;
      }
      if (!compiled_for(p)) continue;
      DeviceInfo info;
      info.name = p.name;
      info.arch = gpu::arch_name(p);
      info.memory_bytes = std::int64_t(p.totalGlobalMem);
      info.compute_units = p.multiProcessorCount;
      out.push_back(info);
    }
    return out;
  }

  bool accepts(MemorySpace) const override { return true; }

  std::unique_ptr<Problem> bind(const ProblemSpec& spec) const override {
    // Device data stay on their device; host data go to spec.device (a distributed fit gives each
    // process of a node its own GPU), device 0 by default.
    const int device = spec.x.space == MemorySpace::Device ? spec.x.device : std::max(0, spec.device);
    int count = 0;
    check(gpu::device_count(&count), "device count");
    if (device < 0 || device >= count)
      throw Error(ErrorCode::InvalidArgument, std::string(gpu::kPlatform) + ": device " + std::to_string(device) + " does not exist (" +
                                                  std::to_string(count) + " " + gpu::kPlatform + " devices)");
    return make_cuda_problem(spec, device);
  }
};

}  // namespace
}  // namespace fkm::cuda

namespace fkm::detail {
// The registry's accessor for this platform (core/src/backend_factories.hpp).
#if defined(__HIP__)
const Backend* hip_backend_instance() {
#else
const Backend* cuda_backend_instance() {
#endif
  static const cuda::CudaBackend instance;
  return &instance;
}
}  // namespace fkm::detail
