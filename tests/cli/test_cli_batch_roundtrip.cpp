// A 3-D .npy DATA through the program: the batch's labels (B, N) and centroids (B, K, D) equal,
// bit for bit, fit_batched on the file and each problem's own 2-D file through `fkm fit`; the
// report has one entry per problem and the totals; predict reproduces the fit; (B, N) and (N,)
// weights, (B, K, D) and (K, D) initial centroids go through to the API.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "fkm/fkm.hpp"
#include "fkm/io.hpp"

using namespace fkm_cli_test;
using fkm_io_test::read_bytes;
using fkm_io_test::ScratchDir;

namespace {

constexpr std::int64_t kProblems = 3, kN = 61, kD = 7, kK = 5;

/// kProblems x kN x kD values, each problem its own blobs.
std::vector<double> batch_values() {
  std::vector<double> v;
  for (std::int64_t b = 0; b < kProblems; ++b) {
    const auto one = blob_values(kN, kD, kK, 30 + b);
    v.insert(v.end(), one.begin(), one.end());
  }
  return v;
}

std::vector<double> stored(const std::vector<double>& c, bool fp64) {
  std::vector<double> out;
  for (double x : c) out.push_back(fp64 ? x : double(float(x)));
  return out;
}

template <class T>
std::vector<T> slice(const std::vector<T>& v, std::int64_t b, std::int64_t per_problem) {
  return std::vector<T>(v.begin() + b * per_problem, v.begin() + (b + 1) * per_problem);
}

/// Runs a command that must succeed quietly.
void run_ok(const std::vector<std::string>& args, const ScratchDir& dir) {
  const auto r = run_fkm(args, dir);
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.empty());
  CHECK(r.err.empty());
}

}  // namespace

TEST_CASE("batch: fit equals fit_batched and each problem's own fit, for every dtype; predict reproduces it") {
  const auto values = batch_values();
  for (const std::string kind : {"f16", "bf16", "f32", "f64"}) {
    SECTION(kind) {
      ScratchDir dir;
      const std::string data = write_batch(dir, kind, values, kProblems, kN, kD);
      run_ok({"fit", data, "--k", "5", "--seed", "5", "--labels-out", dir.path("l.npy"), "--centroids-out", dir.path("c.npy"),
              "--report", dir.path("r.json"), "-q"},
             dir);
      const auto m = fkm::io::load_batch(data);
      const bool fp64 = m.view().dtype == fkm::DType::F64;
      fkm::KMeansParams p;
      p.k = kK;
      p.seed = 5;
      const auto api = fkm::fit_batched(m.view(), p);
      REQUIRE(fkm::io::ArrayFile::open(dir.path("l.npy")).shape() == std::vector<std::int64_t>{kProblems, kN});
      REQUIRE(fkm::io::ArrayFile::open(dir.path("c.npy")).shape() == std::vector<std::int64_t>{kProblems, kK, kD});
      CHECK(fkm::io::ArrayFile::open(dir.path("c.npy")).element_type() ==
            (fp64 ? fkm::io::ElementType::F64 : fkm::io::ElementType::F32));
      const auto labels = read_all_i32(dir.path("l.npy"));
      const auto centroids = read_all_f64(dir.path("c.npy"));
      const auto report = nlohmann::json::parse(read_bytes(dir.path("r.json")));
      CHECK(report["problems"] == kProblems);
      CHECK(report["n"] == kN);
      CHECK(report["d"] == kD);
      CHECK(report["k"] == kK);
      CHECK_FALSE(report.contains("best_init"));
      REQUIRE(report["per_problem"].size() == std::size_t(kProblems));
      double total = 0;
      std::int64_t iterations = 0;
      for (std::int64_t b = 0; b < kProblems; ++b) {
        INFO("problem " << b);
        const auto& r = api[std::size_t(b)];
        CHECK(slice(labels, b, kN) == r.labels);
        CHECK(slice(centroids, b, kK * kD) == stored(r.centroids, fp64));
        const auto& entry = report["per_problem"][std::size_t(b)];
        CHECK(entry["problem"] == b);
        CHECK(entry["inertia"].get<double>() == r.inertia);
        CHECK(entry["iterations"] == r.n_iter);
        CHECK(entry["converged"] == r.converged);
        CHECK(entry["best_init"] == r.best_init);
        REQUIRE(entry["history"].size() == r.history.size());
        total += r.inertia;
        iterations += r.n_iter;

        // Problem b as its own 2-D file of the same type, through the program: the same bytes.
        const std::string alone = write_data(dir, kind, slice(values, b, kN * kD), kN, kD, "alone" + std::to_string(b));
        run_ok({"fit", alone, "--k", "5", "--seed", "5", "--labels-out", dir.path("la.npy"), "--centroids-out",
                dir.path("ca.npy"), "-q"},
               dir);
        CHECK(read_all_i32(dir.path("la.npy")) == slice(labels, b, kN));
        CHECK(read_all_f64(dir.path("ca.npy")) == slice(centroids, b, kK * kD));
      }
      CHECK(report["inertia"].get<double>() == total);
      CHECK(report["iterations"] == iterations);

      // predict with the written centroids: BatchedKMeans with the same centroids, and (well-separated
      // blobs, no near-ties) the fit's labels.
      run_ok({"predict", data, "--centroids", dir.path("c.npy"), "--labels-out", dir.path("p.npy"), "--report",
              dir.path("pr.json"), "-q"},
             dir);
      fkm::BatchedKMeans from_file;
      from_file.set_centroids(centroids, kProblems, kK, kD);
      const auto predicted = read_all_i32(dir.path("p.npy"));
      CHECK(fkm::io::ArrayFile::open(dir.path("p.npy")).shape() == std::vector<std::int64_t>{kProblems, kN});
      CHECK(predicted == from_file.predict(m.view()));
      CHECK(predicted == labels);
      const auto pr = nlohmann::json::parse(read_bytes(dir.path("pr.json")));
      CHECK(pr["problems"] == kProblems);
      const auto scores = from_file.score(m.view());
      REQUIRE(pr["per_problem"].size() == std::size_t(kProblems));
      for (std::int64_t b = 0; b < kProblems; ++b)
        CHECK(pr["per_problem"][std::size_t(b)]["inertia"].get<double>() == -scores[std::size_t(b)]);
    }
  }
}

TEST_CASE("batch: (B, N) and shared (N,) weights, (B, K, D) and shared (K, D) --init files go through to the API") {
  ScratchDir dir;
  const auto values = batch_values();
  const std::string data = write_batch(dir, "f64", values, kProblems, kN, kD);
  std::vector<double> w(std::size_t(kProblems * kN));
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = double(i % 4);  // zeros included
  fkm::io::save_npy(dir.path("wb.npy"), fkm::io::ElementType::F64, {kProblems, kN}, w.data());
  const std::vector<float> w1(w.begin(), w.begin() + kN);
  fkm::io::save_npy(dir.path("w1.npy"), fkm::io::ElementType::F32, {kN}, w1.data());
  // Each problem's own first k points, and one shared start (problem 0's).
  std::vector<double> c0;
  for (std::int64_t b = 0; b < kProblems; ++b)
    c0.insert(c0.end(), values.begin() + b * kN * kD, values.begin() + (b * kN + kK) * kD);
  fkm::io::save_npy(dir.path("c0b.npy"), fkm::io::ElementType::F64, {kProblems, kK, kD}, c0.data());
  fkm::io::save_npy(dir.path("c01.npy"), fkm::io::ElementType::F64, {kK, kD}, c0.data());

  const std::vector<double> w1d(w1.begin(), w1.end());
  struct Case {
    const char *weights, *init;
    fkm::BatchedVectorView w;
    bool per_problem_init;
  };
  const Case cases[] = {{"wb.npy", "c0b.npy", fkm::host_batched_vector(w.data(), kProblems, kN), true},
                        {"w1.npy", "c01.npy", fkm::host_batched_vector(w1d.data(), kProblems, kN, 0), false}};
  for (const Case& c : cases) {
    INFO(c.weights << ", " << c.init);
    run_ok({"fit", data, "--k", "5", "--weights", dir.path(c.weights), "--init", dir.path(c.init), "--metric", "cosine",
            "--max-iter", "4", "--tol", "0", "--labels-out", dir.path("l.npy"), "--centroids-out", dir.path("c.npy"),
            "--report", dir.path("r.json"), "-q"},
           dir);
    fkm::KMeansParams p;
    p.k = kK;
    p.init = fkm::Init::Given;
    p.metric = fkm::Metric::Cosine;
    p.max_iter = 4;
    p.tol = 0;
    fkm::BatchedFitOptions o;
    o.weights = c.w;
    if (c.per_problem_init) o.initial_centroids = fkm::host_batched_view(c0.data(), kProblems, kK, kD);
    else p.initial_centroids = fkm::host_view(c0.data(), kK, kD);
    const auto api = fkm::fit_batched(fkm::host_batched_view(values.data(), kProblems, kN, kD), p, o);
    const auto labels = read_all_i32(dir.path("l.npy"));
    const auto centroids = read_all_f64(dir.path("c.npy"));
    const auto report = nlohmann::json::parse(read_bytes(dir.path("r.json")));
    CHECK(report["init"] == "file");
    CHECK(report["iterations"] == 4 * kProblems);
    for (std::int64_t b = 0; b < kProblems; ++b) {
      INFO("problem " << b);
      CHECK(slice(labels, b, kN) == api[std::size_t(b)].labels);
      CHECK(slice(centroids, b, kK * kD) == api[std::size_t(b)].centroids);
      CHECK(report["per_problem"][std::size_t(b)]["inertia"].get<double>() == api[std::size_t(b)].inertia);
    }
  }
  // A shared (K, D) model for predict: every problem against the same centroids.
  run_ok({"predict", data, "--centroids", dir.path("c01.npy"), "--labels-out", dir.path("p.npy"), "-q"}, dir);
  fkm::KMeans one;
  one.set_centroids(std::vector<double>(c0.begin(), c0.begin() + kK * kD), kK, kD);
  const auto predicted = read_all_i32(dir.path("p.npy"));
  for (std::int64_t b = 0; b < kProblems; ++b)
    CHECK(slice(predicted, b, kN) == one.predict(fkm::host_view(values.data() + b * kN * kD, kN, kD)));
}

TEST_CASE("batch: the progress lines name the problem") {
  ScratchDir dir;
  const std::string data = write_batch(dir, "f32", batch_values(), kProblems, kN, kD);
  const auto r = run_fkm({"fit", data, "--k", "5", "--max-iter", "3", "--tol", "0", "--n-init", "2"}, dir);
  REQUIRE(r.exit_code == 0);
  const auto lines = r.err_lines();
  REQUIRE(lines.size() >= 3);
  CHECK(lines.front() == "fkm: fit " + data + ": 3 problems of 61 x 7 float32, k = 5");
  CHECK(lines[1].rfind("fkm: problem 0 (1 of 3)  run 1/2  iter 1/3  inertia ", 0) == 0);
  CHECK(lines[lines.size() - 2].rfind("fkm: problem 2 (3 of 3)  run 2/2  iter 3/3 ", 0) == 0);  // the last state
  CHECK(lines.back().rfind("fkm: done: 3 problems, 9 iterations in all (0 converged), inertia ", 0) == 0);
}
