#include "cli_support.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <random>
#include <sstream>

#include "fkm/half.hpp"
#include "fkm/io.hpp"

namespace fkm_cli_test {

std::vector<std::string> RunResult::err_lines() const {
  std::vector<std::string> lines;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

RunResult run_fkm(const std::vector<std::string>& args, const fkm_io_test::ScratchDir& dir) {
  const std::string out_path = dir.path(".stdout"), err_path = dir.path(".stderr");
  RunResult r;
  r.exit_code = wait_fkm(spawn_fkm(args, err_path, out_path));
  r.out = fkm_io_test::read_bytes(out_path);
  r.err = fkm_io_test::read_bytes(err_path);
  ::unlink(out_path.c_str());
  ::unlink(err_path.c_str());
  return r;
}

int spawn_fkm(const std::vector<std::string>& args, const std::string& err_path, const std::string& out_path) {
  std::vector<std::string> argv_s{FKM_CLI_PATH};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {  // the child: only async-signal-safe calls until execv
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(126);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return int(pid);
}

int wait_fkm(int pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<double> blob_values(std::int64_t n, std::int64_t d, std::int64_t blobs, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int> centre(-80, 80), noise(-8, 8);
  std::vector<double> centres(std::size_t(blobs * d)), v(std::size_t(n * d));
  for (auto& c : centres) c = centre(gen);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < d; ++j) v[std::size_t(i * d + j)] = centres[std::size_t((i % blobs) * d + j)] + noise(gen) / 8.0;
  return v;
}

namespace {

/// Writes v as a .npy of `kind` and `shape`; "" when kind is not a .npy kind.
std::string write_npy_kind(const fkm_io_test::ScratchDir& dir, const std::string& kind, const std::vector<double>& v,
                           const std::vector<std::int64_t>& shape, const std::string& stem) {
  using fkm::io::ElementType;
  if (kind == "f32") {
    const std::vector<float> f(v.begin(), v.end());
    fkm::io::save_npy(dir.path(stem + ".npy"), ElementType::F32, shape, f.data());
    return dir.path(stem + ".npy");
  }
  if (kind == "f64") {
    fkm::io::save_npy(dir.path(stem + ".npy"), ElementType::F64, shape, v.data());
    return dir.path(stem + ".npy");
  }
  if (kind == "f16") {
    std::vector<fkm::half> h;
    for (double x : v) h.push_back(fkm::to_half(float(x)));
    fkm::io::save_npy(dir.path(stem + ".npy"), ElementType::F16, shape, h.data());
    return dir.path(stem + ".npy");
  }
  if (kind == "bf16") {
    std::vector<fkm::bfloat16> b;
    for (double x : v) b.push_back(fkm::to_bfloat16(float(x)));
    fkm::io::save_npy(dir.path(stem + ".bf16.npy"), ElementType::BF16, shape, b.data());
    return dir.path(stem + ".bf16.npy");
  }
  return "";
}

template <class T>
std::vector<T> read_all(const std::string& path, fkm::io::ElementType type) {
  const auto f = fkm::io::ArrayFile::open(path);
  std::vector<T> out(std::size_t(f.rows() * f.cols()));
  f.read_rows(0, f.rows(), type, out.data());
  return out;
}

}  // namespace

std::string write_batch(const fkm_io_test::ScratchDir& dir, const std::string& kind, const std::vector<double>& v,
                        std::int64_t problems, std::int64_t n, std::int64_t d, const std::string& stem) {
  const std::string path = write_npy_kind(dir, kind, v, {problems, n, d}, stem);
  REQUIRE(!path.empty());
  return path;
}

std::vector<double> read_all_f64(const std::string& path) { return read_all<double>(path, fkm::io::ElementType::F64); }
std::vector<std::int32_t> read_all_i32(const std::string& path) {
  return read_all<std::int32_t>(path, fkm::io::ElementType::I32);
}

std::string write_data(const fkm_io_test::ScratchDir& dir, const std::string& kind, const std::vector<double>& v,
                       std::int64_t n, std::int64_t d, const std::string& stem) {
  const std::string npy = write_npy_kind(dir, kind, v, {n, d}, stem);
  if (!npy.empty()) return npy;
  std::string bytes;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int32_t dim = std::int32_t(d);
    bytes.append(reinterpret_cast<const char*>(&dim), 4);
    for (std::int64_t j = 0; j < d; ++j) {
      const double x = v[std::size_t(i * d + j)];
      if (kind == "fvecs") {
        const float f = float(x);
        bytes.append(reinterpret_cast<const char*>(&f), 4);
      } else {
        bytes += char(std::uint8_t(std::lround(std::fmin(255.0, std::fmax(0.0, x + 128.0)))));
      }
    }
  }
  const std::string path = dir.path(stem + "." + kind);
  fkm_io_test::write_bytes(path, bytes);
  return path;
}

void check_usage_error(const RunResult& r, const std::vector<std::string>& needles) {
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  const auto lines = r.err_lines();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("fkm: error: ", 0) == 0);
  for (const auto& n : needles) CHECK(lines[0].find(n) != std::string::npos);
}

}  // namespace fkm_cli_test
