// The CUDA backend: device discovery and binding. Registered in core/src/registry.cpp.
#include <cuda_runtime.h>

#include <string>

#include "../../core/src/backend_factories.hpp"
#include "cuda_problem.hpp"
#include "device_buffer.hpp"

namespace fkm::cuda {
namespace {

class CudaBackend final : public Backend {
 public:
  BackendKind kind() const override { return BackendKind::Cuda; }
  std::string name() const override { return "cuda"; }

  std::vector<DeviceInfo> devices() const override {
    std::vector<DeviceInfo> out;
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
      cudaGetLastError();  // no driver or no device: the backend is compiled in but cannot run
      return out;
    }
    for (int dev = 0; dev < count; ++dev) {
      cudaDeviceProp p{};
      if (cudaGetDeviceProperties(&p, dev) != cudaSuccess) {
        cudaGetLastError();
        continue;
      }
      if (p.major < 8) continue;  // built for sm_80 and newer only
      DeviceInfo info;
      info.name = p.name;
      info.arch = "sm_" + std::to_string(p.major) + std::to_string(p.minor);
      info.memory_bytes = std::int64_t(p.totalGlobalMem);
      info.compute_units = p.multiProcessorCount;
      out.push_back(info);
    }
    return out;
  }

  bool accepts(MemorySpace) const override { return true; }

  std::unique_ptr<Problem> bind(const ProblemSpec& spec) const override {
    const int device = spec.x.space == MemorySpace::Device ? spec.x.device : 0;
    int count = 0;
    check(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
    if (device < 0 || device >= count)
      throw Error(ErrorCode::InvalidArgument, "cuda: device " + std::to_string(device) + " does not exist (" +
                                                  std::to_string(count) + " CUDA devices)");
    return make_cuda_problem(spec, device);
  }
};

}  // namespace
}  // namespace fkm::cuda

namespace fkm::detail {
const Backend* cuda_backend_instance() {
  static const cuda::CudaBackend instance;
  return &instance;
}
}  // namespace fkm::detail
