// Interrupting `fkm fit`: SIGINT or SIGTERM stops it at the next iteration boundary with exit
// 130 / 143 and one line on stderr, leaving no output or temporary file; a second signal stops
// it at once, still removing the temporary files.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <iterator>
#include <thread>

#include "cli_support.hpp"

using namespace fkm_cli_test;
using fkm_io_test::ScratchDir;

namespace {

/// Starts fkm with stderr to `err_path` (stdout to /dev/null).
int spawn_logged(const std::vector<std::string>& args, const std::string& err_path) {
  std::vector<std::string> argv_s{FKM_CLI_PATH};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (null < 0 || err < 0 || ::dup2(null, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(126);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return int(pid);
}

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
  const int pid = spawn_logged(f.args(false), err);
  ChildGuard child{pid};
  REQUIRE(wait_for_text(err, "iter 1/"));  // the first iteration is done: we are inside the fit
  ::kill(pid, SIGINT);
  CHECK(child.wait() == 130);
  const auto lines = lines_of(text_of(err));
  REQUIRE(!lines.empty());
  INFO(lines.back());
  CHECK(lines.back().rfind("fkm: interrupted by SIGINT after iteration ", 0) == 0);
  CHECK(lines.back().find("no output file written") != std::string::npos);
  CHECK(f.dir.entries() == f.before);
}

TEST_CASE("interrupt: SIGTERM during fit, exit 143 and exactly one line on stderr") {
  LongFit f(3000, 40);
  const std::string err = f.logs.path("err.txt");
  const int pid = spawn_logged(f.args(true), err);
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
  const int pid = spawn_logged(f.args(false), err);
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

TEST_CASE("crash: a fatal signal still removes the temporary files, then ends fkm as before") {
  // A bug (SIGSEGV) or an input file shrinking under its mapping (SIGBUS) must not leave the
  // .NAME.tmp-XXXXXX files behind. kill() stands in for the fault: the handler is the same.
  LongFit f(3000, 40);
  const std::string err = f.logs.path("err.txt");
  const int pid = spawn_logged(f.args(false), err);
  ChildGuard child{pid};
  REQUIRE(wait_for_text(err, "iter 1/"));
  REQUIRE(f.dir.entries().size() == f.before.size() + 3);  // the three temporary files exist now
  ::kill(pid, SIGSEGV);
  const int code = child.wait();
  CHECK(code != 0);  // 139 (128 + SIGSEGV), or a sanitizer's exit code: the signal goes on to it
  CHECK(text_of(err).find("fkm: error: internal error: crashed with SIGSEGV; no output file written") != std::string::npos);
  CHECK(f.dir.entries() == f.before);
}
