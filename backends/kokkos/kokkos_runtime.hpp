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
#include <string>

#include "fkm/backend.hpp"

namespace fkm::kokkos {

void ensure_initialized();

/// Holds the process-wide lock of fkm's Kokkos work until the returned lock goes out of scope.
/// Not recursive: take it once per operation.
std::unique_lock<std::mutex> exclusive_use();

/// The execution space and the device it runs on, e.g. "Kokkos Serial on host".
DeviceInfo describe_device();

}  // namespace fkm::kokkos
