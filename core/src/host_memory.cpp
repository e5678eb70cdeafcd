#include "host_memory.hpp"

#include <cstdio>

namespace fkm::detail {

std::string bytes_string(std::int64_t bytes) {
  static const char* const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = double(bytes);
  int u = -1;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  std::string s = std::to_string(bytes) + " bytes";
  if (u >= 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " (%.1f %s)", v, units[u]);
    s += buf;
  }
  return s;
}

}  // namespace fkm::detail
