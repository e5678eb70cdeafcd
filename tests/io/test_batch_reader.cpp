// Reading a (B, N, D) .npy batch (fkm::io::load_batch): every float dtype mapped in place, big-endian
// and Fortran order converted to the same values, and every unusable or damaged 3-D file refused
// with its name and the field.
#include <catch2/catch.hpp>

#include <cstring>

#include "fkm/half.hpp"
#include "fkm/io.hpp"
#include "io_support.hpp"

using fkm::ErrorCode;
using namespace fkm_io_test;

namespace {

/// B x N x D values exact in every float type.
std::vector<double> values(std::int64_t count) {
  std::vector<double> v(static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = double(int(i * 29 % 97) - 48) / 4.0;
  return v;
}

/// Element (b, i, j) of a batch view, widened.
double at(const fkm::BatchedMatrixView& v, std::int64_t b, std::int64_t i, std::int64_t j) {
  const std::int64_t k = b * v.batch_stride + i * v.row_stride + j;
  switch (v.dtype) {
    case fkm::DType::F32: return static_cast<const float*>(v.data)[k];
    case fkm::DType::F64: return static_cast<const double*>(v.data)[k];
    case fkm::DType::F16: return fkm::to_float(static_cast<const fkm::half*>(v.data)[k]);
    case fkm::DType::BF16: return fkm::to_float(static_cast<const fkm::bfloat16*>(v.data)[k]);
  }
  return 0;
}

/// Checks the batch holds `v` (C order) with shape (B, N, D).
void check_values(const fkm::io::DataBatch& m, const std::vector<double>& v, std::int64_t B, std::int64_t N, std::int64_t D) {
  const auto view = m.view();
  REQUIRE(view.problems == B);
  REQUIRE(view.rows == N);
  REQUIRE(view.cols == D);
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t i = 0; i < N; ++i)
      for (std::int64_t j = 0; j < D; ++j) {
        INFO("element (" << b << ", " << i << ", " << j << ")");
        REQUIRE(at(view, b, i, j) == v[std::size_t((b * N + i) * D + j)]);
      }
}

/// The bytes of `v` (C order, shape (B, N, D)) in Fortran order: (b, n, d) at b + B * (n + N * d).
template <class T>
std::string fortran_bytes(const std::vector<double>& v, std::int64_t B, std::int64_t N, std::int64_t D) {
  std::vector<T> out(v.size());
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t n = 0; n < N; ++n)
      for (std::int64_t d = 0; d < D; ++d) out[std::size_t(b + B * (n + N * d))] = T(v[std::size_t((b * N + n) * D + d)]);
  return as_bytes(out);
}

std::string dict(const std::string& descr, bool fortran, std::int64_t B, std::int64_t N, std::int64_t D) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': (" +
         std::to_string(B) + ", " + std::to_string(N) + ", " + std::to_string(D) + "), }";
}

}  // namespace

TEST_CASE("batch reader: every float dtype is mapped in place as (problems, rows, columns)") {
  ScratchDir dir;
  const std::int64_t B = 3, N = 5, D = 4;
  const auto v = values(B * N * D);
  std::vector<fkm::half> h;
  std::vector<fkm::bfloat16> bf;
  for (double x : v) h.push_back(fkm::to_half(float(x)));
  for (double x : v) bf.push_back(fkm::to_bfloat16(float(x)));
  write_bytes(dir.path("f2.npy"), npy_bytes("<f2", {B, N, D}, as_bytes(h)));
  write_bytes(dir.path("f4.npy"), npy_bytes("<f4", {B, N, D}, as_bytes(std::vector<float>(v.begin(), v.end()))));
  write_bytes(dir.path("f8.npy"), npy_bytes("<f8", {B, N, D}, as_bytes(v)));
  write_bytes(dir.path("x.bf16.npy"), npy_bytes("<u2", {B, N, D}, as_bytes(bf)));
  const std::pair<const char*, fkm::DType> files[] = {
      {"f2.npy", fkm::DType::F16}, {"f4.npy", fkm::DType::F32}, {"f8.npy", fkm::DType::F64}, {"x.bf16.npy", fkm::DType::BF16}};
  for (const auto& [name, dtype] : files) {
    INFO(name);
    const auto m = fkm::io::load_batch(dir.path(name));
    CHECK(m.mapped());
    CHECK(m.view().dtype == dtype);
    CHECK(m.view().row_stride == D);
    CHECK(m.view().batch_stride == N * D);
    check_values(m, v, B, N, D);
  }
  // bf16 by option, and from memory.
  write_bytes(dir.path("u2.npy"), npy_bytes("<u2", {B, N, D}, as_bytes(bf)));
  fkm::io::ReadOptions bf16;
  bf16.u2_as_bf16 = true;
  check_values(fkm::io::load_batch(dir.path("u2.npy"), bf16), v, B, N, D);
  const std::string bytes = npy_bytes("<f4", {B, N, D}, as_bytes(std::vector<float>(v.begin(), v.end())));
  check_values(fkm::io::load_batch(fkm::io::ArrayFile::open_memory(bytes.data(), bytes.size(), "mem.npy")), v, B, N, D);
}

TEST_CASE("batch reader: big-endian and Fortran order give the C-order values") {
  ScratchDir dir;
  const auto check_layouts = [&](std::int64_t B, std::int64_t N, std::int64_t D) {
    INFO("shape (" << B << ", " << N << ", " << D << ")");
    const auto v = values(B * N * D);
    write_bytes(dir.path("be.npy"), npy_bytes(">f8", {B, N, D}, as_big_endian(v)));
    write_bytes(dir.path("fo.npy"), npy_raw(dict("<f4", true, B, N, D), fortran_bytes<float>(v, B, N, D)));
    write_bytes(dir.path("fo8.npy"), npy_raw(dict("<f8", true, B, N, D), fortran_bytes<double>(v, B, N, D)));
    {  // Fortran order and big-endian at once
      const std::string f = fortran_bytes<double>(v, B, N, D);
      std::vector<double> tmp(v.size());
      std::memcpy(tmp.data(), f.data(), f.size());
      write_bytes(dir.path("fobe.npy"), npy_raw(dict(">f8", true, B, N, D), as_big_endian(tmp)));
    }
    // Little-endian Fortran order is viewed in place only where it has the C order's bytes:
    // at most one dimension above 1.
    const bool same_bytes = (B > 1) + (N > 1) + (D > 1) <= 1;
    for (const auto& [name, mapped] : {std::pair<const char*, bool>{"be.npy", false}, {"fo.npy", same_bytes},
                                       {"fo8.npy", same_bytes}, {"fobe.npy", false}}) {
      INFO(name);
      const auto m = fkm::io::load_batch(dir.path(name));
      CHECK(m.mapped() == mapped);
      check_values(m, v, B, N, D);
    }
  };
  check_layouts(3, 5, 4);
  check_layouts(1, 5, 4);  // one problem
  check_layouts(3, 1, 4);  // one row per problem
  check_layouts(3, 5, 1);  // one column
  check_layouts(1, 1, 6);  // Fortran order is the C order here
}

TEST_CASE("batch reader: integer 3-D arrays are read exactly, as 2-D ones") {
  ScratchDir dir;
  std::string body;
  for (std::int32_t v : {-7, 0, 1, 2, 3, 1 << 30, -(1 << 30), 5}) body.append(reinterpret_cast<const char*>(&v), 4);
  write_bytes(dir.path("i4.npy"), npy_bytes("<i4", {2, 2, 2}, body));
  const auto batch = fkm::io::load_batch(dir.path("i4.npy"));
  const auto v = batch.view();
  REQUIRE(v.problems == 2);
  REQUIRE(v.rows == 2);
  REQUIRE(v.cols == 2);
  REQUIRE(v.dtype == fkm::DType::F64);  // 32-bit integers need float64 to stay exact
  const double* x = static_cast<const double*>(v.problem(1).data);
  CHECK(x[0] == 3);
  CHECK(x[1] == double(1 << 30));
  CHECK(x[2] == -double(1 << 30));
  CHECK(x[3] == 5);
}

TEST_CASE("batch reader: unusable and damaged 3-D files are refused, naming the file and the field") {
  ScratchDir dir;
  auto refused = [&](const std::string& name, const std::string& bytes, ErrorCode code, std::vector<std::string> needles) {
    write_bytes(dir.path(name), bytes);
    needles.push_back(name);
    check_error([&] { fkm::io::load_batch(dir.path(name)); }, code, needles);
  };
  refused("m.npy", npy_bytes("<f4", {4, 3}, std::string(48, '\0')), ErrorCode::InvalidData, {"'shape'", "(4, 3)", "2-D", "3-D"});
  refused("v.npy", npy_bytes("<f4", {4}, std::string(16, '\0')), ErrorCode::InvalidData, {"(4,)", "1-D"});
  refused("t.npy", npy_bytes("<f4", {1, 2, 1, 2}, std::string(16, '\0')), ErrorCode::InvalidData, {"(1, 2, 1, 2)", "4-D"});
  refused("b0.npy", npy_bytes("<f4", {0, 3, 2}, ""), ErrorCode::InvalidData, {"(0, 3, 2)", "zero problems"});
  refused("n0.npy", npy_bytes("<f4", {2, 0, 2}, ""), ErrorCode::InvalidData, {"(2, 0, 2)", "zero rows"});
  refused("d0.npy", npy_bytes("<f4", {2, 3, 0}, ""), ErrorCode::InvalidData, {"(2, 3, 0)", "zero columns"});
  refused("c8.npy", npy_bytes("<c8", {2, 2, 2}, std::string(64, '\0')), ErrorCode::InvalidData, {"'<c8'"});
  refused("u2.npy", npy_bytes("<u2", {2, 2, 2}, std::string(16, '\0')), ErrorCode::InvalidData, {"'<u2'", "--dtype bf16"});
  refused("short.npy", npy_bytes("<f4", {2, 3, 4}, std::string(95, '\0')), ErrorCode::Io,
          {"shorter than the header says", "(2, 3, 4)", "96", "95"});
  refused("fshort.npy", npy_raw(dict("<f8", true, 2, 3, 4), std::string(100, '\0')), ErrorCode::Io,
          {"shorter than the header says", "192"});
  const std::string body(96, '\0');
  refused("open.npy", npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4}", body), ErrorCode::Io,
          {"'shape'", "expected ',' or ')'"});
  refused("hole.npy", npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (2, , 4), }", body), ErrorCode::Io,
          {"'shape'", "non-negative integer"});
  refused("neg.npy", npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, -4), }", body), ErrorCode::Io,
          {"'shape'", "non-negative integer"});
  refused("huge.npy", npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 2), }", body),
          ErrorCode::Io, {"'shape'", "2^59"});
  refused("cut.npy", npy_bytes("<f4", {2, 3, 4}, body).substr(0, 30), ErrorCode::Io, {"'header_len'", "beyond the end"});
  refused("fo4.npy", npy_raw("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2, 2, 2), }", std::string(64, '\0')),
          ErrorCode::InvalidData, {"'fortran_order'", "4-D"});
  // A *vecs file is always one 2-D problem.
  std::string row(4, '\0');
  row[0] = 2;
  row += std::string(8, '\0');
  refused("one.fvecs", row + row, ErrorCode::InvalidData, {"(2, 2)", "2-D", "3-D .npy"});
}
