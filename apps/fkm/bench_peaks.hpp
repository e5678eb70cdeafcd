// The host's arithmetic and memory ceilings, measured (fkm bench's roofline floor).
#pragma once
#include <string>

namespace fkm::cli {

struct HostPeaks {
  double flops = 0;             ///< fp32 FMA rate of all threads, flop/s
  double bytes_per_second = 0;  ///< streaming read rate of all threads
  std::string isa;              ///< the vector width the FMA rate was measured with
};

/// A fraction of a second: independent FMA chains in registers on every thread (the widest of
/// AVX-512F, AVX2+FMA and plain C++ that this CPU runs), and a sum over a 256 MiB buffer; each
/// the best of `repeats` timings (more repeats ride out a slow clock ramp or a busy core).
HostPeaks measure_host_peaks(int threads, int repeats = 3);

}  // namespace fkm::cli
