// What an open ArrayFile knows about its file: where each element lives in the mapping.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fkm/io.hpp"
#include "mapped_file.hpp"

namespace fkm::io {

struct ArrayFile::Impl {
  std::string path;
  FileFormat format = FileFormat::Npy;
  std::shared_ptr<const detail::MappedFile> map;
  ElementType type = ElementType::F32;
  std::string stored;            ///< the stored type in the file's words, for messages
  bool swap_bytes = false;       ///< big-endian elements
  bool fortran = false;          ///< column-major 2-D or 3-D .npy
  std::vector<std::int64_t> shape;
  std::int64_t rows = 0, cols = 0;
  std::size_t data_offset = 0;   ///< byte offset of element (0, 0)
  std::size_t row_pitch = 0;     ///< bytes from row i to row i + 1 (C order)
  bool row_headers = false;      ///< *vecs: an int32 dimension precedes every row

  std::size_t element_size() const { return size_of(type); }
  /// Address of element (i, j): j counts the trailing dimensions in C order (element (b, n, d)
  /// of a 3-D (B, N, D) array is (b, n * D + d)).
  const std::uint8_t* element(std::int64_t i, std::int64_t j) const {
    const std::size_t e = element_size();
    if (fortran) {
      // Column-major: the first index varies fastest, so (b, n, d) is at b + B * (n + N * d).
      std::size_t inner = std::size_t(j);
      if (shape.size() == 3) inner = std::size_t(j % shape[2]) * std::size_t(shape[1]) + std::size_t(j / shape[2]);
      return map->data() + data_offset + (inner * std::size_t(rows) + std::size_t(i)) * e;
    }
    return map->data() + data_offset + std::size_t(i) * row_pitch + std::size_t(j) * e;
  }
  /// *vecs: every row in [begin, end) declares dimension cols. Throws Error(Io) naming the row.
  void check_row_headers(std::int64_t begin, std::int64_t end) const;
};

/// Opens the two families of formats (npy_reader.cpp, vecs_reader.cpp).
/// `map` holds the file's bytes (a mapping, or borrowed memory); `path` names it in messages.
std::shared_ptr<ArrayFile::Impl> open_npy(std::shared_ptr<const detail::MappedFile> map, const std::string& path,
                                          const ReadOptions& options);
std::shared_ptr<ArrayFile::Impl> open_vecs(std::shared_ptr<const detail::MappedFile> map, const std::string& path,
                                           FileFormat format);

}  // namespace fkm::io
