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
  bool fortran = false;          ///< column-major 2-D .npy
  std::vector<std::int64_t> shape;
  std::int64_t rows = 0, cols = 0;
  std::size_t data_offset = 0;   ///< byte offset of element (0, 0)
  std::size_t row_pitch = 0;     ///< bytes from row i to row i + 1 (C order)
  bool row_headers = false;      ///< *vecs: an int32 dimension precedes every row

  std::size_t element_size() const { return size_of(type); }
  /// Address of element (i, j).
  const std::uint8_t* element(std::int64_t i, std::int64_t j) const {
    const std::size_t e = element_size();
    if (fortran) return map->data() + data_offset + (std::size_t(j) * std::size_t(rows) + std::size_t(i)) * e;
    return map->data() + data_offset + std::size_t(i) * row_pitch + std::size_t(j) * e;
  }
  /// *vecs: every row in [begin, end) declares dimension cols. Throws Error(Io) naming the row.
  void check_row_headers(std::int64_t begin, std::int64_t end) const;
};

/// Opens the two families of formats (npy_reader.cpp, vecs_reader.cpp).
std::shared_ptr<ArrayFile::Impl> open_npy(const std::string& path, const ReadOptions& options);
std::shared_ptr<ArrayFile::Impl> open_vecs(const std::string& path, FileFormat format);

}  // namespace fkm::io
