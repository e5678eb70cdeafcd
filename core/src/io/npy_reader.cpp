// Opening a .npy file: the header (npy_header.cpp), then what fkm can do with its dtype,
// shape and size.
#include <cstring>
#include <string>

#include "array_file_impl.hpp"
#include "fkm/error.hpp"

namespace fkm::io {
namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

/// The element type of a descr, or throws Error(InvalidData) naming what was found.
ElementType element_type_of(const NpyHeader& h, bool bf16, const std::string& path) {
  const char k = h.kind;
  const int size = h.item_size;
  if (bf16) {
    if (k == 'u' && size == 2) return ElementType::BF16;
    throw Error(ErrorCode::InvalidData, path + ": .npy header field 'descr' is '" + h.descr +
                                            "', but bfloat16 data (a *.bf16.npy name or --dtype bf16) is stored as '<u2'");
  }
  if (k == 'f' && size == 2) return ElementType::F16;
  if (k == 'f' && size == 4) return ElementType::F32;
  if (k == 'f' && size == 8) return ElementType::F64;
  if (k == 'b' && size == 1) return ElementType::Bool;
  if (k == 'u' && size == 1) return ElementType::U8;
  if (k == 'i' && size == 1) return ElementType::I8;
  if (k == 'i' && size == 2) return ElementType::I16;
  if (k == 'i' && size == 4) return ElementType::I32;
  if (k == 'u' && size == 4) return ElementType::U32;
  if (k == 'i' && size == 8) return ElementType::I64;
  if (k == 'u' && size == 8) return ElementType::U64;
  if (k == 'u' && size == 2)  // the one integer type fkm will not guess about
    throw Error(ErrorCode::InvalidData,
                path + ": .npy header field 'descr' is '" + h.descr +
                    "' (uint16), which fkm reads only as bfloat16 bit patterns (numpy has no bfloat16): if it holds "
                    "bfloat16 values, name the file *.bf16.npy or pass --dtype bf16; if it holds uint16 integers, "
                    "save it as a.astype(numpy.float32)");
  std::string what;
  switch (k) {
    case 'c': what = "complex numbers"; break;
    case 'O': what = "Python objects"; break;
    case 'b': what = "booleans of an unknown size"; break;
    case 'U': case 'S': case 'a': what = "strings"; break;
    case 'V': what = "raw bytes or records"; break;
    case 'M': case 'm': what = "dates or time deltas"; break;
    case 'f': what = "a float size fkm does not read"; break;
    case 'i': case 'u': what = "an integer size fkm does not read"; break;
    default: what = "an unknown type";
  }
  throw Error(ErrorCode::InvalidData, path + ": .npy header field 'descr' is '" + h.descr + "' (" + what +
                                          "): unsupported dtype; fkm reads float16 '<f2', float32 '<f4', float64 '<f8', "
                                          "bfloat16 stored as '<u2', bool '|b1' and the integers '|i1' '|u1' '<i2' '<i4' "
                                          "'<u4' '<i8' '<u8'");
}

}  // namespace

std::shared_ptr<ArrayFile::Impl> open_npy(std::shared_ptr<const detail::MappedFile> map, const std::string& path,
                                          const ReadOptions& options) {
  const NpyHeader h = parse_npy_header(map->data(), map->size(), path);

  auto f = std::make_shared<ArrayFile::Impl>();
  f->path = path;
  f->format = FileFormat::Npy;
  f->map = map;
  const bool bf16 = options.u2_as_bf16 || ends_with(path, ".bf16.npy");
  f->type = element_type_of(h, bf16, path);
  f->stored = "'" + h.descr + "'" + (f->type == ElementType::BF16 ? " (read as bfloat16)" : "");
  if (size_of(f->type) > 1) {
    if (h.byte_order == '|')
      throw Error(ErrorCode::Io, path + ": .npy header field 'descr' is '" + h.descr + "': byte order '|' is only valid for 1-byte types");
    f->swap_bytes = h.byte_order == '>';  // '<' and '=' (native) are little-endian on every host fkm supports
  }
  if (h.shape.empty())
    throw Error(ErrorCode::InvalidData, path + ": .npy header field 'shape' is (): a 0-D array (a single number), not a matrix");
  f->shape = h.shape;
  f->rows = h.shape[0];
  f->cols = 1;
  for (std::size_t i = 1; i < h.shape.size(); ++i) f->cols *= h.shape[i];
  // A Fortran array with at most one dimension above 1 has the bytes of the C-order one.
  int long_dims = 0;
  for (std::int64_t s : h.shape) long_dims += s > 1;
  f->fortran = h.fortran_order && long_dims > 1;
  if (h.fortran_order && h.shape.size() > 3)
    throw Error(ErrorCode::InvalidData, path + ": .npy header field 'fortran_order' is True for the " +
                                            std::to_string(h.shape.size()) + "-D shape " + shape_string(h.shape) +
                                            "; fkm converts Fortran order for 1-D, 2-D and 3-D arrays only "
                                            "(save numpy.ascontiguousarray(a) instead)");
  f->data_offset = h.data_offset;
  f->row_pitch = std::size_t(f->cols) * size_of(f->type);

  const std::size_t available = map->size() - h.data_offset;
  const std::uint64_t needed = std::uint64_t(h.element_count()) * size_of(f->type);
  if (needed > available)
    throw Error(ErrorCode::Io, path + ": data is shorter than the header says: field 'shape' " + shape_string(h.shape) +
                                   " of '" + h.descr + "' needs " + std::to_string(needed) +
                                   " bytes after the header, the file has " + std::to_string(available) +
                                   " (truncated file?)");
  // numpy writes nothing after the data; extra bytes mean the header's shape is not the
  // array that was written (or several arrays were saved into one file): clustering only
  // the part the header describes would silently drop data.
  if (needed < available)
    throw Error(ErrorCode::Io, path + ": data is longer than the header says: field 'shape' " + shape_string(h.shape) +
                                   " of '" + h.descr + "' needs " + std::to_string(needed) +
                                   " bytes after the header, the file has " + std::to_string(available) + " (" +
                                   std::to_string(available - needed) +
                                   " extra bytes: a wrong shape, or more than one array saved into the file?)");
  return f;
}

}  // namespace fkm::io
