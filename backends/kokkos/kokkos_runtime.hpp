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
#pragma once
#include <string>

#include "fkm/backend.hpp"

namespace fkm::kokkos {

void ensure_initialized();

/// The execution space and the device it runs on, e.g. "Kokkos Serial on host".
DeviceInfo describe_device();

}  // namespace fkm::kokkos
