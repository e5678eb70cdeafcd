// ArrayFile: the format-independent half of reading. Views of rows in place, and rows copied
// out with byte order, layout and type fixed.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "array_file_impl.hpp"
#include "fkm/error.hpp"
#include "fkm/half.hpp"

namespace fkm::io {
namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

bool is_float(ElementType t) {
  return t == ElementType::F16 || t == ElementType::BF16 || t == ElementType::F32 || t == ElementType::F64;
}

std::size_t max_exact_bits(ElementType t) {  // the integers a float type holds: up to 2^bits
  switch (t) {
    case ElementType::F16: return 11;
    case ElementType::BF16: return 8;
    case ElementType::F32: return 24;
    default: return 53;
  }
}

DType dtype_of(ElementType t) {
  switch (t) {
    case ElementType::F16: return DType::F16;
    case ElementType::BF16: return DType::BF16;
    case ElementType::F64: return DType::F64;
    default: return DType::F32;
  }
}

/// The element's bytes in host (little-endian) order.
void load_bytes(const std::uint8_t* src, std::size_t size, bool swap, std::uint8_t* dst) {
  if (!swap) {
    std::memcpy(dst, src, size);
  } else {
    for (std::size_t b = 0; b < size; ++b) dst[b] = src[size - 1 - b];
  }
}

template <class T>
T load_as(const std::uint8_t* bytes) {
  T v;
  std::memcpy(&v, bytes, sizeof v);
  return v;
}

/// An element's value: exact for every type but 64-bit integers beyond 2^53, which round
/// (read_rows refuses those: see exact_integer).
double decode(const std::uint8_t* bytes, ElementType t) {
  switch (t) {
    case ElementType::F16: { half h; std::memcpy(&h.bits, bytes, 2); return to_float(h); }
    case ElementType::BF16: { bfloat16 b; std::memcpy(&b.bits, bytes, 2); return to_float(b); }
    case ElementType::F32: return load_as<float>(bytes);
    case ElementType::F64: return load_as<double>(bytes);
    case ElementType::U8: return bytes[0];
    case ElementType::I32: return load_as<std::int32_t>(bytes);
    case ElementType::Bool: return bytes[0] != 0 ? 1.0 : 0.0;  // numpy reads any non-zero byte as True
    case ElementType::I8: return load_as<std::int8_t>(bytes);
    case ElementType::I16: return load_as<std::int16_t>(bytes);
    case ElementType::U32: return load_as<std::uint32_t>(bytes);
    case ElementType::I64: return double(load_as<std::int64_t>(bytes));
    case ElementType::U64: return double(load_as<std::uint64_t>(bytes));
  }
  return 0;
}

/// Whether decode() gave a 64-bit integer's value exactly (a double holds every integer up to
/// 2^53, and some beyond). Every other type always decodes exactly.
bool exact_integer(const std::uint8_t* bytes, ElementType t, double v) {
  if (t == ElementType::I64) return v != 0x1p63 && std::int64_t(v) == load_as<std::int64_t>(bytes);
  if (t == ElementType::U64) return v != 0x1p64 && std::uint64_t(v) == load_as<std::uint64_t>(bytes);
  return true;
}

/// The element as written in a message: integers in full (a double would round them).
std::string element_text(const std::uint8_t* bytes, ElementType t, double v) {
  if (t == ElementType::I64) return std::to_string(load_as<std::int64_t>(bytes));
  if (t == ElementType::U64) return std::to_string(load_as<std::uint64_t>(bytes));
  return std::to_string(std::int64_t(v));
}

/// Stores a value decoded from a type that `out` can hold exactly, or a float rounded to
/// nearest (fp64 -> fp32 -> fp16/bf16 may round twice; fkm never writes those narrowings).
void encode(double v, ElementType out, std::uint8_t* dst) {
  switch (out) {
    case ElementType::F16: { const half h = to_half(float(v)); std::memcpy(dst, &h.bits, 2); break; }
    case ElementType::BF16: { const bfloat16 b = to_bfloat16(float(v)); std::memcpy(dst, &b.bits, 2); break; }
    case ElementType::F32: { const float f = float(v); std::memcpy(dst, &f, 4); break; }
    case ElementType::F64: std::memcpy(dst, &v, 8); break;
    case ElementType::U8:
    case ElementType::Bool: dst[0] = std::uint8_t(v); break;
    case ElementType::I32: { const std::int32_t i = std::int32_t(v); std::memcpy(dst, &i, 4); break; }
    // Integer outputs other than the stored type are refused by read_rows; kept exhaustive.
    case ElementType::I8: { const std::int8_t i = std::int8_t(v); std::memcpy(dst, &i, 1); break; }
    case ElementType::I16: { const std::int16_t i = std::int16_t(v); std::memcpy(dst, &i, 2); break; }
    case ElementType::U32: { const std::uint32_t i = std::uint32_t(v); std::memcpy(dst, &i, 4); break; }
    case ElementType::I64: { const std::int64_t i = std::int64_t(v); std::memcpy(dst, &i, 8); break; }
    case ElementType::U64: { const std::uint64_t i = std::uint64_t(v); std::memcpy(dst, &i, 8); break; }
  }
}

inline std::uint8_t byte_swap(std::uint8_t v) { return v; }
inline std::uint16_t byte_swap(std::uint16_t v) { return __builtin_bswap16(v); }
inline std::uint32_t byte_swap(std::uint32_t v) { return __builtin_bswap32(v); }
inline std::uint64_t byte_swap(std::uint64_t v) { return __builtin_bswap64(v); }

/// Rows [begin, end) with their type unchanged: a gather (Fortran order) and/or a byte swap
/// (big-endian), bit-exact, NaN payloads included. U is the unsigned integer of the element's size.
template <class U>
void copy_same_type(const ArrayFile::Impl& f, std::int64_t begin, std::int64_t end, std::uint8_t* dst) {
  for (std::int64_t i = begin; i < end; ++i) {
    for (std::int64_t j = 0; j < f.cols; ++j, dst += sizeof(U)) {
      U v;
      std::memcpy(&v, f.element(i, j), sizeof(U));
      if (f.swap_bytes) v = byte_swap(v);
      std::memcpy(dst, &v, sizeof(U));
    }
  }
}

void check_range(const ArrayFile::Impl& f, std::int64_t begin, std::int64_t end) {
  if (begin < 0 || end < begin || end > f.rows)
    throw Error(ErrorCode::InvalidArgument, f.path + ": row range [" + std::to_string(begin) + ", " + std::to_string(end) +
                                                ") is outside the array's " + std::to_string(f.rows) + " rows");
}

}  // namespace

const char* to_string(ElementType t) noexcept {
  switch (t) {
    case ElementType::F16: return "float16";
    case ElementType::BF16: return "bfloat16";
    case ElementType::F32: return "float32";
    case ElementType::F64: return "float64";
    case ElementType::U8: return "uint8";
    case ElementType::I32: return "int32";
    case ElementType::Bool: return "bool";
    case ElementType::I8: return "int8";
    case ElementType::I16: return "int16";
    case ElementType::U32: return "uint32";
    case ElementType::I64: return "int64";
    case ElementType::U64: return "uint64";
  }
  return "unknown";
}

std::size_t size_of(ElementType t) noexcept {
  switch (t) {
    case ElementType::U8:
    case ElementType::Bool:
    case ElementType::I8: return 1;
    case ElementType::F16:
    case ElementType::BF16:
    case ElementType::I16: return 2;
    case ElementType::F32:
    case ElementType::I32:
    case ElementType::U32: return 4;
    case ElementType::F64:
    case ElementType::I64:
    case ElementType::U64: return 8;
  }
  return 0;
}

FileFormat format_of(const std::string& path) {
  if (ends_with(path, ".npy")) return FileFormat::Npy;
  if (ends_with(path, ".fvecs")) return FileFormat::Fvecs;
  if (ends_with(path, ".bvecs")) return FileFormat::Bvecs;
  if (ends_with(path, ".ivecs")) return FileFormat::Ivecs;
  if (ends_with(path, ".npz"))
    throw Error(ErrorCode::InvalidData, path + ": a .npz archive holds several arrays; fkm reads one array a file: "
                                               "save it with numpy.save('x.npy', numpy.load('" + path + "')[key])");
  throw Error(ErrorCode::InvalidData, path + ": unknown file type; fkm reads .npy, .fvecs, .bvecs and .ivecs files");
}

ArrayFile::ArrayFile(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

ArrayFile ArrayFile::open(const std::string& path, const ReadOptions& options) {
  const FileFormat format = format_of(path);
  auto map = std::make_shared<const detail::MappedFile>(path);
  if (format == FileFormat::Npy) return ArrayFile(open_npy(std::move(map), path, options));
  return ArrayFile(open_vecs(std::move(map), path, format));
}

ArrayFile ArrayFile::open_memory(const void* bytes, std::size_t size, const std::string& name, const ReadOptions& options) {
  const FileFormat format = format_of(name);
  auto map = std::make_shared<const detail::MappedFile>(bytes, size, name);
  if (format == FileFormat::Npy) return ArrayFile(open_npy(std::move(map), name, options));
  return ArrayFile(open_vecs(std::move(map), name, format));
}

const std::string& ArrayFile::path() const { return impl_->path; }
FileFormat ArrayFile::format() const { return impl_->format; }
ElementType ArrayFile::element_type() const { return impl_->type; }
std::string ArrayFile::stored_type() const { return impl_->stored; }
const std::vector<std::int64_t>& ArrayFile::shape() const { return impl_->shape; }
std::int64_t ArrayFile::rows() const { return impl_->rows; }
std::int64_t ArrayFile::cols() const { return impl_->cols; }

bool ArrayFile::viewable() const {
  const Impl& f = *impl_;
  const std::size_t e = f.element_size();
  // A mapping starts on a page boundary, but memory given to open_memory may not: check the address.
  const auto first = reinterpret_cast<std::uintptr_t>(f.map->data() + f.data_offset);
  return is_float(f.type) && !f.swap_bytes && !f.fortran && first % e == 0 && f.row_pitch % e == 0;
}

MatrixView ArrayFile::view_rows(std::int64_t begin, std::int64_t end) const {
  const Impl& f = *impl_;
  check_range(f, begin, end);
  if (!viewable())
    throw Error(ErrorCode::Unsupported, f.path + ": " + f.stored + " data cannot be viewed in place (" +
                                            (f.swap_bytes ? "big-endian" : f.fortran ? "Fortran order" : "not a float type") +
                                            "); use read_rows to convert it");
  f.check_row_headers(begin, end);
  MatrixView v;
  v.data = f.map->data() + f.data_offset + std::size_t(begin) * f.row_pitch;
  v.rows = end - begin;
  v.cols = f.cols;
  v.row_stride = std::int64_t(f.row_pitch / f.element_size());
  v.dtype = dtype_of(f.type);
  return v;
}

void ArrayFile::read_rows(std::int64_t begin, std::int64_t end, ElementType out_type, void* out) const {
  const Impl& f = *impl_;
  check_range(f, begin, end);
  const bool widening_int = (out_type == ElementType::I32 && f.type == ElementType::U8);
  if (!is_float(out_type) && out_type != f.type && !widening_int)
    throw Error(ErrorCode::InvalidArgument, f.path + ": cannot convert " + f.stored + " elements to " + to_string(out_type));
  f.check_row_headers(begin, end);
  const std::size_t in_size = f.element_size(), out_size = size_of(out_type);
  auto* dst = static_cast<std::uint8_t*>(out);
  if (out_type == f.type && !f.swap_bytes && !f.fortran) {  // the common case: rows are contiguous runs
    for (std::int64_t i = begin; i < end; ++i, dst += std::size_t(f.cols) * out_size)
      std::memcpy(dst, f.element(i, 0), std::size_t(f.cols) * out_size);
    return;
  }
  if (out_type == f.type) {
    switch (in_size) {
      case 1: return copy_same_type<std::uint8_t>(f, begin, end, dst);
      case 2: return copy_same_type<std::uint16_t>(f, begin, end, dst);
      case 4: return copy_same_type<std::uint32_t>(f, begin, end, dst);
      default: return copy_same_type<std::uint64_t>(f, begin, end, dst);
    }
  }
  if (f.type == ElementType::U8 && out_type == ElementType::F32 && !f.fortran) {  // .bvecs: the big case
    for (std::int64_t i = begin; i < end; ++i) {
      const std::uint8_t* src = f.element(i, 0);
      for (std::int64_t j = 0; j < f.cols; ++j, dst += 4) {
        const float v = float(src[j]);
        std::memcpy(dst, &v, 4);
      }
    }
    return;
  }
  std::uint8_t bytes[8], check[8];
  const bool integer_in = !is_float(f.type);
  for (std::int64_t i = begin; i < end; ++i) {
    for (std::int64_t j = 0; j < f.cols; ++j, dst += out_size) {
      load_bytes(f.element(i, j), in_size, f.swap_bytes, bytes);
      const double v = decode(bytes, f.type);
      encode(v, out_type, dst);
      // Integers are converted exactly or not at all: a rounded id or count would be a silent
      // change of the data (the round trip through the output type must give the value back).
      if (!integer_in) continue;
      bool exact = exact_integer(bytes, f.type, v);
      if (exact && is_float(out_type)) {
        std::memcpy(check, dst, out_size);
        exact = decode(check, out_type) == v;
      }
      if (!exact)
        throw Error(ErrorCode::InvalidData, f.path + ": value " + element_text(bytes, f.type, v) + " at row " + std::to_string(i) +
                                                ", column " + std::to_string(j) + " of " + f.stored + " data is not exactly representable as " +
                                                to_string(out_type) + " (integers up to 2^" + std::to_string(max_exact_bits(out_type)) +
                                                " are); convert the array to float64 yourself if rounding is acceptable");
    }
  }
}

}  // namespace fkm::io
