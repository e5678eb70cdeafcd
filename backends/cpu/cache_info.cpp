#include "cache_info.hpp"

#include <unistd.h>

#include "point_tiles.hpp"

#include <algorithm>
#include <fstream>
#include <string>

namespace fkm::cpu {
namespace {

/// "32K", "512K", "32M" or a plain byte count, as /sys writes cache sizes; 0 if unreadable.
std::int64_t sysfs_cache_bytes(int index) {
  std::ifstream in("/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/size");
  std::string s;
  if (!(in >> s) || s.empty()) return 0;
  std::int64_t v = 0;
  std::size_t pos = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') v = v * 10 + (s[pos++] - '0');
  if (pos < s.size() && (s[pos] == 'K' || s[pos] == 'k')) v *= 1024;
  if (pos < s.size() && (s[pos] == 'M' || s[pos] == 'm')) v *= 1024 * 1024;
  return v;
}

/// The type ("Data", "Unified", "Instruction") and level of /sys cache index i.
bool sysfs_cache_is(int index, int level, bool data) {
  std::ifstream lv("/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/level");
  std::ifstream ty("/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/type");
  int l = 0;
  std::string t;
  if (!(lv >> l) || !(ty >> t)) return false;
  return l == level && (data ? t != "Instruction" : true);
}

std::int64_t query(int sysconf_name, int level) {
  long v = -1;
#ifdef _SC_LEVEL1_DCACHE_SIZE
  v = sysconf(sysconf_name);
#else
  (void)sysconf_name;
#endif
  if (v > 0) return v;
  for (int i = 0; i < 8; ++i)
    if (sysfs_cache_is(i, level, true)) return sysfs_cache_bytes(i);
  return 0;
}

}  // namespace

CacheSizes cache_sizes() {
  static const CacheSizes found = [] {
    CacheSizes c;
#ifdef _SC_LEVEL1_DCACHE_SIZE
    const std::int64_t l1 = query(_SC_LEVEL1_DCACHE_SIZE, 1), l2 = query(_SC_LEVEL2_CACHE_SIZE, 2);
#else
    const std::int64_t l1 = query(0, 1), l2 = query(0, 2);
#endif
    // Sanity bounds: a wrong answer must not make blocks absurd.
    if (l1 >= 8 * 1024 && l1 <= 1024 * 1024) c.l1d = l1;
    if (l2 >= 64 * 1024 && l2 <= 64 * 1024 * 1024) c.l2 = l2;
    return c;
  }();
  return found;
}

Tiling choose_tiling(const CacheSizes& caches, std::int64_t d, std::int64_t elem_bytes, std::int64_t panel_width,
                     std::int64_t micro_rows) {
  Tiling t;
  // A panel chunk takes at most half of L1; the other half holds the streamed rows and state.
  const std::int64_t chunk_fit = std::max<std::int64_t>(16, caches.l1d / 2 / (panel_width * elem_bytes));
  const std::int64_t depth = padded_depth(d), chunks = (depth + chunk_fit - 1) / chunk_fit;
  t.depth_chunk = padded_depth((depth + chunks - 1) / chunks);  // equal chunks of whole feature groups
  // The packed block takes about half of L2; the centroid panels stream through the rest.
  const std::int64_t fit = caches.l2 / 2 / std::max<std::int64_t>(1, padded_depth(d) * elem_bytes);
  t.block_rows = std::clamp<std::int64_t>(fit - fit % micro_rows, micro_rows, 64 * micro_rows);
  return t;
}

}  // namespace fkm::cpu
