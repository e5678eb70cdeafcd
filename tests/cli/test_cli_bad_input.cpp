// Every bad input of issue 5: exit code 2, one line "fkm: error: ..." naming the file, the
// field and the row where known, and no output file (nor a leftover temporary one).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <thread>

#include "cli_support.hpp"
#include "fkm/io.hpp"

using namespace fkm_cli_test;
using fkm_io_test::npy_bytes;
using fkm_io_test::ScratchDir;
using fkm_io_test::write_bytes;

namespace {

/// A folder with a good data file (40 x 3 float32) and the fit command that writes all three
/// outputs into it.
struct Fixture {
  ScratchDir dir;
  std::string good = write_data(dir, "f32", blob_values(40, 3, 4, 1), 40, 3, "good");

  std::vector<std::string> fit(const std::string& data, std::vector<std::string> extra) const {
    std::vector<std::string> args{"fit", data, "--labels-out", dir.path("l.npy"), "--centroids-out", dir.path("c.npy"),
                                  "--report", dir.path("r.json")};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  /// Runs and checks: exit 2, the message, and the folder holds only the inputs.
  void expect_error(const std::vector<std::string>& args, const std::vector<std::string>& needles) const {
    const auto before = dir.entries();
    const auto r = run_fkm(args, dir);
    check_usage_error(r, needles);
    CHECK(dir.entries() == before);
    for (const char* out : {"l.npy", "c.npy", "r.json"}) CHECK_FALSE(fkm_io_test::exists(dir.path(out)));
  }
  std::string file(const std::string& name, const std::string& bytes) const {
    write_bytes(dir.path(name), bytes);
    return dir.path(name);
  }
};

std::string f32_bytes(const std::vector<float>& v) { return fkm_io_test::as_bytes(v); }

}  // namespace

TEST_CASE("bad input: missing, empty and damaged .npy files") {
  Fixture f;
  const std::string header = npy_bytes("<f4", {4, 3}, "");
  f.expect_error(f.fit(f.dir.path("missing.npy"), {"--k", "2"}), {"missing.npy", "cannot open", "No such file"});
  f.expect_error(f.fit(f.file("empty.npy", ""), {"--k", "2"}), {"empty.npy", "empty file"});
  f.expect_error(f.fit(f.file("trunc.npy", header.substr(0, 9)), {"--k", "2"}), {"trunc.npy", "truncated .npy header"});
  f.expect_error(f.fit(f.file("beyond.npy", header.substr(0, 40)), {"--k", "2"}),
                 {"beyond.npy", "'header_len'", "beyond the end of the file"});
  std::string magic = header + std::string(48, '\0');
  magic[1] = 'M';
  f.expect_error(f.fit(f.file("magic.npy", magic), {"--k", "2"}), {"magic.npy", "wrong magic"});
  f.expect_error(f.fit(f.file("short.npy", header + std::string(20, '\0')), {"--k", "2"}),
                 {"short.npy", "shorter than the header says", "(4, 3)"});
  f.expect_error(f.fit(f.file("dict.npy", fkm_io_test::npy_raw("{'descr': '<f4', 'shape': (4, 3)}", std::string(48, '\0'))),
                       {"--k", "2"}),
                 {"dict.npy", "'fortran_order'", "missing"});
}

TEST_CASE("bad input: unsupported dtypes and shapes") {
  Fixture f;
  f.expect_error(f.fit(f.file("c.c8.npy", npy_bytes("<c8", {4, 3}, std::string(96, '\0'))), {"--k", "2"}),
                 {"c.c8.npy", "'descr'", "'<c8'", "complex"});
  f.expect_error(f.fit(f.file("o.npy", npy_bytes("|O", {4, 3}, std::string(96, '\0'))), {"--k", "2"}),
                 {"o.npy", "'descr'", "'|O'"});
  f.expect_error(f.fit(f.file("ld.npy", npy_bytes("<f16", {4, 3}, std::string(192, '\0'))), {"--k", "2"}),
                 {"ld.npy", "'descr'", "'<f16'"});
  f.expect_error(f.fit(f.file("i8big.npy", npy_bytes("<i8", {4, 1}, fkm_io_test::as_bytes(std::vector<std::int64_t>{1, 2, 3, (std::int64_t(1) << 53) + 1}))),
                       {"--k", "2"}),
                 {"i8big.npy", "row 3, column 0", "not exactly representable as float64"});
  f.expect_error(f.fit(f.file("extra.npy", npy_bytes("<f4", {4, 3}, std::string(48 + 4, '\0'))), {"--k", "2"}),
                 {"extra.npy", "longer than the header says", "4 extra bytes"});
  f.expect_error(f.fit(f.file("ids.npz", std::string("PK\x03\x04", 4) + std::string(60, '\0')), {"--k", "2"}),
                 {"ids.npz", ".npz archive"});
  f.expect_error(f.fit(f.file("v.npy", npy_bytes("<f4", {5}, std::string(20, '\0'))), {"--k", "2"}),
                 {"v.npy", "'shape'", "(5,)", "1-D"});
  f.expect_error(f.fit(f.file("t.npy", npy_bytes("<f4", {2, 2, 2, 2}, std::string(64, '\0'))), {"--k", "2"}),
                 {"t.npy", "'shape'", "(2, 2, 2, 2)", "4-D"});
  f.expect_error(f.fit(f.file("r0.npy", npy_bytes("<f4", {0, 3}, "")), {"--k", "2"}), {"r0.npy", "zero rows"});
  f.expect_error(f.fit(f.file("c0.npy", npy_bytes("<f4", {3, 0}, "")), {"--k", "2"}), {"c0.npy", "zero columns"});
  f.expect_error(f.fit(f.file("u2.npy", npy_bytes("<u2", {2, 2}, std::string(8, '\0'))), {"--k", "2"}),
                 {"u2.npy", "'<u2'", "--dtype bf16"});
  f.expect_error(f.fit(f.good, {"--k", "2", "--dtype", "bf16"}), {"good.npy", "--dtype bf16", "'<f4'"});
}

TEST_CASE("bad input: NaN and Inf values, with their row and column") {
  Fixture f;
  std::vector<float> v(5 * 3, 1.f);
  v[2 * 3 + 1] = std::numeric_limits<float>::quiet_NaN();
  f.expect_error(f.fit(f.file("nan.npy", npy_bytes("<f4", {5, 3}, f32_bytes(v))), {"--k", "2"}),
                 {"nan.npy", "NaN or Inf", "row 2, column 1"});
  v[2 * 3 + 1] = 1.f;
  v[4 * 3 + 0] = -std::numeric_limits<float>::infinity();
  f.expect_error(f.fit(f.file("inf.npy", npy_bytes("<f4", {5, 3}, f32_bytes(v))), {"--k", "2"}),
                 {"inf.npy", "NaN or Inf", "row 4, column 0"});
}

TEST_CASE("bad input: K out of range") {
  Fixture f;
  f.expect_error(f.fit(f.good, {"--k", "41"}), {"--k 41", "larger than the number of rows", "good.npy", "(40)"});
  f.expect_error(f.fit(f.good, {"--k", "0"}), {"--k must be at least 1", "got 0"});
  f.expect_error(f.fit(f.good, {"--k", "-3"}), {"--k must be at least 1", "got -3"});
}

TEST_CASE("bad input: --init file of the wrong shape, dtype or values") {
  Fixture f;
  std::vector<float> c(3 * 3, 0.5f);
  f.expect_error(f.fit(f.good, {"--k", "2", "--init", f.file("c3.npy", npy_bytes("<f4", {3, 3}, f32_bytes(c)))}),
                 {"--init", "c3.npy", "(3, 3)", "(k, d) = (2, 3)"});
  f.expect_error(f.fit(f.good, {"--k", "3", "--init", f.file("c4.npy", npy_bytes("<f4", {3, 4}, std::string(48, '\0')))}),
                 {"--init", "c4.npy", "(3, 4)"});
  f.expect_error(f.fit(f.good, {"--k", "3", "--init", f.file("ci.npy", npy_bytes("<c8", {3, 3}, std::string(72, '\0')))}),
                 {"--init", "ci.npy", "'<c8'"});
  c[4] = std::numeric_limits<float>::quiet_NaN();
  f.expect_error(f.fit(f.good, {"--k", "3", "--init", f.file("cn.npy", npy_bytes("<f4", {3, 3}, f32_bytes(c)))}),
                 {"--init", "cn.npy", "row 1, column 1"});
  f.expect_error(f.fit(f.good, {"--k", "3", "--init", f.dir.path("nofile.npy")}), {"--init", "nofile.npy", "cannot open"});
  f.expect_error(f.fit(f.good, {"--k", "3", "--init", "kmeans+"}), {"--init 'kmeans+'", "neither a method"});
}

TEST_CASE("bad input: weights of the wrong length, sign or type") {
  Fixture f;
  std::vector<float> w(40, 1.f);
  f.expect_error(f.fit(f.good, {"--k", "2", "--weights", f.file("w39.npy", npy_bytes("<f4", {39}, f32_bytes({w.begin(), w.end() - 1})))}),
                 {"--weights", "w39.npy", "39 weights", "good.npy", "40 rows"});
  w[3] = -1.f;
  f.expect_error(f.fit(f.good, {"--k", "2", "--weights", f.file("wneg.npy", npy_bytes("<f4", {40}, f32_bytes(w)))}),
                 {"--weights", "wneg.npy", "row 3", ">= 0"});
  w[3] = std::numeric_limits<float>::quiet_NaN();
  f.expect_error(f.fit(f.good, {"--k", "2", "--weights", f.file("wnan.npy", npy_bytes("<f4", {40}, f32_bytes(w)))}),
                 {"--weights", "wnan.npy", "row 3"});
  f.expect_error(f.fit(f.good, {"--k", "2", "--weights", f.file("w2d.npy", npy_bytes("<f4", {40, 1}, f32_bytes(w)))}),
                 {"--weights", "w2d.npy", "1-D"});
  f.expect_error(f.fit(f.good, {"--k", "2", "--weights", f.file("wi.npy", npy_bytes("<c8", {40}, std::string(320, '\0')))}),
                 {"--weights", "wi.npy", "'<c8'"});
  f.expect_error(f.fit(f.good, {"--k", "2", "--weights", f.file("w0.npy", npy_bytes("<f4", {40}, std::string(160, '\0')))}),
                 {"--weights", "w0.npy", "0 weights are > 0", "--k 2"});
  std::vector<float> two(40, 0.f);
  two[3] = two[9] = 1.f;
  f.expect_error(f.fit(f.good, {"--k", "3", "--weights", f.file("w2.npy", npy_bytes("<f4", {40}, f32_bytes(two)))}),
                 {"--weights", "w2.npy", "2 weights are > 0", "--k 3"});
}

TEST_CASE("bad input: .fvecs with inconsistent dimensions or a partial last row") {
  Fixture f;
  auto row = [](std::int32_t dim, int values) {
    std::string s(reinterpret_cast<const char*>(&dim), 4);
    return s + std::string(std::size_t(values) * 4, '\0');
  };
  f.expect_error(f.fit(f.file("mixed.fvecs", row(3, 3) + row(3, 3) + row(2, 2) + row(3, 3)), {"--k", "2"}),
                 {"mixed.fvecs", "row 2 declares dimension 2", "row 0 declares 3"});
  f.expect_error(f.fit(f.file("same_size.fvecs", row(3, 3) + row(3, 3) + row(4, 3) + row(3, 3)), {"--k", "2"}),
                 {"same_size.fvecs", "row 2 declares dimension 4"});
  const std::string whole = row(3, 3) + row(3, 3) + row(3, 3);
  f.expect_error(f.fit(f.file("cut.fvecs", whole.substr(0, whole.size() - 5)), {"--k", "2"}),
                 {"cut.fvecs", "last row (row 2) is partial"});
  f.expect_error(f.fit(f.file("ids.ivecs", row(3, 3) + row(3, 3)), {"--k", "2"}), {"ids.ivecs", "int32"});
}

TEST_CASE("bad input: unwritable output paths fail first, and existing outputs survive a failure") {
  Fixture f;
  const auto before = f.dir.entries();
  check_usage_error(run_fkm({"fit", f.good, "--k", "2", "--labels-out", f.dir.path("no/such/dir/l.npy"), "--centroids-out",
                             f.dir.path("c.npy")},
                            f.dir),
                    {"--labels-out", "no/such/dir/l.npy", "No such file or directory"});
  check_usage_error(run_fkm({"fit", f.good, "--k", "2", "--centroids-out", f.dir.path("c.npy"), "--report", f.dir.path("")}, f.dir),
                    {"--report", "directory"});
  check_usage_error(run_fkm({"fit", f.good, "--k", "2", "--labels-out", f.dir.path("x.npy"), "--centroids-out", f.dir.path("x.npy")}, f.dir),
                    {"--centroids-out and --labels-out", "same file"});
  CHECK(f.dir.entries() == before);

  // A failing run leaves an existing output file exactly as it was.
  write_bytes(f.dir.path("l.npy"), "previous labels");
  std::vector<float> v(5 * 3, 1.f);
  v[7] = std::numeric_limits<float>::quiet_NaN();
  const std::string bad = f.file("nan.npy", npy_bytes("<f4", {5, 3}, f32_bytes(v)));
  const auto r = run_fkm({"fit", bad, "--k", "2", "--labels-out", f.dir.path("l.npy"), "--centroids-out", f.dir.path("c.npy")}, f.dir);
  check_usage_error(r, {"nan.npy", "row 2, column 1"});
  CHECK(fkm_io_test::read_bytes(f.dir.path("l.npy")) == "previous labels");
  CHECK_FALSE(fkm_io_test::exists(f.dir.path("c.npy")));
}

TEST_CASE("bad input: an output that is also an input is refused, and the input is left whole") {
  // Renaming the finished output over the input would destroy it (the run itself would succeed,
  // reading the old file through its mapping). Any spelling counts: ./name, a symlink, a hard link.
  Fixture f;
  const std::string original = fkm_io_test::read_bytes(f.good);
  REQUIRE(::symlink(f.good.c_str(), f.dir.path("link.npy").c_str()) == 0);
  REQUIRE(::link(f.good.c_str(), f.dir.path("hard.npy").c_str()) == 0);
  std::vector<float> c(2 * 3, 0.5f);
  const std::string init = f.file("c0.npy", npy_bytes("<f4", {2, 3}, f32_bytes(c)));
  std::vector<float> w(40, 1.f);
  const std::string weights = f.file("w.npy", npy_bytes("<f4", {40}, f32_bytes(w)));
  const std::string dot = f.dir.path(".") + "/good.npy";
  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> cases{
      {{"fit", f.good, "--k", "2", "--labels-out", f.good}, {"--labels-out", "is the input DATA", "replace an input"}},
      {{"fit", f.good, "--k", "2", "--centroids-out", dot}, {"--centroids-out", "is the input DATA"}},
      {{"fit", f.dir.path("link.npy"), "--k", "2", "--labels-out", f.good}, {"--labels-out", "is the input DATA"}},
      {{"fit", f.good, "--k", "2", "--report", f.dir.path("hard.npy")}, {"--report", "hard.npy", "is the input DATA"}},
      {{"fit", f.good, "--k", "2", "--init", init, "--centroids-out", init}, {"--centroids-out", "is the --init file"}},
      {{"fit", f.good, "--k", "2", "--weights", weights, "--report", weights}, {"--report", "is the --weights file"}},
      {{"predict", f.good, "--centroids", init, "--labels-out", init}, {"--labels-out", "is the --centroids file"}},
      {{"predict", f.good, "--centroids", init, "--labels-out", f.dir.path("p.npy"), "--report", f.good},
       {"--report", "is the input DATA"}},
  };
  for (const auto& [args, needles] : cases) {
    INFO(args.back());
    const auto before = f.dir.entries();
    check_usage_error(run_fkm(args, f.dir), needles);
    CHECK(f.dir.entries() == before);
    CHECK(fkm_io_test::read_bytes(f.good) == original);
    CHECK(fkm_io_test::read_bytes(init) == npy_bytes("<f4", {2, 3}, f32_bytes(c)));
  }
}

TEST_CASE("bad input: outputs that are not regular files, or one file under two names") {
  Fixture f;
  // A FIFO (or a device: /dev/null as root) would be replaced by a regular file.
  REQUIRE(::mkfifo(f.dir.path("fifo").c_str(), 0600) == 0);
  f.expect_error({"fit", f.good, "--k", "2", "--centroids-out", f.dir.path("c.npy"), "--labels-out", f.dir.path("fifo")},
                 {"--labels-out", "fifo", "not a regular file"});
  struct stat st;
  REQUIRE(::stat(f.dir.path("fifo").c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  // Two spellings of one path would rename two outputs over one file: one of them lost.
  const auto before = f.dir.entries();
  check_usage_error(run_fkm({"fit", f.good, "--k", "2", "--labels-out", f.dir.path("x.npy"), "--centroids-out",
                             f.dir.path(".") + "/x.npy"},
                            f.dir),
                    {"--centroids-out and --labels-out", "same file"});
  check_usage_error(run_fkm({"fit", f.good, "--k", "2", "--labels-out", f.dir.path("x.npy"), "--report", f.dir.path("/x.npy")}, f.dir),
                    {"--report and --labels-out", "same file"});
  CHECK(f.dir.entries() == before);
}

namespace {
/// Runs fkm with stdout on /dev/full ("full"), on a pipe whose reader is gone ("broken pipe")
/// or closed ("closed"); returns the exit code and stderr.
std::pair<int, std::string> run_with_bad_stdout(const std::vector<std::string>& args, const std::string& how,
                                                const ScratchDir& logs) {
  std::vector<std::string> argv_s{FKM_CLI_PATH};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const std::string err_path = logs.path("err.txt");
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err < 0 || ::dup2(err, 2) < 0) ::_exit(126);
    if (how == "full") {
      const int full = ::open("/dev/full", O_WRONLY);
      if (full < 0 || ::dup2(full, 1) < 0) ::_exit(126);
    } else if (how == "broken pipe") {
      ::close(fds[0]);
      if (::dup2(fds[1], 1) < 0) ::_exit(126);
    } else {
      ::close(1);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[0]);
  ::close(fds[1]);
  return {wait_fkm(int(pid)), fkm_io_test::read_bytes(err_path)};
}
}  // namespace

TEST_CASE("bad input: --report - on a stdout that cannot be written leaves no output file") {
  // The report goes to stdout before the files are renamed into place, so a failing stdout
  // fails the whole command; a closed stdout must not be reused for an output file.
  Fixture f;
  ScratchDir logs;
  for (const std::string how : {"full", "broken pipe", "closed"}) {
    INFO(how);
    const auto before = f.dir.entries();
    for (const std::string command : {"fit", "predict"}) {
      std::vector<std::string> args{command, f.good, "--labels-out", f.dir.path("l.npy"), "--report", "-", "-q"};
      if (command == "fit") args.insert(args.end(), {"--k", "2"});
      else args.insert(args.end(), {"--centroids", f.file("c.npy", npy_bytes("<f4", {2, 3}, std::string(24, '\0')))});
      const auto [code, err] = run_with_bad_stdout(args, how, logs);
      INFO(command << ": " << err);
      CHECK(code == 2);
      CHECK(err.rfind("fkm: error: --report -: writing the report to stdout failed", 0) == 0);
      CHECK_FALSE(fkm_io_test::exists(f.dir.path("l.npy")));
    }
    ::unlink(f.dir.path("c.npy").c_str());
    CHECK(f.dir.entries() == before);
  }
  // `fkm info` writes only stdout: failing to is exit 2, not a silent success.
  for (const std::string how : {"full", "closed"}) {
    const auto [code, err] = run_with_bad_stdout({"info"}, how, logs);
    INFO(how << ": " << err);
    CHECK(code == 2);
    CHECK(err.rfind("fkm: error: writing to stdout failed", 0) == 0);
  }
}

TEST_CASE("bad input: predict with mismatched or damaged centroids") {
  Fixture f;
  std::vector<float> c(2 * 4, 0.5f);
  auto predict = [&](const std::string& centroids) {
    return std::vector<std::string>{"predict", f.good, "--centroids", centroids, "--labels-out", f.dir.path("l.npy"),
                                    "--report", f.dir.path("r.json")};
  };
  f.expect_error(predict(f.file("c24.npy", npy_bytes("<f4", {2, 4}, f32_bytes(c)))), {"--centroids", "c24.npy", "4 columns", "3"});
  f.expect_error(predict(f.dir.path("none.npy")), {"--centroids", "none.npy", "cannot open"});
  f.expect_error(predict(f.file("c1.npy", npy_bytes("<f4", {6}, std::string(24, '\0')))), {"--centroids", "c1.npy", "1-D"});
  f.expect_error({"predict", f.good, "--labels-out", f.dir.path("l.npy")}, {"--centroids is required"});
}

TEST_CASE("interrupted fit: Ctrl-C removes the temporary outputs") {
  Fixture f;
  const std::string data = write_data(f.dir, "f32", blob_values(3000, 8, 40, 5), 3000, 8, "big");
  const auto before = f.dir.entries();
  // Runs until interrupted: tol 0 and a huge iteration count.
  const int pid = spawn_fkm({"fit", data, "--k", "40", "--tol", "0", "--max-iter", "100000000", "--labels-out",
                             f.dir.path("l.npy"), "--centroids-out", f.dir.path("c.npy"), "--quiet"});
  // Wait until both temporary files exist (they are created before the data is read).
  const auto t0 = std::chrono::steady_clock::now();
  while (f.dir.entries().size() < before.size() + 2 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(f.dir.entries().size() == before.size() + 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // well into the fit
  ::kill(pid, SIGINT);
  CHECK(wait_fkm(pid) == 128 + SIGINT);
  CHECK(f.dir.entries() == before);
}
