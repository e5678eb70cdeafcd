// Cache sizes of this CPU, queried at run time, and the block sizes of the score kernel
// derived from them.
#pragma once
#include <cstdint>

namespace fkm::cpu {

struct CacheSizes {
  std::int64_t l1d = 32 * 1024;   ///< per core
  std::int64_t l2 = 512 * 1024;   ///< per core (what one thread may fill)
};

/// sysconf, then /sys/devices/system/cpu/cpu0/cache, then the defaults above.
CacheSizes cache_sizes();

/// Block sizes of the score kernel. Neither changes any result (the dot products are summed in
/// feature order whatever the blocking): they only decide what stays in which cache.
struct Tiling {
  std::int64_t block_rows = 6;   ///< rows packed per block: the block ([rows x D]) stays in L2
  std::int64_t depth_chunk = 1;  ///< features per pass: one centroid panel chunk ([chunk x W]) stays in L1
};

/// Tiling for rows of d values of elem_bytes bytes against panels of panel_width centroids.
Tiling choose_tiling(const CacheSizes& caches, std::int64_t d, std::int64_t elem_bytes, std::int64_t panel_width,
                     std::int64_t micro_rows);

}  // namespace fkm::cpu
