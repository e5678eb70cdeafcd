// .npy writers: C-order little-endian arrays that numpy.load reads.
#include <string>
#include <vector>

#include "fkm/error.hpp"
#include "fkm/io.hpp"

namespace fkm::io {
namespace {

const char* descr_of(ElementType t) {
  switch (t) {
    case ElementType::F16: return "<f2";
    case ElementType::BF16: return "<u2";  // bfloat16 bit patterns: numpy has no bfloat16
    case ElementType::F32: return "<f4";
    case ElementType::F64: return "<f8";
    case ElementType::U8: return "|u1";
    case ElementType::I32: return "<i4";
    case ElementType::Bool: return "|b1";
    case ElementType::I8: return "|i1";
    case ElementType::I16: return "<i2";
    case ElementType::U32: return "<u4";
    case ElementType::I64: return "<i8";
    case ElementType::U64: return "<u8";
  }
  return "";
}

}  // namespace

void write_npy(OutputFile& out, ElementType type, const std::vector<std::int64_t>& shape, const void* data) {
  std::uint64_t count = 1;
  for (std::int64_t s : shape) {
    if (s < 0) throw Error(ErrorCode::InvalidArgument, out.path() + ": negative dimension in shape");
    count *= std::uint64_t(s);
  }
  const std::string header = format_npy_header(descr_of(type), shape);
  out.write(header.data(), header.size());
  if (count > 0) out.write(data, std::size_t(count) * size_of(type));  // host order is little-endian
}

void save_npy(const std::string& path, ElementType type, const std::vector<std::int64_t>& shape, const void* data) {
  OutputFile out(path);
  write_npy(out, type, shape, data);
  out.commit();
}

void save_labels(const std::string& path, const std::vector<std::int32_t>& labels) {
  save_npy(path, ElementType::I32, {std::int64_t(labels.size())}, labels.data());
}

void save_centroids(const std::string& path, const std::vector<double>& centroids, std::int64_t k, std::int64_t d,
                    ElementType type) {
  if (k < 0 || d < 0 || std::uint64_t(k) * std::uint64_t(d) != centroids.size())
    throw Error(ErrorCode::InvalidArgument, path + ": centroids hold " + std::to_string(centroids.size()) +
                                                " values, not k x d = " + std::to_string(k) + " x " + std::to_string(d));
  if (type == ElementType::F64) return save_npy(path, type, {k, d}, centroids.data());
  if (type != ElementType::F32)
    throw Error(ErrorCode::InvalidArgument, path + ": centroids are written as float32 or float64, not " + std::string(to_string(type)));
  const std::vector<float> narrowed(centroids.begin(), centroids.end());
  save_npy(path, type, {k, d}, narrowed.data());
}

}  // namespace fkm::io
