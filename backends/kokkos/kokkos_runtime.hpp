// Kokkos' process-wide state, as fkm uses it.
//
// Kokkos must be initialised once per process before any View or kernel, and finalised once
// after the last View is gone. fkm does it lazily: the first use of the Kokkos backend calls
// ensure_initialized(), which
//   - does nothing if the application already initialised Kokkos (fkm then never finalises it:
//     the application owns it, and must keep it initialised while fkm runs);
//   - otherwise calls Kokkos::initialize() with the default settings (threads and device from
//     the usual KOKKOS_* / OMP_* environment variables, Kokkos' start-up warnings silenced) and
//     registers Kokkos::finalize() with std::atexit, so it runs once at normal process exit.
// KMeansParams::num_threads does not apply: Kokkos fixes its thread count at initialisation
// (set KOKKOS_NUM_THREADS / OMP_NUM_THREADS, or initialise Kokkos before using fkm).
// It is thread safe. If Kokkos was already finalised (Kokkos 4 can tell), it throws
// Error(Unsupported) instead of re-initialising, which Kokkos forbids.
//
// Kokkos' execution space is shared by every host thread of the process, so fkm's Kokkos work
// takes turns: exclusive_use() is the one process-wide lock that every operation of a Kokkos
// Problem holds (locked_problem.hpp says why a lock and not an instance per fit).
#pragma once
#include <mutex>
#include <cstdint>
#include <string>

#include "fkm/backend.hpp"

namespace fkm::kokkos {

void ensure_initialized();

/// Holds the process-wide lock of fkm's Kokkos work until the returned lock goes out of scope.
/// Not recursive: take it once per operation.
std::unique_lock<std::mutex> exclusive_use();

/// The execution space and the device it runs on, e.g. "Kokkos Serial on host".
DeviceInfo describe_device();

/// The ordinal of the GPU Kokkos runs on (what a device view's `device` must say); 0 on GPU
/// spaces other than Cuda, -1 on host execution spaces.
int device_ordinal();

/// Checks a device view's pointer before kernels read it: on Kokkos-Cuda, that `data` is
/// device (or managed) memory of the GPU Kokkos runs on and that the view's `device` ordinal
/// says that GPU; otherwise throws Error(InvalidData) naming `what` and the problem (other GPU
/// spaces take the pointer as given; host spaces throw Error(Unsupported)). Nothing to check
/// when `elements` = 0.
void check_device_pointer(const void* data, std::int64_t elements, int device, const char* what);

}  // namespace fkm::kokkos
