// Replays the fuzzers' seed corpus and every saved fuzzer finding (tests/fuzz/regressions/)
// through the checks the fuzz targets run, so each crash found once stays fixed in every build
// (the ASan/UBSan preset included) without needing clang or libFuzzer.
#include <catch2/catch.hpp>

#include <dirent.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "fkm/error.hpp"
#include "fkm/io.hpp"
#include "fuzz_checks.hpp"

namespace {

/// The regular files in `dir`, sorted, skipping dot files (.keep).
std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') out.push_back(dir + "/" + e->d_name);
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::uint8_t> contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Feeds each file to `check` from an exact-size heap buffer (as libFuzzer does), so the
/// sanitizers see a read past its end.
std::size_t replay(const std::vector<std::string>& files, void (*check)(const std::uint8_t*, std::size_t)) {
  for (const std::string& f : files) {
    INFO(f);
    const std::vector<std::uint8_t> bytes = contents(f);
    std::unique_ptr<std::uint8_t[]> exact(new std::uint8_t[bytes.size() + (bytes.empty() ? 1 : 0)]);
    std::copy(bytes.begin(), bytes.end(), exact.get());
    check(exact.get(), bytes.size());
  }
  return files.size();
}

const std::string kFuzzDir = FKM_FUZZ_DIR;

}  // namespace

TEST_CASE("fuzz corpus: every seed file goes through the readers without a crash") {
  const auto npy = files_in(kFuzzDir + "/corpus/npy");
  const auto vecs = files_in(kFuzzDir + "/corpus/vecs");
  REQUIRE(npy.size() >= 30);  // the committed corpus is there (make_corpus.py)
  REQUIRE(vecs.size() >= 10);
  replay(npy, fkm_fuzz::check_npy_header);
  replay(npy, fkm_fuzz::check_npy_reader);
  replay(vecs, fkm_fuzz::check_vecs_reader);
}

TEST_CASE("fuzz regressions: every saved finding stays fixed") {
  replay(files_in(kFuzzDir + "/regressions/npy_header"), fkm_fuzz::check_npy_header);
  replay(files_in(kFuzzDir + "/regressions/npy_reader"), fkm_fuzz::check_npy_reader);
  replay(files_in(kFuzzDir + "/regressions/vecs_reader"), fkm_fuzz::check_vecs_reader);
}

TEST_CASE("fuzz regression: an empty array's other dimensions cannot overflow the column count") {
  // shape (0, 2^32, 2^32) has zero elements, but the reader multiplied the trailing dimensions
  // into a column count: a signed 64-bit overflow (UBSan). Now refused by the header parser.
  const std::string path = kFuzzDir + "/regressions/npy_reader/zero-first-dimension-overflows-cols.npy";
  const std::vector<std::uint8_t> bytes = contents(path);
  REQUIRE(!bytes.empty());
  try {
    fkm::io::ArrayFile::open_memory(bytes.data(), bytes.size(), "zero.npy");
    FAIL("the shape was accepted");
  } catch (const fkm::Error& e) {
    CHECK(e.code() == fkm::ErrorCode::Io);
    CHECK(std::string(e.what()).find("field 'shape' describes more than 2^59 elements") != std::string::npos);
  }
}
