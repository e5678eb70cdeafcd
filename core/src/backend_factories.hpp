// One accessor per backend. A backend that is not compiled in has a null accessor, so the
// registry lists it with the CMake option that enables it.
#pragma once
#include "fkm/backend.hpp"

namespace fkm::detail {

using BackendAccessor = const Backend* (*)();

const Backend* reference_backend();

#ifdef FKM_WITH_CPU
const Backend* cpu_backend_instance();
constexpr BackendAccessor cpu_backend() { return &cpu_backend_instance; }
#else
constexpr BackendAccessor cpu_backend() { return nullptr; }
#endif

#ifdef FKM_WITH_CUDA
const Backend* cuda_backend_instance();
constexpr BackendAccessor cuda_backend() { return &cuda_backend_instance; }
#else
constexpr BackendAccessor cuda_backend() { return nullptr; }
#endif

#ifdef FKM_WITH_HIP
const Backend* hip_backend_instance();
constexpr BackendAccessor hip_backend() { return &hip_backend_instance; }
#else
constexpr BackendAccessor hip_backend() { return nullptr; }
#endif

#ifdef FKM_WITH_KOKKOS
const Backend* kokkos_backend_instance();
constexpr BackendAccessor kokkos_backend() { return &kokkos_backend_instance; }
#else
constexpr BackendAccessor kokkos_backend() { return nullptr; }
#endif

}  // namespace fkm::detail
