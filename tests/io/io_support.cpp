#include "io_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "fkm/io.hpp"

namespace fkm_io_test {

ScratchDir::ScratchDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/fkm-test-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) FAIL("mkdtemp failed for " << templ);
  dir_ = buf.data();
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::vector<std::string> ScratchDir::entries() const {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), std::streamsize(bytes.size()));
  REQUIRE(f.good());
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f.good());
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

bool exists(const std::string& path) { return std::filesystem::exists(path); }

std::string npy_bytes(const std::string& descr, const std::vector<std::int64_t>& shape, const std::string& data) {
  return fkm::io::format_npy_header(descr, shape) + data;
}

std::string npy_raw(const std::string& dict, const std::string& data, int major) {
  const std::size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out("\x93NUMPY", 6);
  out += char(major);
  out += char(0);
  for (std::size_t i = 0; i < prefix - 8; ++i) out += char((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

void check_error(const std::function<void()>& f, fkm::ErrorCode code, const std::vector<std::string>& needles) {
  try {
    f();
  } catch (const fkm::Error& e) {
    INFO("message: " << e.what());
    CHECK(fkm::to_string(e.code()) == std::string(fkm::to_string(code)));
    for (const auto& n : needles) CHECK(std::string(e.what()).find(n) != std::string::npos);
    return;
  }
  FAIL("expected fkm::Error(" << fkm::to_string(code) << ") mentioning '" << (needles.empty() ? "" : needles[0]) << "'");
}

}  // namespace fkm_io_test
