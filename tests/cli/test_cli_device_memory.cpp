// --max-device-memory and --stream-chunk-rows: sizes with binary suffixes, clear errors (exit 2,
// before any input is read) for bad values, and the report's "max_device_bytes" and
// "placement" keys (a host backend: the data is resident, whatever the budget).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "cli_support.hpp"

using namespace fkm_cli_test;
using fkm_io_test::ScratchDir;

TEST_CASE("device memory: bad sizes and chunk rows are usage errors") {
  ScratchDir dir;
  for (const char* bad : {"4X", "-1", "G", "", "1e9", "four", "4 G", "9999999999T"}) {
    INFO("--max-device-memory '" << bad << "'");
    check_usage_error(run_fkm({"fit", "x.npy", "--k", "3", "--max-device-memory", bad}, dir),
                      {"--max-device-memory", "memory size", "4G, 512M"});
  }
  check_usage_error(run_fkm({"predict", "x.npy", "--centroids", "c.npy", "--labels-out", "l.npy", "--max-device-memory", "12Q"}, dir),
                    {"--max-device-memory", "'12Q'"});
  check_usage_error(run_fkm({"fit", "x.npy", "--k", "3", "--stream-chunk-rows", "-5"}, dir), {"--stream-chunk-rows", "-5"});
  check_usage_error(run_fkm({"fit", "x.npy", "--k", "3", "--stream-chunk-rows", "many"}, dir), {"--stream-chunk-rows", "many"});
  CHECK(dir.entries().empty());
}

TEST_CASE("device memory: sizes reach the report") {
  ScratchDir dir;
  const std::string data = write_data(dir, "f32", blob_values(200, 3, 4, 1), 200, 3, "x");
  const std::vector<std::pair<std::string, nlohmann::json>> sizes = {
      {"512M", 512LL << 20}, {"4G", 4LL << 30}, {"1048576", 1048576}, {"1.5K", 1536}, {"auto", "auto"}};
  for (const auto& [flag, expected] : sizes) {
    INFO("--max-device-memory " << flag);
    const auto r = run_fkm({"fit", data, "--k", "4", "--backend", "cpu", "--max-device-memory", flag, "--stream-chunk-rows",
                            "8192", "--report", dir.path("r.json"), "-q"},
                           dir);
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    const auto report = nlohmann::json::parse(fkm_io_test::read_bytes(dir.path("r.json")));
    CHECK(report["max_device_bytes"] == expected);
    REQUIRE(report.contains("placement"));
    CHECK(report["placement"]["streamed"] == false);  // a host backend keeps the data where it is
  }
}
