// The compiled backends, and how `Auto` chooses among them.
#include <string>

#include "fkm/backend.hpp"
#include "fkm/error.hpp"
#include "backend_factories.hpp"

#ifndef FKM_VERSION_STRING
#define FKM_VERSION_STRING "0.0.0"
#endif

namespace fkm {
namespace {

struct Known {
  BackendKind kind;
  const char* cmake_option;
  const Backend* (*factory)();  // nullptr when not compiled in
};

// Order = preference of Auto.
const Known kKnown[] = {
    {BackendKind::Cuda, "FKM_ENABLE_CUDA", detail::cuda_backend()},
    {BackendKind::Hip, "FKM_ENABLE_HIP", detail::hip_backend()},
    {BackendKind::Kokkos, "FKM_ENABLE_KOKKOS", detail::kokkos_backend()},
    {BackendKind::Cpu, "FKM_ENABLE_CPU", detail::cpu_backend()},
    {BackendKind::Reference, "(always built)", &detail::reference_backend},
};

bool compiled_in(BackendKind kind) {
  for (const Known& k : kKnown)
    if (k.kind == kind) return k.factory != nullptr;
  return false;
}

}  // namespace

const char* version() noexcept { return FKM_VERSION_STRING; }

std::vector<BackendStatus> list_backends() {
  std::vector<BackendStatus> out;
  for (const Known& k : kKnown) {
    BackendStatus s;
    s.kind = k.kind;
    s.name = to_string(k.kind);
    s.cmake_option = k.cmake_option;
    s.compiled = k.factory != nullptr;
    if (s.compiled) s.devices = k.factory()->devices();
    out.push_back(std::move(s));
  }
  return out;
}

const Backend& select_backend(BackendKind requested, MemorySpace space) {
  for (const Known& k : kKnown) {
    if (requested == BackendKind::Auto) {
      // Auto never picks the reference oracle unless nothing else is compiled in.
      if (k.factory == nullptr || (k.kind == BackendKind::Reference && space == MemorySpace::Device)) continue;
      const Backend& b = *k.factory();
      // Kokkos on a host execution space (Serial, OpenMP) is the portable path and slower than
      // the CPU backend: Auto takes it there only when the CPU backend is not compiled in.
      if (k.kind == BackendKind::Kokkos && !b.accepts(MemorySpace::Device) && compiled_in(BackendKind::Cpu)) continue;
      if (b.accepts(space) && !b.devices().empty()) return b;
      continue;
    }
    if (k.kind != requested) continue;
    if (k.factory == nullptr)
      throw Error(ErrorCode::Unsupported, std::string("backend '") + to_string(k.kind) +
                                              "' is not compiled into this fkm; rebuild with -D" + k.cmake_option + "=ON");
    const Backend& b = *k.factory();
    if (!b.accepts(space))
      throw Error(ErrorCode::Unsupported, std::string("backend '") + to_string(k.kind) + "' cannot use " +
                                              (space == MemorySpace::Device ? "device" : "host") + " memory views");
    if (b.devices().empty())
      throw Error(ErrorCode::Unsupported, std::string("backend '") + to_string(k.kind) + "' found no usable device");
    return b;
  }
  throw Error(ErrorCode::Unsupported, std::string("no compiled backend accepts ") +
                                          (space == MemorySpace::Device ? "device" : "host") + " memory views");
}

}  // namespace fkm
