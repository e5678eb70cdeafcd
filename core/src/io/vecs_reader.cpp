// Opening .fvecs (float32), .bvecs (uint8) and .ivecs (int32) files: every row is an int32
// dimension d followed by d elements (the TEXMEX / ANN-benchmark formats). All rows must have
// the same d; the first row's is checked here, the others whenever their rows are read.
#include <cstring>
#include <string>

#include "array_file_impl.hpp"
#include "fkm/error.hpp"

namespace fkm::io {
namespace {

std::int32_t read_i32(const std::uint8_t* p) {
  std::int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

const char* extension(FileFormat f) {
  switch (f) {
    case FileFormat::Fvecs: return ".fvecs";
    case FileFormat::Bvecs: return ".bvecs";
    case FileFormat::Ivecs: return ".ivecs";
    case FileFormat::Npy: break;
  }
  return ".npy";
}

/// The file's size is not a whole number of rows: walk the rows by their own headers to say
/// whether a row declares another dimension or the last row is cut short.
[[noreturn]] void explain_ragged_file(const ArrayFile::Impl& f, std::int32_t d0) {
  const std::size_t size = f.map->size(), e = f.element_size();
  std::size_t pos = 0;
  for (std::int64_t row = 0;; ++row) {
    if (size - pos < 4 || size - pos < 4 + std::size_t(d0) * e) {
      throw Error(ErrorCode::Io, f.path + ": the last row (row " + std::to_string(row) + ") is partial: it has " +
                                     std::to_string(size - pos) + " of its " + std::to_string(4 + std::size_t(d0) * e) +
                                     " bytes (4-byte dimension + " + std::to_string(d0) + " x " + std::to_string(e) +
                                     "); the file is truncated");
    }
    const std::int32_t d = read_i32(f.map->data() + pos);
    if (d != d0)
      throw Error(ErrorCode::Io, f.path + ": row " + std::to_string(row) + " declares dimension " + std::to_string(d) +
                                     " but row 0 declares " + std::to_string(d0) + "; every row of a " +
                                     extension(f.format) + " file must have the same dimension");
    pos += 4 + std::size_t(d0) * e;
  }
}

}  // namespace

void ArrayFile::Impl::check_row_headers(std::int64_t begin, std::int64_t end) const {
  if (!row_headers) return;
  for (std::int64_t i = begin; i < end; ++i) {
    const std::int32_t d = read_i32(map->data() + data_offset + std::size_t(i) * row_pitch - 4);
    if (d != cols)
      throw Error(ErrorCode::Io, path + ": row " + std::to_string(i) + " declares dimension " + std::to_string(d) +
                                     " but row 0 declares " + std::to_string(cols) + "; every row of a " +
                                     extension(format) + " file must have the same dimension");
  }
}

std::shared_ptr<ArrayFile::Impl> open_vecs(const std::string& path, FileFormat format) {
  auto f = std::make_shared<ArrayFile::Impl>();
  f->path = path;
  f->format = format;
  f->map = std::make_shared<const detail::MappedFile>(path);
  switch (format) {
    case FileFormat::Fvecs: f->type = ElementType::F32; f->stored = "float32 (.fvecs)"; break;
    case FileFormat::Bvecs: f->type = ElementType::U8; f->stored = "uint8 (.bvecs)"; break;
    default: f->type = ElementType::I32; f->stored = "int32 (.ivecs)"; break;
  }
  const std::size_t size = f->map->size(), e = f->element_size();
  if (size < 4)
    throw Error(ErrorCode::Io, path + ": truncated: row 0 needs a 4-byte dimension header, the file has " +
                                   std::to_string(size) + " bytes");
  const std::int32_t d = read_i32(f->map->data());
  if (d <= 0)
    throw Error(ErrorCode::Io, path + ": row 0 declares dimension " + std::to_string(d) + "; it must be positive");
  f->row_pitch = 4 + std::size_t(d) * e;
  if (size % f->row_pitch != 0) explain_ragged_file(*f, d);
  f->rows = std::int64_t(size / f->row_pitch);
  f->cols = d;
  f->shape = {f->rows, f->cols};
  f->data_offset = 4;
  f->row_headers = true;
  return f;
}

}  // namespace fkm::io
