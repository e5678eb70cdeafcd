// .fvecs / .bvecs / .ivecs: per-row dimension headers checked on every row that is read, a
// partial last row found at open, uint8 widened to float32 for clustering.
#include <catch2/catch.hpp>

#include "fkm/io.hpp"
#include "io_support.hpp"

using fkm::ErrorCode;
using fkm::io::ElementType;
using namespace fkm_io_test;

namespace {

/// Rows of T, each preceded by its int32 dimension (dims[i], default the row's length).
template <class T>
std::string vecs(const std::vector<std::vector<T>>& rows, std::vector<std::int32_t> dims = {}) {
  std::string out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::int32_t d = dims.empty() ? std::int32_t(rows[i].size()) : dims[i];
    out += as_bytes(std::vector<std::int32_t>{d}) + as_bytes(rows[i]);
  }
  return out;
}

std::vector<std::vector<float>> float_rows(int n, int d) {
  std::vector<std::vector<float>> rows(n, std::vector<float>(d));
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j) rows[i][j] = float(i * 10 + j) / 4.f;
  return rows;
}

}  // namespace

TEST_CASE("fvecs: viewed in place with the row headers skipped") {
  ScratchDir dir;
  const auto rows = float_rows(9, 5);
  write_bytes(dir.path("x.fvecs"), vecs(rows));
  const auto m = fkm::io::load_matrix(dir.path("x.fvecs"));
  CHECK(m.mapped());
  const fkm::MatrixView v = m.view();
  CHECK(v.rows == 9);
  CHECK(v.cols == 5);
  CHECK(v.row_stride == 6);  // the int32 dimension sits between rows
  CHECK(v.dtype == fkm::DType::F32);
  for (int i = 0; i < 9; ++i)
    for (int j = 0; j < 5; ++j) CHECK(static_cast<const float*>(v.data)[i * 6 + j] == rows[i][j]);
  std::vector<double> out(2 * 5);
  m.file().read_rows(7, 9, ElementType::F64, out.data());
  CHECK(out[5] == double(rows[8][0]));
}

TEST_CASE("bvecs: uint8 widened to float32, ivecs: int32 read but not clustered") {
  ScratchDir dir;
  write_bytes(dir.path("x.bvecs"), vecs(std::vector<std::vector<std::uint8_t>>{{0, 1, 255}, {7, 8, 9}}));
  const auto m = fkm::io::load_matrix(dir.path("x.bvecs"));
  CHECK_FALSE(m.mapped());
  CHECK(m.view().dtype == fkm::DType::F32);
  const float* p = static_cast<const float*>(m.view().data);
  CHECK(std::vector<float>(p, p + 6) == std::vector<float>{0, 1, 255, 7, 8, 9});

  write_bytes(dir.path("g.ivecs"), vecs(std::vector<std::vector<std::int32_t>>{{4, -2}, {1 << 30, 3}}));
  const auto f = fkm::io::ArrayFile::open(dir.path("g.ivecs"));
  std::vector<std::int32_t> ids(4);
  f.read_rows(0, 2, ElementType::I32, ids.data());
  CHECK(ids == std::vector<std::int32_t>{4, -2, 1 << 30, 3});
  check_error([&] { fkm::io::load_matrix(dir.path("g.ivecs")); }, ErrorCode::InvalidData, {"g.ivecs", "int32", "ids", "not points"});
}

TEST_CASE("fvecs: inconsistent row dimensions are found on the rows that are read") {
  ScratchDir dir;
  // Row 2 claims dimension 4 but the file still has a whole number of 5-float rows.
  write_bytes(dir.path("x.fvecs"), vecs(float_rows(4, 5), {5, 5, 4, 5}));
  const auto f = fkm::io::ArrayFile::open(dir.path("x.fvecs"));
  CHECK(f.rows() == 4);
  CHECK(f.view_rows(0, 2).rows == 2);  // a range without the bad row is fine: rows are checked when read
  CHECK(f.view_rows(3, 4).rows == 1);
  check_error([&] { f.view_rows(1, 3); }, ErrorCode::Io, {"x.fvecs", "row 2 declares dimension 4", "row 0 declares 5"});
  std::vector<float> out(20);
  check_error([&] { f.read_rows(0, 4, ElementType::F32, out.data()); }, ErrorCode::Io, {"row 2"});
  check_error([&] { fkm::io::load_matrix(dir.path("x.fvecs")); }, ErrorCode::Io, {"x.fvecs", "row 2 declares dimension 4"});
}

TEST_CASE("fvecs: ragged files are explained at open") {
  ScratchDir dir;
  // Row 1 has dimension 3 instead of 5: the file size is no whole number of rows.
  auto rows = float_rows(3, 5);
  rows[1].resize(3);
  write_bytes(dir.path("ragged.fvecs"), vecs(rows));
  check_error([&] { fkm::io::ArrayFile::open(dir.path("ragged.fvecs")); }, ErrorCode::Io,
              {"ragged.fvecs", "row 1 declares dimension 3", "row 0 declares 5"});
  // The last row is cut short.
  const std::string whole = vecs(float_rows(6, 5));
  write_bytes(dir.path("cut.fvecs"), whole.substr(0, whole.size() - 7));
  check_error([&] { fkm::io::load_matrix(dir.path("cut.fvecs")); }, ErrorCode::Io, {"cut.fvecs", "row 5", "partial", "17 of its 24 bytes"});
  write_bytes(dir.path("tiny.bvecs"), std::string("\x03\x00", 2));
  check_error([&] { fkm::io::load_matrix(dir.path("tiny.bvecs")); }, ErrorCode::Io, {"tiny.bvecs", "truncated"});
  write_bytes(dir.path("neg.fvecs"), as_bytes(std::vector<std::int32_t>{-4, 0}));
  check_error([&] { fkm::io::load_matrix(dir.path("neg.fvecs")); }, ErrorCode::Io, {"neg.fvecs", "dimension -4"});
  write_bytes(dir.path("empty.fvecs"), "");
  check_error([&] { fkm::io::load_matrix(dir.path("empty.fvecs")); }, ErrorCode::Io, {"empty.fvecs", "empty file"});
}
