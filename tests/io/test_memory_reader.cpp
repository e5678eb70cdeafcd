// ArrayFile::open_memory: the same reader over bytes already in memory (the fuzz targets' entry
// point): same results and same errors as a file, and no view of misaligned memory.
#include <catch2/catch.hpp>

#include <cstring>

#include "fkm/io.hpp"
#include "io_support.hpp"

using fkm::ErrorCode;
using fkm::io::ArrayFile;
using fkm::io::ElementType;
using namespace fkm_io_test;

TEST_CASE("memory reader: the bytes of a file read as the file does") {
  const std::vector<float> v = {1.5f, -2.0f, 3.25f, 0.0f, 8.0f, -0.5f};
  const std::string bytes = npy_bytes("<f4", {3, 2}, as_bytes(v));
  ScratchDir dir;
  write_bytes(dir.path("a.npy"), bytes);
  const ArrayFile from_file = ArrayFile::open(dir.path("a.npy"));
  // Aligned copy of the bytes (std::string's buffer is not guaranteed to be 4-aligned).
  std::vector<double> storage(bytes.size() / 8 + 1);
  std::memcpy(storage.data(), bytes.data(), bytes.size());
  const ArrayFile from_memory = ArrayFile::open_memory(storage.data(), bytes.size(), "a.npy");
  CHECK(from_memory.shape() == from_file.shape());
  CHECK(from_memory.viewable());
  std::vector<float> a(6), b(6);
  from_file.read_rows(0, 3, ElementType::F32, a.data());
  from_memory.read_rows(0, 3, ElementType::F32, b.data());
  CHECK(a == v);
  CHECK(b == v);
  const fkm::io::DataMatrix m = fkm::io::load_matrix(from_memory);
  CHECK(m.mapped());
  CHECK(m.view().data == static_cast<const void*>(reinterpret_cast<const char*>(storage.data()) + (bytes.size() - 24)));
}

TEST_CASE("memory reader: misaligned bytes are copied, never viewed") {
  const std::vector<float> v = {1.0f, 2.0f, 3.0f, 4.0f};
  const std::string bytes = npy_bytes("<f4", {2, 2}, as_bytes(v));
  std::vector<double> storage(bytes.size() / 8 + 2);
  char* odd = reinterpret_cast<char*>(storage.data()) + 1;
  std::memcpy(odd, bytes.data(), bytes.size());
  const ArrayFile f = ArrayFile::open_memory(odd, bytes.size(), "odd.npy");
  CHECK_FALSE(f.viewable());
  const fkm::io::DataMatrix m = fkm::io::load_matrix(f);
  CHECK_FALSE(m.mapped());
  CHECK(static_cast<const float*>(m.view().data)[3] == 4.0f);
}

TEST_CASE("memory reader: empty or malformed bytes are refused like files, naming the source") {
  check_error([] { ArrayFile::open_memory(nullptr, 0, "empty.npy"); }, ErrorCode::Io, {"empty.npy", "empty"});
  const std::string junk = "not a numpy file";
  check_error([&] { ArrayFile::open_memory(junk.data(), junk.size(), "junk.npy"); }, ErrorCode::Io, {"junk.npy", "magic"});
  const std::int32_t d = -3;
  check_error([&] { ArrayFile::open_memory(&d, 4, "neg.fvecs"); }, ErrorCode::Io, {"neg.fvecs", "-3"});
  check_error([&] { ArrayFile::open_memory(junk.data(), junk.size(), "junk.txt"); }, ErrorCode::InvalidData, {"junk.txt"});
}
