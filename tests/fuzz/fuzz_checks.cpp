#include "fuzz_checks.hpp"

#include <cstdlib>
#include <cstring>
#include <vector>

#include "fkm/error.hpp"
#include "fkm/io.hpp"

namespace fkm_fuzz {
namespace {

using fkm::io::ArrayFile;
using fkm::io::ElementType;

/// A violated invariant: abort so libFuzzer records the input (an exception would be a
/// different bug class; abort is what every sanitizer and the fuzzer report as a crash).
void require(bool ok) {
  if (!ok) std::abort();
}

/// Touches every byte of a view so the sanitizer sees any read past the input.
unsigned touch_view(const fkm::MatrixView& v) {
  const std::size_t e = fkm::size_of(v.dtype);
  const auto* p = static_cast<const std::uint8_t*>(v.data);
  unsigned sum = 0;
  for (std::int64_t i = 0; i < v.rows; ++i)
    for (std::size_t b = 0; b < std::size_t(v.cols) * e; ++b) sum += p[std::size_t(i) * std::size_t(v.row_stride) * e + b];
  return sum;
}

/// Reads a few rows (the first, the last, and a range) in the stored type and in float64;
/// bounded so a valid file with a huge row count costs little.
void read_some_rows(const ArrayFile& f) {
  const std::int64_t rows = f.rows(), cols = f.cols();
  require(rows >= 0 && cols >= 0);
  if (rows == 0 || cols == 0) return;
  if (cols > (std::int64_t(1) << 20)) return;  // a valid file this wide is out of scope for the fuzzer's memory
  const std::int64_t take = rows < 4 ? rows : 4;
  std::vector<double> out(std::size_t(take * cols));
  for (std::int64_t begin : {std::int64_t(0), rows - take}) {
    f.read_rows(begin, begin + take, ElementType::F64, out.data());
    std::vector<std::uint8_t> raw(std::size_t(take * cols) * fkm::io::size_of(f.element_type()));
    f.read_rows(begin, begin + take, f.element_type(), raw.data());
    if (f.viewable()) touch_view(f.view_rows(begin, begin + take));
  }
  // A range outside the array must be refused, not read.
  try {
    f.read_rows(rows, rows + 1, ElementType::F64, out.data());
    require(false);
  } catch (const fkm::Error&) {
  }
}

}  // namespace

void check_npy_header(const std::uint8_t* data, std::size_t size) {
  try {
    const fkm::io::NpyHeader h = fkm::io::parse_npy_header(data, size, "fuzz.npy");
    require(h.data_offset <= size);
    require(h.major_version >= 1 && h.major_version <= 3);
    require(h.element_count() >= 0);
  } catch (const fkm::Error&) {
  }
}

void check_npy_reader(const std::uint8_t* data, std::size_t size) {
  // Both ways a '<u2' file can be read; the option is taken from a byte the header never uses.
  const bool bf16 = size > 0 && (data[size - 1] & 1);
  fkm::io::ReadOptions options;
  options.u2_as_bf16 = bf16;
  try {
    const ArrayFile f = ArrayFile::open_memory(data, size, "fuzz.npy", options);
    require(std::uint64_t(f.rows()) * std::uint64_t(f.cols()) * fkm::io::size_of(f.element_type()) <= size);
    read_some_rows(f);
    if (f.shape().size() == 3) {  // a batch of problems: each problem's view stays inside the input
      const fkm::io::DataBatch batch = fkm::io::load_batch(f);
      const fkm::BatchedMatrixView v = batch.view();
      require(v.problems == f.rows() && v.rows * v.cols == f.cols());
      for (std::int64_t b = 0; b < v.problems; ++b) touch_view(v.problem(b));
      return;
    }
    const fkm::io::DataMatrix m = fkm::io::load_matrix(f);
    require(m.view().rows == f.rows() && m.view().cols == f.cols());
    touch_view(m.view());
  } catch (const fkm::Error&) {
  }
}

void check_vecs_reader(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  static const char* const names[] = {"fuzz.fvecs", "fuzz.bvecs", "fuzz.ivecs"};
  const char* name = names[data[0] % 3];
  try {
    // An exact-size heap copy: aligned like a mapping, and the sanitizer flags any byte past it.
    const std::vector<std::uint8_t> file(data + 1, data + size);
    if (file.empty()) return;
    const ArrayFile f = ArrayFile::open_memory(file.data(), file.size(), name);
    require(std::uint64_t(f.rows()) * (4 + std::uint64_t(f.cols()) * fkm::io::size_of(f.element_type())) == size - 1);
    read_some_rows(f);
    if (f.element_type() != ElementType::I32) {
      const fkm::io::DataMatrix m = fkm::io::load_matrix(f);
      touch_view(m.view());
    }
  } catch (const fkm::Error&) {
  }
}

}  // namespace fkm_fuzz
