// `fkm info`: version, every backend fkm knows (compiled in or not) with its devices, and the
// backend `--backend auto` picks on this machine.
#include <cstdio>
#include <string>

#include "common.hpp"

namespace fkm::cli {
namespace {

std::string memory_string(std::int64_t bytes) {
  if (bytes <= 0) return "memory not reported";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f GiB", double(bytes) / double(1ull << 30));
  return buf;
}

}  // namespace

void run_info(const InfoOptions& o) {
  const std::vector<BackendStatus> backends = list_backends();
  std::string auto_pick, auto_error;
  try {
    auto_pick = to_string(select_backend(BackendKind::Auto).kind());
  } catch (const Error& e) {
    auto_error = e.what();
  }

  if (o.json) {
    nlohmann::ordered_json j;
    j["fkm_version"] = version();
    j["backends"] = nlohmann::ordered_json::array();
    for (const BackendStatus& b : backends) {
      nlohmann::ordered_json devices = nlohmann::ordered_json::array();
      for (const DeviceInfo& d : b.devices)
        devices.push_back({{"name", d.name}, {"arch", d.arch}, {"memory_bytes", d.memory_bytes}, {"compute_units", d.compute_units}});
      j["backends"].push_back({{"name", b.name}, {"compiled", b.compiled}, {"cmake_option", b.cmake_option}, {"devices", devices}});
    }
    j["auto"] = auto_pick.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(auto_pick);
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }

  std::printf("fkm %s\n\nbackends:\n", version());
  for (const BackendStatus& b : backends) {
    if (!b.compiled) {
      std::printf("  %-10s not compiled (-D%s=ON)\n", b.name.c_str(), b.cmake_option.c_str());
      continue;
    }
    if (b.devices.empty()) {
      std::printf("  %-10s compiled, no usable device found\n", b.name.c_str());
      continue;
    }
    std::printf("  %-10s compiled, %zu device%s\n", b.name.c_str(), b.devices.size(), b.devices.size() == 1 ? "" : "s");
    for (std::size_t i = 0; i < b.devices.size(); ++i) {
      const DeviceInfo& d = b.devices[i];
      // (Kokkos counts threads on a host execution space, multiprocessors on a GPU one.)
      const bool host = b.kind == BackendKind::Cpu || b.kind == BackendKind::Reference ||
                        (b.kind == BackendKind::Kokkos && !select_backend(BackendKind::Kokkos).accepts(MemorySpace::Device));
      std::printf("    [%zu] %s, %s, %s, %d %s\n", i, d.name.c_str(), d.arch.c_str(), memory_string(d.memory_bytes).c_str(),
                  d.compute_units, host ? (d.compute_units == 1 ? "thread" : "threads") : "compute units");
    }
  }
  if (!auto_pick.empty()) std::printf("\n--backend auto picks: %s\n", auto_pick.c_str());
  else std::printf("\n--backend auto picks nothing: %s\n", auto_error.c_str());
}

}  // namespace fkm::cli
