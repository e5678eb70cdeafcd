// fit -> predict through the program, checked against the library API on the same file:
// labels and centroids bit for bit, the report's numbers, predict reproducing the fit.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "cli_support.hpp"
#include "fkm/fkm.hpp"
#include "fkm/io.hpp"

using namespace fkm_cli_test;
using fkm_io_test::read_bytes;
using fkm_io_test::ScratchDir;

namespace {

std::vector<double> read_matrix(const std::string& path, fkm::DType expected) {
  const auto m = fkm::io::load_matrix(path);
  CHECK(m.view().dtype == expected);
  std::vector<double> out(std::size_t(m.file().rows() * m.file().cols()));
  m.file().read_rows(0, m.file().rows(), fkm::io::ElementType::F64, out.data());
  return out;
}

std::vector<double> stored_centroids(const std::vector<double>& c, bool fp64) {
  std::vector<double> out;
  for (double x : c) out.push_back(fp64 ? x : double(float(x)));
  return out;
}

}  // namespace

TEST_CASE("fit then predict on every input type reproduces the API's result") {
  const std::int64_t n = 203, d = 11, k = 6;
  const auto values = blob_values(n, d, k, 11);
  for (const std::string kind : {"f16", "bf16", "f32", "f64", "fvecs", "bvecs"}) {
    SECTION(kind) {
      ScratchDir dir;
      const std::string data = write_data(dir, kind, values, n, d);
      const auto fit = run_fkm({"fit", data, "--k", "6", "--seed", "5", "--labels-out", dir.path("l.npy"), "--centroids-out",
                                dir.path("c.npy"), "--report", dir.path("r.json"), "--quiet"},
                               dir);
      INFO("stderr: " << fit.err);
      REQUIRE(fit.exit_code == 0);
      CHECK(fit.out.empty());
      CHECK(fit.err.empty());

      // The same fit through the API, on the file as the library reads it.
      const auto m = fkm::io::load_matrix(data);
      fkm::KMeansParams p;
      p.k = k;
      p.seed = 5;
      fkm::KMeans km(p);
      const fkm::KMeansResult& r = km.fit(m.view());
      const bool fp64 = m.view().dtype == fkm::DType::F64;
      // The same values in a plain contiguous buffer (no row stride, no mapping) fit the same:
      // the view of a mapped file (a .fvecs one has a row stride) is read correctly.
      std::vector<unsigned char> copy(std::size_t(n * d) * fkm::size_of(m.view().dtype));
      const auto et = m.view().dtype == fkm::DType::F16    ? fkm::io::ElementType::F16
                      : m.view().dtype == fkm::DType::BF16 ? fkm::io::ElementType::BF16
                      : fp64                                ? fkm::io::ElementType::F64
                                                            : fkm::io::ElementType::F32;
      m.file().read_rows(0, n, et, copy.data());
      const auto plain = fkm::fit(fkm::host_view(static_cast<const void*>(copy.data()), n, d, m.view().dtype), p);
      CHECK(plain.labels == r.labels);
      CHECK(plain.centroids == r.centroids);

      CHECK(fkm::io::load_labels(dir.path("l.npy")) == r.labels);
      const auto centroids = read_matrix(dir.path("c.npy"), fp64 ? fkm::DType::F64 : fkm::DType::F32);
      CHECK(centroids == stored_centroids(r.centroids, fp64));

      const auto report = nlohmann::json::parse(read_bytes(dir.path("r.json")));
      for (const char* key : {"n", "d", "k", "dtype", "metric", "backend", "device", "threads", "init", "seed", "iterations",
                              "converged", "stop_reason", "inertia", "seconds_total", "seconds_init", "ms_per_iter", "history"})
        CHECK(report.contains(key));
      CHECK(report["n"] == n);
      CHECK(report["d"] == d);
      CHECK(report["k"] == k);
      CHECK(report["dtype"] == fkm::to_string(m.view().dtype));
      CHECK(report["iterations"] == r.n_iter);
      CHECK(report["inertia"].get<double>() == r.inertia);
      CHECK(report["converged"] == r.converged);
      CHECK(report["stop_reason"] == fkm::to_string(r.stop_reason));
      CHECK(report["backend"] == r.backend);
      CHECK(report["init"] == "kmeans++");
      CHECK(report["seed"] == 5);
      REQUIRE(report["history"].size() == r.history.size());
      for (std::size_t i = 0; i < r.history.size(); ++i) {
        CHECK(report["history"][i]["inertia"].get<double>() == r.history[i].inertia);
        CHECK(report["history"][i]["shift"].get<double>() == r.history[i].shift);
        CHECK(report["history"][i].contains("ms"));
      }

      const auto pred = run_fkm({"predict", data, "--centroids", dir.path("c.npy"), "--labels-out", dir.path("p.npy"),
                                 "--report", dir.path("pr.json"), "-q"},
                                dir);
      INFO("predict stderr: " << pred.err);
      REQUIRE(pred.exit_code == 0);
      CHECK(pred.out.empty());
      fkm::KMeans from_file;
      from_file.set_centroids(centroids, k, d);
      const auto predicted = fkm::io::load_labels(dir.path("p.npy"));
      CHECK(predicted == from_file.predict(m.view()));
      CHECK(predicted == r.labels);  // well-separated blobs: no near-ties, the fit is reproduced
      const auto pr = nlohmann::json::parse(read_bytes(dir.path("pr.json")));
      CHECK(pr["n"] == n);
      CHECK(pr["d"] == d);
      CHECK(pr["k"] == k);
      CHECK(pr["inertia"].get<double>() == -from_file.score(m.view()));
      CHECK(pr.contains("seconds_total"));
    }
  }
}

TEST_CASE("fit: integer and bool .npy data, weights and --init are clustered exactly as floats") {
  // uint8 pixels (MNIST-like) and int64 (numpy's default integer) are everyday data: each gives
  // the labels and centroids of the same values stored as float32 (<= 16-bit) or float64.
  ScratchDir dir;
  const std::int64_t n = 90, d = 4, k = 3;
  const auto values = blob_values(n, d, k, 21);
  std::vector<std::uint8_t> u8;
  std::vector<std::int64_t> i64;
  std::vector<double> u8_values, i64_values;
  for (double v : values) {
    u8.push_back(std::uint8_t(std::lround(v + 100)));
    u8_values.push_back(u8.back());
    i64.push_back(std::llround(v * 8) - 1000);  // negative values, exact in float64
    i64_values.push_back(double(i64.back()));
  }
  std::vector<std::int32_t> w(n);
  for (std::int64_t i = 0; i < n; ++i) w[i] = std::int32_t(i % 4);
  fkm::io::save_npy(dir.path("w.npy"), fkm::io::ElementType::I32, {n}, w.data());
  const std::vector<std::int16_t> c0(i64.begin() + 0, i64.begin() + k * d);  // the first k points, as int16
  fkm::io::save_npy(dir.path("c0.npy"), fkm::io::ElementType::I16, {k, d}, c0.data());
  fkm::io::save_npy(dir.path("u8.npy"), fkm::io::ElementType::U8, {n, d}, u8.data());
  fkm::io::save_npy(dir.path("i64.npy"), fkm::io::ElementType::I64, {n, d}, i64.data());
  const std::vector<float> u8_f32(u8_values.begin(), u8_values.end());
  fkm::io::save_npy(dir.path("u8_as_f32.npy"), fkm::io::ElementType::F32, {n, d}, u8_f32.data());
  fkm::io::save_npy(dir.path("i64_as_f64.npy"), fkm::io::ElementType::F64, {n, d}, i64_values.data());
  const std::vector<double> wd(w.begin(), w.end());
  fkm::io::save_npy(dir.path("w_f64.npy"), fkm::io::ElementType::F64, {n}, wd.data());
  const std::vector<double> c0d(c0.begin(), c0.end());
  fkm::io::save_npy(dir.path("c0_f64.npy"), fkm::io::ElementType::F64, {k, d}, c0d.data());

  auto fit = [&](const std::string& data, std::vector<std::string> extra) {
    std::vector<std::string> args{"fit", dir.path(data), "--k", "3", "--seed", "4", "--labels-out", dir.path("l.npy"),
                                  "--centroids-out", dir.path("c.npy"), "--report", dir.path("r.json"), "-q"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = run_fkm(args, dir);
    INFO(data << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    const auto report = nlohmann::json::parse(read_bytes(dir.path("r.json")));
    return std::make_tuple(read_bytes(dir.path("l.npy")), read_bytes(dir.path("c.npy")), report["dtype"].get<std::string>(),
                           report["inertia"].get<double>());
  };
  const auto u8_fit = fit("u8.npy", {});
  CHECK(u8_fit == fit("u8_as_f32.npy", {}));
  CHECK(std::get<2>(u8_fit) == "float32");
  const auto i64_fit = fit("i64.npy", {"--weights", dir.path("w.npy"), "--init", dir.path("c0.npy")});
  CHECK(i64_fit == fit("i64_as_f64.npy", {"--weights", dir.path("w_f64.npy"), "--init", dir.path("c0_f64.npy")}));
  CHECK(std::get<2>(i64_fit) == "float64");
  CHECK(read_matrix(dir.path("c.npy"), fkm::DType::F64).size() == std::size_t(k * d));  // float64 centroids

  // bool (one-hot / binary features): 0 and 1.
  std::vector<std::uint8_t> bits(std::size_t(n * d));
  for (std::size_t i = 0; i < bits.size(); ++i) bits[i] = std::uint8_t((i * 7 / 3) % 2);
  fkm::io::save_npy(dir.path("b.npy"), fkm::io::ElementType::Bool, {n, d}, bits.data());
  const std::vector<float> bits_f32(bits.begin(), bits.end());
  fkm::io::save_npy(dir.path("b_as_f32.npy"), fkm::io::ElementType::F32, {n, d}, bits_f32.data());
  CHECK(fit("b.npy", {}) == fit("b_as_f32.npy", {}));
}

TEST_CASE("fit: an output reached through a symlink is written through it; the seed's full range") {
  ScratchDir dir;
  const std::string data = write_data(dir, "f32", blob_values(30, 2, 3, 6), 30, 2);
  fkm_io_test::write_bytes(dir.path("real.npy"), "old labels");
  REQUIRE(::symlink("real.npy", dir.path("link.npy").c_str()) == 0);
  const auto r = run_fkm({"fit", data, "--k", "3", "--seed", "18446744073709551615", "--labels-out", dir.path("link.npy"),
                          "--report", dir.path("r.json"), "-q"},
                         dir);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  struct stat st;
  REQUIRE(::lstat(dir.path("link.npy").c_str(), &st) == 0);
  CHECK(S_ISLNK(st.st_mode));  // the link stays a link (think of /dev/stdout), its target is replaced
  CHECK(fkm::io::load_labels(dir.path("real.npy")).size() == 30);
  CHECK(nlohmann::json::parse(read_bytes(dir.path("r.json")))["seed"].get<std::uint64_t>() == 18446744073709551615ull);
}

TEST_CASE("fit: K = 1 and K = N, odd sizes") {
  ScratchDir dir;
  const std::int64_t n = 37, d = 3;
  const std::string data = write_data(dir, "f32", blob_values(n, d, n, 3), n, d);
  auto labels_for = [&](const std::string& k) {
    const auto r = run_fkm({"fit", data, "--k", k, "--labels-out", dir.path("l.npy"), "-q"}, dir);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return fkm::io::load_labels(dir.path("l.npy"));
  };
  CHECK(labels_for("1") == std::vector<std::int32_t>(n, 0));
  auto all = labels_for("37");
  std::sort(all.begin(), all.end());
  std::vector<std::int32_t> expected(n);
  for (int i = 0; i < n; ++i) expected[i] = i;
  CHECK(all == expected);  // every point its own cluster
}

TEST_CASE("fit: same input and seed give byte-identical outputs, whatever --threads") {
  ScratchDir dir;
  const std::string data = write_data(dir, "f32", blob_values(150, 7, 5, 2), 150, 7);
  std::string first[2];
  for (int run = 0; run < 3; ++run) {
    const auto r = run_fkm({"fit", data, "--k", "5", "--seed", "9", "--init", "kmeans-parallel", "--labels-out",
                            dir.path("l.npy"), "--centroids-out", dir.path("c.npy"), "-q", "--threads", run == 2 ? "1" : "0"},
                           dir);
    REQUIRE(r.exit_code == 0);
    const std::string both = read_bytes(dir.path("l.npy")) + read_bytes(dir.path("c.npy"));
    if (run == 0) first[0] = both;
    else CHECK(both == first[0]);
  }
}

TEST_CASE("fit: --init file, --weights and options go through to the API") {
  ScratchDir dir;
  const std::int64_t n = 120, d = 5, k = 4;
  const auto values = blob_values(n, d, k, 4);
  const std::string data = write_data(dir, "f64", values, n, d);
  std::vector<double> c0(values.begin(), values.begin() + k * d);  // the first k points
  fkm::io::save_npy(dir.path("c0.npy"), fkm::io::ElementType::F64, {k, d}, c0.data());
  std::vector<float> w(n);
  for (std::int64_t i = 0; i < n; ++i) w[i] = float(i % 3);  // zeros included
  fkm::io::save_npy(dir.path("w.npy"), fkm::io::ElementType::F32, {n}, w.data());

  const auto r = run_fkm({"fit", data, "--k", "4", "--init", dir.path("c0.npy"), "--weights", dir.path("w.npy"), "--metric",
                          "cosine", "--max-iter", "3", "--tol", "0", "--backend", "reference", "--labels-out",
                          dir.path("l.npy"), "--centroids-out", dir.path("c.npy"), "--report", dir.path("r.json"), "-q"},
                         dir);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  fkm::KMeansParams p;
  p.k = k;
  p.init = fkm::Init::Given;
  p.initial_centroids = fkm::host_view(c0.data(), k, d);
  p.metric = fkm::Metric::Cosine;
  p.max_iter = 3;
  p.tol = 0;
  p.backend = fkm::BackendKind::Reference;
  const std::vector<double> wd(w.begin(), w.end());
  const auto api = fkm::fit(fkm::host_view(values.data(), n, d), p, fkm::host_vector(wd.data(), n));
  CHECK(fkm::io::load_labels(dir.path("l.npy")) == api.labels);
  CHECK(read_matrix(dir.path("c.npy"), fkm::DType::F64) == api.centroids);
  const auto report = nlohmann::json::parse(read_bytes(dir.path("r.json")));
  CHECK(report["iterations"] == 3);
  CHECK(report["stop_reason"] == "max_iter");
  CHECK(report["metric"] == "cosine");
  CHECK(report["backend"] == "reference");
  CHECK(report["init"] == "file");
  CHECK(report["inertia"].get<double>() == api.inertia);
}

TEST_CASE("fit: progress on stderr, --quiet silences it, --report - is the only stdout") {
  ScratchDir dir;
  const std::string data = write_data(dir, "f32", blob_values(90, 4, 3, 8), 90, 4);
  const auto loud = run_fkm({"fit", data, "--k", "3", "--max-iter", "4", "--tol", "0"}, dir);
  REQUIRE(loud.exit_code == 0);
  CHECK(loud.out.empty());
  const auto lines = loud.err_lines();
  REQUIRE(lines.size() >= 3);
  CHECK(lines.front().rfind("fkm: fit ", 0) == 0);
  CHECK(lines[1].rfind("fkm: iter 1/4  inertia ", 0) == 0);
  CHECK(lines[1].find("ms/iter") != std::string::npos);
  CHECK(lines[1].find("eta") != std::string::npos);
  CHECK(lines[lines.size() - 2].rfind("fkm: iter 4/4 ", 0) == 0);  // the last state is always shown
  CHECK(lines.back().rfind("fkm: done: 4 iterations", 0) == 0);

  const auto quiet = run_fkm({"fit", data, "--k", "3", "--quiet", "--report", "-"}, dir);
  REQUIRE(quiet.exit_code == 0);
  CHECK(quiet.err.empty());
  const auto report = nlohmann::json::parse(quiet.out);
  CHECK(report["k"] == 3);
  CHECK(report["n"] == 90);
}

TEST_CASE("info lists the backends and the automatic choice") {
  ScratchDir dir;
  const auto text = run_fkm({"info"}, dir);
  REQUIRE(text.exit_code == 0);
  CHECK(text.err.empty());
  CHECK(text.out.find(std::string("fkm ") + fkm::version()) != std::string::npos);
  CHECK(text.out.find("reference") != std::string::npos);
  CHECK(text.out.find("--backend auto picks: ") != std::string::npos);
  const auto json = run_fkm({"info", "--json"}, dir);
  REQUIRE(json.exit_code == 0);
  const auto j = nlohmann::json::parse(json.out);
  CHECK(j["fkm_version"] == fkm::version());
  std::size_t compiled = 0;
  for (const auto& b : fkm::list_backends()) compiled += b.compiled;
  std::size_t listed = 0;
  for (const auto& b : j["backends"]) listed += b["compiled"].get<bool>();
  CHECK(listed == compiled);
  CHECK(j["auto"] == fkm::to_string(fkm::select_backend(fkm::BackendKind::Auto).kind()));
}

TEST_CASE("fit --pruning hamerly writes the same files as without it, and says how many points it skipped") {
  const std::int64_t n = 1201, d = 7, k = 9;
  ScratchDir dir;
  const std::string data = write_data(dir, "f32", blob_values(n, d, k, 21), n, d);
  for (const std::string pruning : {"off", "hamerly"}) {
    const auto fit = run_fkm({"fit", data, "--k", "9", "--seed", "2", "--pruning", pruning, "--backend", "cpu",
                              "--labels-out", dir.path("l_" + pruning + ".npy"), "--centroids-out",
                              dir.path("c_" + pruning + ".npy"), "--report", dir.path("r_" + pruning + ".json"), "--quiet"},
                             dir);
    INFO("stderr: " << fit.err);
    REQUIRE(fit.exit_code == 0);
  }
  CHECK(read_bytes(dir.path("l_hamerly.npy")) == read_bytes(dir.path("l_off.npy")));
  CHECK(read_bytes(dir.path("c_hamerly.npy")) == read_bytes(dir.path("c_off.npy")));
  const auto plain = nlohmann::json::parse(read_bytes(dir.path("r_off.json")));
  const auto pruned = nlohmann::json::parse(read_bytes(dir.path("r_hamerly.json")));
  CHECK(plain["pruning"] == "off");
  CHECK(pruned["pruning"] == "hamerly");
  CHECK(pruned["inertia"] == plain["inertia"]);
  std::int64_t skipped = 0;
  for (const auto& h : pruned["history"]) skipped += h["n_skipped"].get<std::int64_t>();
  for (const auto& h : plain["history"]) CHECK(h["n_skipped"] == 0);
  CHECK(skipped > 0);  // separated blobs: once settled, most labels are proved
}

TEST_CASE("bench --suite smoke times every config and writes the JSON it promises") {
  ScratchDir dir;
  const auto r = run_fkm({"bench", "--suite", "smoke", "--iters", "3", "--backend", "cpu", "--json", dir.path("b.json")}, dir);
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("ms/iter") != std::string::npos);
  const auto j = nlohmann::json::parse(read_bytes(dir.path("b.json")));
  CHECK(j["command"] == "bench");
  CHECK(j["backend"] == "cpu");
  CHECK(j["measured"]["fma_gflops"].get<double>() > 0);
  REQUIRE(j["configs"].size() == 2);
  for (const auto& c : j["configs"]) {
    CHECK(c["iterations"] == 3);
    CHECK(c["ms_per_iter"].get<double>() > 0);
    CHECK(c["floor_ms"].get<double>() > 0);
    CHECK(c["inertia"].get<double>() > 0);
  }
  check_usage_error(run_fkm({"bench", "--iters", "1"}, dir), {"--iters", "at least 2"});
  check_usage_error(run_fkm({"bench", "--suite", "huge"}, dir), {"--suite", "huge"});
}
