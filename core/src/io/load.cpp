// The loaders the CLI uses: a data matrix for clustering, a vector of weights, labels.
// Each states exactly what it accepts and refuses everything else with the file's name.
#include <string>

#include "fkm/error.hpp"
#include "fkm/io.hpp"

namespace fkm::io {
namespace {

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

/// "field 'shape' (5,)" for .npy, "shape (5, 3)" for the *vecs formats.
std::string shape_field(const ArrayFile& f) {
  return (f.format() == FileFormat::Npy ? ".npy header field 'shape' is " : "shape is ") + shape_string(f.shape());
}

[[noreturn]] void bad_data(const ArrayFile& f, const std::string& what) {
  throw Error(ErrorCode::InvalidData, f.path() + ": " + what);
}

/// A 1-D array, read whole as `out_type`.
template <class T>
std::vector<T> load_1d(const std::string& path, ElementType out_type, bool (*accepts)(ElementType), const char* expected) {
  const ArrayFile f = ArrayFile::open(path);
  if (f.shape().size() != 1) bad_data(f, shape_field(f) + ": expected a 1-D array");
  if (!accepts(f.element_type())) bad_data(f, "stores " + f.stored_type() + "; expected " + expected);
  std::vector<T> out(std::size_t(f.rows()));
  f.read_rows(0, f.rows(), out_type, out.data());
  return out;
}

}  // namespace

DataMatrix::DataMatrix(ArrayFile file, MatrixView view, std::vector<std::uint8_t> owned)
    : file_(std::move(file)), owned_(std::move(owned)), view_(view) {
  if (!owned_.empty()) view_.data = owned_.data();
}

DataMatrix load_matrix(const std::string& path, const ReadOptions& options) {
  return load_matrix(ArrayFile::open(path, options));
}

DataMatrix load_matrix(ArrayFile f) {
  const std::size_t ndim = f.shape().size();
  if (ndim == 1)
    bad_data(f, shape_field(f) + ": a 1-D array, but a matrix must be 2-D (rows, columns); "
                                 "save a single column as x.reshape(-1, 1)");
  if (ndim == 3)
    bad_data(f, shape_field(f) + ": a 3-D array (problems, rows, columns) is a batch of problems, not one matrix "
                                 "(fkm::io::load_batch reads it)");
  if (ndim != 2) bad_data(f, shape_field(f) + ": a " + std::to_string(ndim) + "-D array, but a matrix must be 2-D (rows, columns)");
  if (f.rows() == 0) bad_data(f, shape_field(f) + ": zero rows, nothing to cluster");
  if (f.cols() == 0) bad_data(f, shape_field(f) + ": zero columns");
  return DataMatrix::from_rows(std::move(f));
}

DataMatrix DataMatrix::from_rows(ArrayFile f) {

  const ElementType t = f.element_type();
  if (f.format() == FileFormat::Ivecs)
    bad_data(f, "stores " + f.stored_type() + ": .ivecs files hold ids (e.g. ground-truth neighbours), not points; "
                "fkm clusters .npy, .fvecs and .bvecs files");
  // Integers are clustered as the float type that holds every value exactly (as .bvecs uint8
  // vectors, e.g. SIFT1B or MNIST pixels): up to 16 bits in float32, wider ones in float64
  // (read_rows refuses a 64-bit value beyond 2^53 rather than round it).
  ElementType out = t;
  switch (t) {
    case ElementType::Bool:
    case ElementType::U8:
    case ElementType::I8:
    case ElementType::I16: out = ElementType::F32; break;
    case ElementType::I32:
    case ElementType::U32:
    case ElementType::I64:
    case ElementType::U64: out = ElementType::F64; break;
    default: break;
  }

  if (out == t && f.viewable()) return DataMatrix(f, f.view_rows(0, f.rows()), {});
  std::vector<std::uint8_t> owned(std::size_t(f.rows()) * std::size_t(f.cols()) * size_of(out));
  f.read_rows(0, f.rows(), out, owned.data());
  DType dtype = DType::F32;
  if (out == ElementType::F16) dtype = DType::F16;
  if (out == ElementType::BF16) dtype = DType::BF16;
  if (out == ElementType::F64) dtype = DType::F64;
  const MatrixView view{nullptr, f.rows(), f.cols(), f.cols(), dtype, MemorySpace::Host, 0};
  return DataMatrix(f, view, std::move(owned));
}

DataBatch::DataBatch(DataMatrix flat, std::int64_t rows, std::int64_t cols)
    : flat_(std::move(flat)), rows_(rows), cols_(cols) {}

BatchedMatrixView DataBatch::view() const {
  const MatrixView flat = flat_.view();  // one row per problem
  return BatchedMatrixView{flat.data, flat.rows, rows_, cols_, cols_, flat.row_stride, flat.dtype, flat.space, flat.device};
}

DataBatch load_batch(const std::string& path, const ReadOptions& options) {
  return load_batch(ArrayFile::open(path, options));
}

DataBatch load_batch(ArrayFile f) {
  const std::size_t ndim = f.shape().size();
  if (ndim != 3)
    bad_data(f, shape_field(f) + ": a " + std::to_string(ndim) +
                    "-D array, but a batch of problems is a 3-D .npy array (problems, rows, columns)");
  const std::int64_t rows = f.shape()[1], cols = f.shape()[2];
  if (f.shape()[0] == 0) bad_data(f, shape_field(f) + ": zero problems, nothing to cluster");
  if (rows == 0) bad_data(f, shape_field(f) + ": zero rows in each problem, nothing to cluster");
  if (cols == 0) bad_data(f, shape_field(f) + ": zero columns");
  return DataBatch(DataMatrix::from_rows(std::move(f)), rows, cols);
}

std::vector<double> load_vector(const std::string& path) {
  // Every type the reader reads converts exactly (read_rows refuses a 64-bit integer beyond 2^53).
  return load_1d<double>(path, ElementType::F64, [](ElementType) { return true; }, "numbers");
}

std::vector<std::int32_t> load_labels(const std::string& path) {
  return load_1d<std::int32_t>(
      path, ElementType::I32, [](ElementType t) { return t == ElementType::I32; }, "int32 '<i4'");
}

}  // namespace fkm::io
