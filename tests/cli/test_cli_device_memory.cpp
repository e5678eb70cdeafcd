// --max-device-memory and --stream-chunk-rows: sizes with binary suffixes, clear errors (exit 2,
// before any input is read) for bad values, and the report's "max_device_bytes" and
// "placement" keys (a host backend: the data is resident, whatever the budget); on a GPU, a
// streamed fit of a memory-mapped file writes the resident fit's outputs byte for byte.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "fkm/fkm.hpp"

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

TEST_CASE("device memory: a streamed fit of a memory-mapped file writes the resident fit's outputs") {
  bool have_gpu = false;
  for (const auto& b : fkm::list_backends())
    have_gpu |= b.kind == fkm::BackendKind::Cuda && b.compiled && !b.devices.empty();
  if (!have_gpu) return;  // streaming is the CUDA backend's
  ScratchDir dir;
  // 32-byte fp16 rows (copied from the mapping, page-locked in place) and 12-byte fp32 rows (staged)
  for (const auto& [kind, d] : std::vector<std::pair<std::string, std::int64_t>>{{"f16", 16}, {"f32", 3}}) {
    INFO(kind << " d " << d);
    const std::int64_t n = 3 * 4096 + 11;
    const std::string data = write_data(dir, kind, blob_values(n, d, 7, 3), n, d, "m" + kind);
    auto fit = [&](const std::string& tag, std::vector<std::string> extra) {
      std::vector<std::string> args{"fit", data, "--k", "7", "--backend", "cuda", "--max-iter", "4", "--tol", "0",
                                    "--labels-out", dir.path(tag + "_l.npy"), "--centroids-out", dir.path(tag + "_c.npy"),
                                    "--report", dir.path(tag + ".json"), "-q"};
      args.insert(args.end(), extra.begin(), extra.end());
      const auto r = run_fkm(args, dir);
      INFO("stderr: " << r.err);
      REQUIRE(r.exit_code == 0);
      return nlohmann::json::parse(fkm_io_test::read_bytes(dir.path(tag + ".json")));
    };
    const auto resident = fit("resident" + kind, {});
    const auto streamed = fit("streamed" + kind, {"--stream-chunk-rows", "4096", "--max-device-memory", "1G"});
    CHECK(resident["placement"]["streamed"] == false);
    CHECK(streamed["placement"]["streamed"] == true);
    CHECK(streamed["placement"]["chunks"] == 4);
    CHECK(streamed["max_device_bytes"] == (1LL << 30));
    WARN(kind << " rows from a memory-mapped file, transfer: " << streamed["placement"]["transfer"]);
    CHECK(fkm_io_test::read_bytes(dir.path("streamed" + kind + "_l.npy")) ==
          fkm_io_test::read_bytes(dir.path("resident" + kind + "_l.npy")));
    CHECK(fkm_io_test::read_bytes(dir.path("streamed" + kind + "_c.npy")) ==
          fkm_io_test::read_bytes(dir.path("resident" + kind + "_c.npy")));
    CHECK(streamed["inertia"] == resident["inertia"]);
  }
}
