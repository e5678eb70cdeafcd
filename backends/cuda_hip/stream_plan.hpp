// Resident or streamed, and how big the chunks are: the device-memory plan of the CUDA and HIP
// backends (plain C++: no runtime calls, so it is the same on both platforms).
//
// A host view whose resident layout (data, per-row arrays, centroid state) does not fit the
// device budget is streamed: only the centroid state, the per-cluster sums and counts, per-block
// partial sums and one chunk's scratch stay on the device, and the rows travel through `buffers`
// pinned staging buffers, a chunk at a time. The chunk size is the IO-aware choice of the
// Flash-KMeans paper: a pass over the data costs about
//     chunks * overhead + N * max(copy, compute) + rows * (copy + compute)
// (per-chunk launches and synchronisation; the steady state, where copies hide behind compute
// or the other way round; filling and draining the pipeline), where copy = bytes per row / H2D
// bandwidth and compute = 1 / assignment rate per row. It is smallest at
//     rows* = sqrt(N * overhead / (copy + compute)),
// clamped to what the budget holds and rounded to whole reduction blocks (kRowQuantum).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "fkm/error.hpp"
#include "fkm/kmeans.hpp"

namespace fkm::gpu {

/// Chunks start at multiples of this many rows: every fixed-order reduction of the backend works
/// in blocks of at most 4096 rows aligned to multiples of their size, so a chunk boundary never
/// splits a block and the streamed partial sums are the resident ones, bit for bit.
inline constexpr std::int64_t kRowQuantum = 4096;
/// Per-chunk cost that does not scale with its rows (a dozen launches, events, the host fill's
/// thread start-up): what makes very small chunks slow.
inline constexpr double kChunkOverheadSeconds = 150e-6;

/// Device bytes of the two layouts (from the backend: it knows its arrays).
struct PlacementCosts {
  std::int64_t n = 0;
  std::int64_t resident_bytes = 0;        ///< everything resident
  std::int64_t streamed_fixed_bytes = 0;  ///< streamed, independent of the chunk size
  std::int64_t streamed_row_bytes = 0;    ///< streamed, per row of chunk capacity (all buffers)
  std::int64_t copy_row_bytes = 0;        ///< host-to-device bytes per row in one assignment pass
};

struct PlacementRequest {
  std::int64_t budget_bytes = 0;       ///< device bytes the problem may use
  std::int64_t cap_bytes = 0;          ///< max_device_bytes (0: none; budget from free memory)
  std::int64_t chunk_rows = 0;         ///< stream_chunk_rows (0: auto)
  bool can_stream = true;              ///< host views only: device views are already resident
  double h2d_bytes_per_second = 0;     ///< measured (only needed when streaming)
  double assign_rows_per_second = 0;   ///< modelled from the kernel's rate
  int buffers = 3;
};

inline std::int64_t round_up_rows(std::int64_t v, std::int64_t m) { return (v + m - 1) / m * m; }

/// The smallest budget that can stream at all: the fixed part and one quantum of rows.
inline std::int64_t minimum_streaming_bytes(const PlacementCosts& c) {
  return c.streamed_fixed_bytes + kRowQuantum * c.streamed_row_bytes;
}

/// The chunk rows rows* above, for `n` rows (before the budget's clamp).
inline std::int64_t io_aware_chunk_rows(std::int64_t n, const PlacementCosts& c, double h2d, double rate) {
  const double copy = h2d > 0 ? double(c.copy_row_bytes) / h2d : 0.0;
  const double compute = rate > 0 ? 1.0 / rate : 0.0;
  const double per_row = std::max(copy + compute, 1e-12);
  return std::int64_t(std::sqrt(double(n) * kChunkOverheadSeconds / per_row));
}

/// Chooses the placement. Throws Error(OutOfMemory) naming the minimum when even streaming does
/// not fit (or when the data must stay resident and does not fit).
inline DataPlacement plan_placement(const PlacementCosts& c, const PlacementRequest& r, const char* platform) {
  DataPlacement p;
  p.device_budget_bytes = r.budget_bytes;
  p.device_bytes_needed = c.resident_bytes;
  const bool forced = r.chunk_rows > 0 && r.can_stream;
  if (!forced && c.resident_bytes <= r.budget_bytes) return p;
  const std::string who = std::string(platform) + ": ";
  const std::string limit = r.cap_bytes > 0 ? "max_device_bytes = " + std::to_string(r.cap_bytes)
                                            : "the free device memory (" + std::to_string(r.budget_bytes) + " bytes usable)";
  if (!r.can_stream)
    throw Error(ErrorCode::OutOfMemory, who + "the data needs " + std::to_string(c.resident_bytes) +
                                            " bytes of device memory but " + limit +
                                            " is smaller; a device view cannot be streamed (pass a host view)");
  const std::int64_t minimum = minimum_streaming_bytes(c);
  if (r.budget_bytes < minimum)
    throw Error(ErrorCode::OutOfMemory, who + limit + " is too small: the centroids, per-cluster sums and counts and one " +
                                            std::to_string(kRowQuantum) + "-row streaming chunk need at least " +
                                            std::to_string(minimum) + " bytes (the resident layout needs " +
                                            std::to_string(c.resident_bytes) + ")");
  const std::int64_t most = (r.budget_bytes - c.streamed_fixed_bytes) / c.streamed_row_bytes / kRowQuantum * kRowQuantum;
  const std::int64_t all = round_up_rows(c.n, kRowQuantum);
  std::int64_t rows;
  if (forced) {
    rows = round_up_rows(r.chunk_rows, kRowQuantum);
    p.chunk_choice = "stream_chunk_rows";
  } else {
    rows = round_up_rows(io_aware_chunk_rows(c.n, c, r.h2d_bytes_per_second, r.assign_rows_per_second), kRowQuantum);
    p.chunk_choice = "auto";
  }
  rows = std::max(kRowQuantum, std::min({rows, most, all}));
  p.streamed = true;
  p.chunk_rows = rows;
  p.chunks = (c.n + rows - 1) / rows;
  p.buffers = r.buffers;
  p.h2d_bytes_per_second = r.h2d_bytes_per_second;
  p.assign_rows_per_second = r.assign_rows_per_second;
  return p;
}

}  // namespace fkm::gpu
