// Interrupting `fkm fit`: SIGINT or SIGTERM stops it at the next iteration boundary with exit
// 130 / 143 and one line on stderr, leaving no output or temporary file; a second signal stops
// it at once, still removing the temporary files.
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <fstream>
#include <iterator>
#include <thread>

#include "cli_support.hpp"

using namespace fkm_cli_test;
using fkm_io_test::ScratchDir;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::string line;
  for (char c : text) {
    if (c == '\n') {
      if (!line.empty()) out.push_back(line);
      line.clear();
    } else {
      line += c;
    }
  }
  if (!line.empty()) out.push_back(line);
  return out;
}

/// The file's text, or "" while the child has not created it yet.
std::string text_of(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

/// Waits (up to 60 s: sanitizer builds are slow) until `path` contains `needle`.
bool wait_for_text(const std::string& path, const std::string& needle) {
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60)) {
    if (text_of(path).find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

/// Kills and reaps the child if a failed REQUIRE leaves the test early (it would run forever).
struct ChildGuard {
  int pid;
  bool reaped = false;
  int wait() {
    reaped = true;
    return wait_fkm(pid);
  }
  ~ChildGuard() {
    if (!reaped) {
      ::kill(pid, SIGKILL);
      wait_fkm(pid);
    }
  }
};

/// Sends SIGINT to a fit that is iterating: it must stop with exit 130 and, last on stderr, the
/// line saying where it stopped and that nothing was written. Returns that line.
std::string interrupt_between_iterations(ChildGuard& child, const std::string& err) {
  ::kill(child.pid, SIGINT);
  CHECK(child.wait() == 130);
  const auto lines = lines_of(text_of(err));
  REQUIRE(!lines.empty());
  INFO(lines.back());
  CHECK(lines.back().rfind("fkm: interrupted by SIGINT after iteration ", 0) == 0);
  CHECK(lines.back().find("no output file written") != std::string::npos);
  return lines.back();
}

struct LongFit {
  ScratchDir dir, logs;  // logs apart, so dir holds only the input and what fkm writes
  std::string data;
  std::vector<std::string> before;
  /// n x 16 points, k clusters, tol 0 and no iteration limit to speak of: runs until stopped.
  LongFit(std::int64_t n, std::int64_t k) : k_(k) {
    data = write_data(dir, "f32", blob_values(n, 16, 50, 9), n, 16, "long");
    before = dir.entries();
  }
  std::vector<std::string> args(bool quiet) const {
    std::vector<std::string> a = {"fit",  data, "--k", std::to_string(k_), "--tol", "0", "--max-iter", "1000000000",
                                  "--threads", "1", "--labels-out", dir.path("l.npy"), "--centroids-out",
                                  dir.path("c.npy"), "--report", dir.path("r.json")};
    if (quiet) a.push_back("--quiet");
    a.insert(a.end(), {"--init", "random"});  // no k-means++ cost before the first iteration
    // The timings above are for one CPU thread; a GPU picked by auto would finish an iteration
    // before the second signal arrives.
    a.insert(a.end(), {"--backend", "cpu"});
    return a;
  }
  std::int64_t k_;
};

}  // namespace

TEST_CASE("interrupt: SIGINT during fit stops at an iteration boundary, exit 130, nothing written") {
  LongFit f(3000, 40);
  const std::string err = f.logs.path("err.txt");
  const int pid = spawn_fkm(f.args(false), err);
  ChildGuard child{pid};
  REQUIRE(wait_for_text(err, "iter 1/"));  // the first iteration is done: we are inside the fit
  interrupt_between_iterations(child, err);
  CHECK(f.dir.entries() == f.before);
}

TEST_CASE("interrupt: SIGTERM during fit, exit 143 and exactly one line on stderr") {
  LongFit f(3000, 40);
  const std::string err = f.logs.path("err.txt");
  const int pid = spawn_fkm(f.args(true), err);
  ChildGuard child{pid};
  // --quiet prints nothing until the end: wait for the three temporary files, then a little.
  const auto t0 = std::chrono::steady_clock::now();
  while (f.dir.entries().size() < f.before.size() + 3 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(f.dir.entries().size() == f.before.size() + 3);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ::kill(pid, SIGTERM);
  CHECK(child.wait() == 143);
  const auto lines = lines_of(text_of(err));
  REQUIRE(lines.size() == 1);
  INFO(lines[0]);
  CHECK(lines[0].rfind("fkm: interrupted by SIGTERM ", 0) == 0);
  CHECK(f.dir.entries() == f.before);
}

TEST_CASE("interrupt: a second signal stops a long iteration at once, still removing temporary files") {
  // Iterations of ~8e9 flops on one thread: the second signal arrives long before the first
  // iteration boundary, so only the immediate path can end the process quickly.
  LongFit f(60000, 4000);
  const std::string err = f.logs.path("err.txt");
  const int pid = spawn_fkm(f.args(false), err);
  ChildGuard child{pid};
  REQUIRE(wait_for_text(err, "iter 1/"));
  const auto t0 = std::chrono::steady_clock::now();
  ::kill(pid, SIGINT);
  // A pause, so the first is delivered before the second is sent (two pending SIGINTs merge).
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::kill(pid, SIGINT);
  CHECK(child.wait() == 130);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(seconds < 5);
  const auto lines = lines_of(text_of(err));
  REQUIRE(!lines.empty());
  INFO(lines.back());
  CHECK(lines.back() == "fkm: interrupted by SIGINT again: stopped at once; no output file written");
  CHECK(f.dir.entries() == f.before);
}

TEST_CASE("interrupt: SIGINT during a batched fit stops it, naming the problem, nothing written") {
  ScratchDir dir, logs;
  std::vector<double> values;
  for (int b = 0; b < 2; ++b) {
    const auto one = blob_values(3000, 16, 50, 9 + b);
    values.insert(values.end(), one.begin(), one.end());
  }
  const std::string data = write_batch(dir, "f32", values, 2, 3000, 16, "long");
  const auto before = dir.entries();
  const std::string err = logs.path("err.txt");
  const int pid = spawn_fkm({"fit", data, "--k", "40", "--tol", "0", "--max-iter", "1000000000", "--threads", "1",
                                "--init", "random", "--backend", "cpu", "--labels-out", dir.path("l.npy"),
                                "--centroids-out", dir.path("c.npy"), "--report", dir.path("r.json")},
                               err);
  ChildGuard child{pid};
  REQUIRE(wait_for_text(err, "problem 0 (1 of 2)  iter 1/"));  // inside problem 0's fit
  CHECK(interrupt_between_iterations(child, err).find(" of problem 0; no output file written") != std::string::npos);
  CHECK(dir.entries() == before);
}

TEST_CASE("crash: a fatal signal still removes the temporary files, then ends fkm as before") {
  // A bug (SIGSEGV) or an input file shrinking under its mapping (SIGBUS) must not leave the
  // .NAME.tmp-XXXXXX files behind. kill() stands in for the fault: the handler is the same.
  LongFit f(3000, 40);
  const std::string err = f.logs.path("err.txt");
  const int pid = spawn_fkm(f.args(false), err);
  ChildGuard child{pid};
  REQUIRE(wait_for_text(err, "iter 1/"));
  REQUIRE(f.dir.entries().size() == f.before.size() + 3);  // the three temporary files exist now
  ::kill(pid, SIGSEGV);
  const int code = child.wait();
  CHECK(code != 0);  // 139 (128 + SIGSEGV), or a sanitizer's exit code: the signal goes on to it
  CHECK(text_of(err).find("fkm: error: internal error: crashed with SIGSEGV; no output file written") != std::string::npos);
  CHECK(f.dir.entries() == f.before);
}
