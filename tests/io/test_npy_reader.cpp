// Reading .npy files: every dtype fkm accepts, byte order and Fortran order converted,
// row ranges read without the rest, and every unusable file refused with its name.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <future>

#include "fkm/half.hpp"
#include "fkm/io.hpp"
#include "io_support.hpp"

using fkm::ErrorCode;
using fkm::io::ElementType;
using namespace fkm_io_test;

namespace {

/// n x d values that are exact in every float type (small multiples of 1/8).
std::vector<double> values(std::int64_t n, std::int64_t d) {
  std::vector<double> v(std::size_t(n * d));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = double(int(i * 37 % 101) - 50) / 8.0;
  return v;
}

template <class T>
std::vector<T> narrowed(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

std::vector<double> read_all(const fkm::io::ArrayFile& f) {
  std::vector<double> out(std::size_t(f.rows() * f.cols()));
  f.read_rows(0, f.rows(), ElementType::F64, out.data());
  return out;
}

/// Widens every element of a host view.
std::vector<double> widen(const fkm::MatrixView& v) {
  std::vector<double> out;
  for (std::int64_t i = 0; i < v.rows; ++i)
    for (std::int64_t j = 0; j < v.cols; ++j) {
      const std::int64_t k = i * v.row_stride + j;
      switch (v.dtype) {
        case fkm::DType::F32: out.push_back(static_cast<const float*>(v.data)[k]); break;
        case fkm::DType::F64: out.push_back(static_cast<const double*>(v.data)[k]); break;
        case fkm::DType::F16: out.push_back(fkm::to_float(static_cast<const fkm::half*>(v.data)[k])); break;
        case fkm::DType::BF16: out.push_back(fkm::to_float(static_cast<const fkm::bfloat16*>(v.data)[k])); break;
      }
    }
  return out;
}

}  // namespace

TEST_CASE("npy reader: float16, float32, float64 and bfloat16 are mapped in place") {
  ScratchDir dir;
  const std::int64_t n = 7, d = 5;
  const auto v = values(n, d);
  std::vector<fkm::half> h;
  std::vector<fkm::bfloat16> b;
  for (double x : v) h.push_back(fkm::to_half(float(x)));
  for (double x : v) b.push_back(fkm::to_bfloat16(float(x)));
  write_bytes(dir.path("h.npy"), npy_bytes("<f2", {n, d}, as_bytes(h)));
  write_bytes(dir.path("f.npy"), npy_bytes("<f4", {n, d}, as_bytes(narrowed<float>(v))));
  write_bytes(dir.path("d.npy"), npy_bytes("<f8", {n, d}, as_bytes(v)));
  write_bytes(dir.path("x.bf16.npy"), npy_bytes("<u2", {n, d}, as_bytes(b)));
  write_bytes(dir.path("u.npy"), npy_bytes("<u2", {n, d}, as_bytes(b)));

  const std::pair<std::string, fkm::DType> cases[] = {
      {"h.npy", fkm::DType::F16}, {"f.npy", fkm::DType::F32}, {"d.npy", fkm::DType::F64}, {"x.bf16.npy", fkm::DType::BF16}};
  for (const auto& [name, dtype] : cases) {
    INFO(name);
    const auto m = fkm::io::load_matrix(dir.path(name));
    CHECK(m.mapped());
    CHECK(m.view().dtype == dtype);
    CHECK(m.view().rows == n);
    CHECK(m.view().cols == d);
    CHECK(widen(m.view()) == v);
    CHECK(read_all(m.file()) == v);
  }
  // '<u2' is bfloat16 only when asked: by the *.bf16.npy name or by the option.
  check_error([&] { fkm::io::load_matrix(dir.path("u.npy")); }, ErrorCode::InvalidData, {"u.npy", "'<u2'", "--dtype bf16"});
  fkm::io::ReadOptions bf16;
  bf16.u2_as_bf16 = true;
  CHECK(widen(fkm::io::load_matrix(dir.path("u.npy"), bf16).view()) == v);
  check_error([&] { fkm::io::load_matrix(dir.path("f.npy"), bf16); }, ErrorCode::InvalidData, {"f.npy", "'<f4'", "'<u2'"});
}

TEST_CASE("npy reader: big-endian and Fortran-order files are converted exactly") {
  ScratchDir dir;
  const std::int64_t n = 6, d = 4;
  const auto v = values(n, d);
  std::vector<double> transposed(v.size());
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < d; ++j) transposed[std::size_t(j * n + i)] = v[std::size_t(i * d + j)];
  write_bytes(dir.path("be.npy"), npy_bytes(">f8", {n, d}, as_big_endian(v)));
  write_bytes(dir.path("be4.npy"), npy_bytes(">f4", {n, d}, as_big_endian(narrowed<float>(v))));
  write_bytes(dir.path("fo.npy"), npy_raw("{'descr': '<f4', 'fortran_order': True, 'shape': (6, 4), }",
                                          as_bytes(narrowed<float>(transposed))));
  write_bytes(dir.path("fobe.npy"), npy_raw("{'descr': '>f8', 'fortran_order': True, 'shape': (6, 4), }",
                                            as_big_endian(transposed)));
  for (const char* name : {"be.npy", "be4.npy", "fo.npy", "fobe.npy"}) {
    INFO(name);
    const auto m = fkm::io::load_matrix(dir.path(name));
    CHECK_FALSE(m.mapped());
    CHECK_FALSE(m.file().viewable());
    CHECK(widen(m.view()) == v);
    std::vector<double> rows(2 * d);
    m.file().read_rows(3, 5, ElementType::F64, rows.data());
    CHECK(rows == std::vector<double>(v.begin() + 3 * d, v.begin() + 5 * d));
    check_error([&] { m.file().view_rows(0, 1); }, ErrorCode::Unsupported, {name, "read_rows"});
  }
  // A 1-D Fortran-order array is the same bytes as a C-order one.
  write_bytes(dir.path("fo1.npy"), npy_raw("{'descr': '<f8', 'fortran_order': True, 'shape': (3,), }", as_bytes(v).substr(0, 24)));
  CHECK(fkm::io::load_vector(dir.path("fo1.npy")) == std::vector<double>(v.begin(), v.begin() + 3));
}

TEST_CASE("npy reader: a row range is viewed in place and read alone") {
  ScratchDir dir;
  const std::int64_t n = 50, d = 3;
  const auto v = values(n, d);
  write_bytes(dir.path("f.npy"), npy_bytes("<f4", {n, d}, as_bytes(narrowed<float>(v))));
  const auto f = fkm::io::ArrayFile::open(dir.path("f.npy"));
  const auto full = f.view_rows(0, n);
  const auto part = f.view_rows(17, 29);
  CHECK(part.rows == 12);
  CHECK(part.data == static_cast<const float*>(full.data) + 17 * d);
  CHECK(widen(part) == std::vector<double>(v.begin() + 17 * d, v.begin() + 29 * d));
  std::vector<float> out(12 * d);
  f.read_rows(17, 29, ElementType::F32, out.data());
  CHECK(std::vector<double>(out.begin(), out.end()) == std::vector<double>(v.begin() + 17 * d, v.begin() + 29 * d));
  CHECK(f.view_rows(n, n).rows == 0);
  check_error([&] { f.view_rows(40, 51); }, ErrorCode::InvalidArgument, {"f.npy", "[40, 51)"});
  check_error([&] { f.read_rows(-1, 2, ElementType::F64, out.data()); }, ErrorCode::InvalidArgument, {"f.npy"});
  check_error([&] { f.read_rows(0, 1, ElementType::I32, out.data()); }, ErrorCode::InvalidArgument, {"f.npy", "int32"});
}

TEST_CASE("npy reader: data that is not aligned for its type is copied, not mis-read") {
  ScratchDir dir;
  const auto v = values(3, 2);
  // A hand-made 1.0 header of 53 bytes: the data starts at offset 63, not a multiple of 8.
  std::string dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }";
  while (10 + dict.size() + 1 < 63) dict += ' ';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + char(dict.size() + 1) + char(0) + dict + "\n" + as_bytes(v);
  write_bytes(dir.path("odd.npy"), bytes);
  const auto m = fkm::io::load_matrix(dir.path("odd.npy"));
  CHECK_FALSE(m.file().viewable());
  CHECK_FALSE(m.mapped());
  CHECK(widen(m.view()) == v);
}

TEST_CASE("npy reader: unusable files are refused, naming the file and the field") {
  ScratchDir dir;
  auto refused = [&](const std::string& name, const std::string& bytes, ErrorCode code, std::vector<std::string> needles) {
    write_bytes(dir.path(name), bytes);
    needles.push_back(name);
    check_error([&] { fkm::io::load_matrix(dir.path(name)); }, code, needles);
  };
  check_error([&] { fkm::io::load_matrix(dir.path("missing.npy")); }, ErrorCode::Io, {"missing.npy", "cannot open"});
  refused("empty.npy", "", ErrorCode::Io, {"empty file"});
  refused("c8.npy", npy_bytes("<c8", {2, 2}, std::string(32, '\0')), ErrorCode::InvalidData, {"'descr'", "'<c8'", "complex"});
  refused("obj.npy", npy_bytes("|O", {2, 2}, std::string(32, '\0')), ErrorCode::InvalidData, {"'descr'", "'|O'", "objects"});
  refused("i16.npy", npy_bytes("<i16", {2, 2}, std::string(64, '\0')), ErrorCode::InvalidData, {"'descr'", "'<i16'", "integer size"});
  refused("b2.npy", npy_bytes("<b2", {2, 2}, std::string(8, '\0')), ErrorCode::InvalidData, {"'descr'", "'<b2'"});
  refused("f16bo.npy", npy_bytes("|f2", {1, 1}, std::string(2, '\0')), ErrorCode::Io, {"'|f2'", "byte order"});
  refused("scalar.npy", npy_bytes("<f4", {}, std::string(4, '\0')), ErrorCode::InvalidData, {"'shape'", "0-D"});
  refused("v.npy", npy_bytes("<f4", {5}, std::string(20, '\0')), ErrorCode::InvalidData, {"'shape'", "(5,)", "1-D"});
  refused("b.npy", npy_bytes("<f4", {2, 2, 2}, std::string(32, '\0')), ErrorCode::InvalidData, {"'shape'", "3-D", "batch", "load_batch"});
  refused("t.npy", npy_bytes("<f4", {1, 2, 1, 2}, std::string(16, '\0')), ErrorCode::InvalidData, {"'shape'", "4-D"});
  refused("r0.npy", npy_bytes("<f4", {0, 3}, ""), ErrorCode::InvalidData, {"'shape'", "(0, 3)", "zero rows"});
  refused("c0.npy", npy_bytes("<f4", {3, 0}, ""), ErrorCode::InvalidData, {"'shape'", "(3, 0)", "zero columns"});
  refused("short.npy", npy_bytes("<f4", {10, 4}, std::string(100, '\0')), ErrorCode::Io,
          {"shorter than the header says", "(10, 4)", "160", "100"});
  refused("fo4.npy", npy_raw("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2, 2, 2), }", std::string(64, '\0')),
          ErrorCode::InvalidData, {"'fortran_order'", "4-D", "3-D arrays only"});
  check_error([&] { fkm::io::load_matrix(dir.path("data.csv")); }, ErrorCode::InvalidData, {"data.csv", "unknown file type"});
  // Bytes after the data: the shape in the header is not what was written.
  refused("long.npy", npy_bytes("<f4", {2, 2}, std::string(16 + 13, '\0')), ErrorCode::Io,
          {"longer than the header says", "(2, 2)", "16", "29", "13 extra bytes"});
  refused("long0.npy", npy_bytes("<f4", {0, 2}, std::string(8, '\0')), ErrorCode::Io, {"longer than the header says"});
  // The usual mix-ups are named: compressed files, archives, pickles.
  refused("gz.npy", std::string("\x1f\x8b\x08\x00", 4) + std::string(40, '\0'), ErrorCode::Io, {"wrong magic", "gzip"});
  refused("zip.npy", std::string("PK\x03\x04", 4) + std::string(40, '\0'), ErrorCode::Io, {"wrong magic", "zip archive", ".npz"});
  refused("pickle.npy", std::string("\x80\x04\x95", 3) + std::string(40, '\0'), ErrorCode::Io, {"wrong magic", "pickle"});
  check_error([&] { fkm::io::load_matrix(dir.path("a.npz")); }, ErrorCode::InvalidData, {"a.npz", ".npz archive", "numpy.save"});
}

TEST_CASE("npy reader: bool and integer arrays are converted exactly, to float32 or float64") {
  ScratchDir dir;
  const std::int64_t n = 3, d = 2;
  const std::vector<double> small{0, 1, 2, 3, 100, 7};   // fits every integer type
  const std::vector<double> neg{-128, 1, -2, 3, 127, -7};
  struct Case {
    std::string name, bytes;
    fkm::DType dtype;
    std::vector<double> values;
  };
  const std::vector<Case> cases{
      {"b.npy", npy_bytes("|b1", {n, d}, std::string("\x00\x01\x01\x00\x02\x00", 6)), fkm::DType::F32, {0, 1, 1, 0, 1, 0}},
      {"u1.npy", npy_bytes("|u1", {n, d}, as_bytes(narrowed<std::uint8_t>(small))), fkm::DType::F32, small},
      {"i1.npy", npy_bytes("|i1", {n, d}, as_bytes(narrowed<std::int8_t>(neg))), fkm::DType::F32, neg},
      {"i2.npy", npy_bytes("<i2", {n, d}, as_bytes(narrowed<std::int16_t>(neg))), fkm::DType::F32, neg},
      {"i4.npy", npy_bytes("<i4", {n, d}, as_bytes(narrowed<std::int32_t>(neg))), fkm::DType::F64, neg},
      {"u4.npy", npy_bytes("<u4", {n, d}, as_bytes(narrowed<std::uint32_t>(small))), fkm::DType::F64, small},
      {"i8.npy", npy_bytes("<i8", {n, d}, as_bytes(narrowed<std::int64_t>(neg))), fkm::DType::F64, neg},
      {"u8.npy", npy_bytes("<u8", {n, d}, as_bytes(narrowed<std::uint64_t>(small))), fkm::DType::F64, small},
      {"i8be.npy", npy_bytes(">i8", {n, d}, as_big_endian(narrowed<std::int64_t>(neg))), fkm::DType::F64, neg},
      // (3, 2) in Fortran order: the columns are stored one after the other.
      {"i4fo.npy", npy_raw("{'descr': '<i4', 'fortran_order': True, 'shape': (3, 2), }",
                           as_bytes(std::vector<std::int32_t>{-128, -2, 127, 1, 3, -7})),
       fkm::DType::F64, neg},
      // Integers a float64 holds exactly although they are beyond 2^53.
      {"big.npy", npy_bytes("<i8", {1, 2}, as_bytes(std::vector<std::int64_t>{std::int64_t(1) << 60, -(std::int64_t(1) << 62)})),
       fkm::DType::F64, {0x1p60, -0x1p62}},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    write_bytes(dir.path(c.name), c.bytes);
    const auto m = fkm::io::load_matrix(dir.path(c.name));
    CHECK_FALSE(m.mapped());
    CHECK(m.view().dtype == c.dtype);
    CHECK(widen(m.view()) == c.values);
    CHECK(read_all(m.file()) == c.values);
  }
  // A value the float type cannot hold is refused, never rounded, with its row and column.
  write_bytes(dir.path("i8big.npy"), npy_bytes("<i8", {2, 2}, as_bytes(std::vector<std::int64_t>{1, 2, 3, (std::int64_t(1) << 53) + 1})));
  check_error([&] { fkm::io::load_matrix(dir.path("i8big.npy")); }, ErrorCode::InvalidData,
              {"i8big.npy", "9007199254740993", "row 1, column 1", "'<i8'", "float64", "2^53"});
  write_bytes(dir.path("u8max.npy"), npy_bytes("<u8", {1, 1}, as_bytes(std::vector<std::uint64_t>{~std::uint64_t(0)})));
  check_error([&] { fkm::io::load_matrix(dir.path("u8max.npy")); }, ErrorCode::InvalidData, {"18446744073709551615", "row 0, column 0"});
  const auto i4 = fkm::io::ArrayFile::open(dir.path("i4.npy"));
  std::vector<float> as_f32(6);
  i4.read_rows(0, 3, ElementType::F32, as_f32.data());  // exact in float32 too
  CHECK(std::vector<double>(as_f32.begin(), as_f32.end()) == neg);
  write_bytes(dir.path("i4big.npy"), npy_bytes("<i4", {1, 1}, as_bytes(std::vector<std::int32_t>{(1 << 24) + 1})));
  check_error([&] { fkm::io::ArrayFile::open(dir.path("i4big.npy")).read_rows(0, 1, ElementType::F32, as_f32.data()); },
              ErrorCode::InvalidData, {"16777217", "float32", "2^24"});
  // '<u2' is never guessed to be uint16: it is bfloat16 when asked, else refused with both ways out.
  write_bytes(dir.path("u2.npy"), npy_bytes("<u2", {1, 1}, std::string(2, '\0')));
  check_error([&] { fkm::io::load_matrix(dir.path("u2.npy")); }, ErrorCode::InvalidData,
              {"u2.npy", "'<u2'", "uint16", "--dtype bf16", "astype(numpy.float32)"});
}

TEST_CASE("npy reader: a FIFO is refused at once, not waited on") {
  ScratchDir dir;
  const std::string fifo = dir.path("fifo.npy");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto load = std::async(std::launch::async, [&] { fkm::io::load_matrix(fifo); });
  if (load.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    // The reader is blocked in open(): a writer releases it, so the test fails instead of hanging.
    const int fd = ::open(fifo.c_str(), O_WRONLY);
    if (fd >= 0) ::close(fd);
    FAIL("opening a FIFO waited for a writer");
  }
  check_error([&] { load.get(); }, ErrorCode::Io, {"fifo.npy", "not a regular file"});
}

TEST_CASE("npy reader: vectors and labels") {
  ScratchDir dir;
  write_bytes(dir.path("w4.npy"), npy_bytes("<f4", {3}, as_bytes(std::vector<float>{0.5f, 0.f, 2.f})));
  write_bytes(dir.path("w8.npy"), npy_bytes("<f8", {3}, as_bytes(std::vector<double>{0.5, 0, 2})));
  write_bytes(dir.path("l.npy"), npy_bytes("<i4", {4}, as_bytes(std::vector<std::int32_t>{3, 0, -1, 7})));
  write_bytes(dir.path("l8.npy"), npy_bytes("<i8", {4}, std::string(32, '\0')));
  write_bytes(dir.path("m.npy"), npy_bytes("<f4", {3, 1}, std::string(12, '\0')));
  CHECK(fkm::io::load_vector(dir.path("w4.npy")) == std::vector<double>{0.5, 0, 2});
  CHECK(fkm::io::load_vector(dir.path("w8.npy")) == std::vector<double>{0.5, 0, 2});
  CHECK(fkm::io::load_labels(dir.path("l.npy")) == std::vector<std::int32_t>{3, 0, -1, 7});
  check_error([&] { fkm::io::load_vector(dir.path("m.npy")); }, ErrorCode::InvalidData, {"m.npy", "(3, 1)", "1-D"});
  CHECK(fkm::io::load_vector(dir.path("l.npy")) == std::vector<double>{3, 0, -1, 7});  // integers: exactly
  check_error([&] { fkm::io::load_labels(dir.path("w4.npy")); }, ErrorCode::InvalidData, {"w4.npy", "int32"});
  check_error([&] { fkm::io::load_labels(dir.path("l8.npy")); }, ErrorCode::InvalidData, {"l8.npy", "'<i8'"});
}
