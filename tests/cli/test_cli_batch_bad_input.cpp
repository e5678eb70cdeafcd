// Bad input with a 3-D DATA (a batch of problems): exit code 2, one line "fkm: error: ..."
// naming the file, the field, the problem and the row where known, and no output file (nor a
// leftover temporary one).
#include <catch2/catch.hpp>

#include <limits>

#include "cli_support.hpp"
#include "fkm/io.hpp"

using namespace fkm_cli_test;
using fkm_io_test::npy_bytes;
using fkm_io_test::npy_raw;
using fkm_io_test::ScratchDir;
using fkm_io_test::write_bytes;

namespace {

constexpr std::int64_t kProblems = 3, kN = 40, kD = 3;

/// A folder with a good batch (3 x 40 x 3 float32) and the commands that write every output.
struct Fixture {
  ScratchDir dir;
  std::vector<double> values = [] {
    std::vector<double> v;
    for (std::int64_t b = 0; b < kProblems; ++b) {
      const auto one = blob_values(kN, kD, 4, 1 + b);
      v.insert(v.end(), one.begin(), one.end());
    }
    return v;
  }();
  std::string good = write_batch(dir, "f32", values, kProblems, kN, kD, "good");

  std::vector<std::string> fit(const std::string& data, std::vector<std::string> extra) const {
    std::vector<std::string> args{"fit", data, "--labels-out", dir.path("l.npy"), "--centroids-out", dir.path("c.npy"),
                                  "--report", dir.path("r.json")};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  std::vector<std::string> predict(const std::string& centroids) const {
    return {"predict", good, "--centroids", centroids, "--labels-out", dir.path("l.npy"), "--report", dir.path("r.json")};
  }
  /// Runs and checks: exit 2, the message, and the folder holds only the inputs.
  void expect_error(const std::vector<std::string>& args, const std::vector<std::string>& needles) const {
    const auto before = dir.entries();
    check_usage_error(run_fkm(args, dir), needles);
    CHECK(dir.entries() == before);
  }
  std::string file(const std::string& name, const std::string& bytes) const {
    write_bytes(dir.path(name), bytes);
    return dir.path(name);
  }
  std::string f32_file(const std::string& name, const std::vector<std::int64_t>& shape, std::vector<float> v) const {
    std::size_t count = 1;
    for (std::int64_t s : shape) count *= std::size_t(s);
    v.resize(count, 0.5f);
    return file(name, npy_bytes("<f4", shape, fkm_io_test::as_bytes(v)));
  }
};

}  // namespace

TEST_CASE("batch bad input: empty, damaged and truncated 3-D files") {
  Fixture f;
  f.expect_error(f.fit(f.f32_file("b0.npy", {0, 4, 3}, {}), {"--k", "2"}), {"b0.npy", "(0, 4, 3)", "zero problems"});
  f.expect_error(f.fit(f.f32_file("n0.npy", {2, 0, 3}, {}), {"--k", "2"}), {"n0.npy", "(2, 0, 3)", "zero rows"});
  f.expect_error(f.fit(f.f32_file("d0.npy", {2, 4, 0}, {}), {"--k", "2"}), {"d0.npy", "(2, 4, 0)", "zero columns"});
  const std::string whole = npy_bytes("<f4", {2, 4, 3}, std::string(96, '\0'));
  f.expect_error(f.fit(f.file("short.npy", whole.substr(0, whole.size() - 1)), {"--k", "2"}),
                 {"short.npy", "shorter than the header says", "(2, 4, 3)", "96", "95"});
  f.expect_error(f.fit(f.file("cut.npy", whole.substr(0, 40)), {"--k", "2"}), {"cut.npy", "'header_len'", "beyond the end"});
  const std::string body(96, '\0');
  f.expect_error(f.fit(f.file("open.npy", npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4, 3}", body)),
                       {"--k", "2"}),
                 {"open.npy", "'shape'", "expected ',' or ')'"});
  f.expect_error(f.fit(f.file("hole.npy", npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (2, , 3), }", body)),
                       {"--k", "2"}),
                 {"hole.npy", "'shape'", "non-negative integer"});
  f.expect_error(f.fit(f.file("fshort.npy", npy_raw("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 4, 3), }", body)),
                       {"--k", "2"}),
                 {"fshort.npy", "shorter than the header says", "192"});
  f.expect_error(f.fit(f.file("c8.npy", npy_bytes("<c8", {2, 4, 3}, std::string(192, '\0'))), {"--k", "2"}), {"c8.npy", "'<c8'"});
  f.expect_error(f.fit(f.good, {"--k", "2", "--dtype", "bf16"}), {"good.npy", "bfloat16", "'<f4'"});
  // predict reads the same way
  f.expect_error({"predict", f.file("p.npy", whole.substr(0, 40)), "--centroids", f.good, "--labels-out", f.dir.path("l.npy")},
                 {"p.npy", "'header_len'"});
}

TEST_CASE("batch bad input: K larger than a problem, NaN in one problem") {
  Fixture f;
  f.expect_error(f.fit(f.good, {"--k", "41"}), {"--k 41", "larger than the number of rows per problem", "good.npy", "(40)"});
  std::vector<float> v(f.values.begin(), f.values.end());
  v[std::size_t((2 * kN + 4) * kD + 1)] = std::numeric_limits<float>::quiet_NaN();
  f.expect_error(f.fit(f.f32_file("nan.npy", {kProblems, kN, kD}, v), {"--k", "2"}),
                 {"nan.npy: problem 2: non-finite value (NaN or Inf) at row 4, column 1"});
  f.expect_error({"predict", f.file("nanp.npy", npy_bytes("<f4", {kProblems, kN, kD}, fkm_io_test::as_bytes(v))), "--centroids",
                  f.f32_file("cen.npy", {2, kD}, {}), "--labels-out", f.dir.path("l.npy")},
                 {"nanp.npy: problem 2: non-finite value (NaN or Inf) at row 4, column 1"});
}

TEST_CASE("batch bad input: weights of the wrong shape or values") {
  Fixture f;
  f.expect_error(f.fit(f.good, {"--k", "2", "--weights", f.f32_file("w23.npy", {2, kN}, {})}),
                 {"--weights", "w23.npy", "(2, 40)", "(problems, rows) = (3, 40)", "(40,)"});
  f.expect_error(f.fit(f.good, {"--k", "2", "--weights", f.f32_file("w341.npy", {kProblems, kN, 1}, {})}),
                 {"--weights", "w341.npy", "(3, 40, 1)"});
  f.expect_error(f.fit(f.good, {"--k", "2", "--weights", f.f32_file("w39.npy", {kN - 1}, {})}),
                 {"--weights", "w39.npy", "39 weights", "each problem", "40 rows"});
  std::vector<float> w(std::size_t(kProblems * kN), 1.f);
  w[std::size_t(kN + 3)] = -1.f;
  f.expect_error(f.fit(f.good, {"--k", "2", "--weights", f.f32_file("wneg.npy", {kProblems, kN}, w)}),
                 {"--weights", "wneg.npy", "weight of problem 1 at row 3", ">= 0"});
  // integer weights are read exactly, as 1-D ones: all zero here, so too few are positive
  f.expect_error(f.fit(f.good, {"--k", "2", "--weights", f.file("wi.npy", npy_bytes("<i4", {kProblems, kN}, std::string(480, '\0')))}),
                 {"--weights", "wi.npy", "problem 0", "0 weights are > 0"});
  // Problem 1 with a single point of positive weight cannot have 2 clusters.
  w.assign(w.size(), 1.f);
  for (std::int64_t i = 1; i < kN; ++i) w[std::size_t(kN + i)] = 0.f;
  f.expect_error(f.fit(f.good, {"--k", "2", "--weights", f.f32_file("wone.npy", {kProblems, kN}, w)}),
                 {"--weights", "wone.npy", "problem 1: 1 weights are > 0", "--k 2"});
}

TEST_CASE("batch bad input: --init and --centroids files of the wrong shape or values") {
  Fixture f;
  f.expect_error(f.fit(f.good, {"--k", "3", "--init", f.f32_file("c323.npy", {kProblems, 2, kD}, {})}),
                 {"--init", "c323.npy", "(3, 2, 3)", "(problems, k, d) = (3, 3, 3)"});
  f.expect_error(f.fit(f.good, {"--k", "2", "--init", f.f32_file("c223.npy", {2, 2, kD}, {})}),
                 {"--init", "c223.npy", "(2, 2, 3)", "(problems, k, d) = (3, 2, 3)"});
  f.expect_error(f.fit(f.good, {"--k", "2", "--init", f.f32_file("c24.npy", {2, 4}, {})}), {"--init", "c24.npy", "(2, 4)"});
  std::vector<float> c(std::size_t(kProblems * 2 * kD), 0.5f);
  c[std::size_t((2 * 2 + 1) * kD + 1)] = std::numeric_limits<float>::infinity();
  f.expect_error(f.fit(f.good, {"--k", "2", "--init", f.f32_file("cinf.npy", {kProblems, 2, kD}, c)}),
                 {"--init", "cinf.npy", "problem 2, row 1, column 1"});
  // A batch of centroids for one 2-D problem.
  const std::string two_d = write_data(f.dir, "f32", blob_values(kN, kD, 4, 1), kN, kD, "one");
  f.expect_error(f.fit(two_d, {"--k", "2", "--init", f.f32_file("cb.npy", {kProblems, 2, kD}, {})}),
                 {"--init", "cb.npy", "(3, 2, 3)", "a batch of centroids", "one problem"});
  f.expect_error({"predict", two_d, "--centroids", f.dir.path("cb.npy"), "--labels-out", f.dir.path("l.npy")},
                 {"--centroids", "cb.npy", "a batch of centroids"});
  // predict: the batch of centroids must match DATA's problems and columns.
  f.expect_error(f.predict(f.f32_file("p223.npy", {2, 2, kD}, {})), {"--centroids", "p223.npy", "(problems, k, d) = (3, k, 3)"});
  f.expect_error(f.predict(f.f32_file("p324.npy", {kProblems, 2, kD + 1}, {})), {"--centroids", "p324.npy", "(3, 2, 4)"});
  f.expect_error(f.predict(f.f32_file("p24.npy", {2, kD + 1}, {})), {"--centroids", "p24.npy", "4 columns", "3"});
}
