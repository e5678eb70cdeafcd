// A read-only memory mapping of a whole file (POSIX mmap). Pages are read from disk only when
// touched, so a reader that looks at a range of rows costs only those rows.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace fkm::io::detail {

class MappedFile {
 public:
  /// Maps `path`. Throws Error(Io) naming the file when it cannot be opened, is not a regular
  /// file, or is empty.
  explicit MappedFile(const std::string& path);
  /// Borrows `size` bytes of caller memory (ArrayFile::open_memory): nothing is mapped or
  /// copied, and the bytes must outlive this object. Throws Error(Io) naming `name` when empty.
  MappedFile(const void* bytes, std::size_t size, const std::string& name);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  bool mapped_ = false;  ///< true when data_ is our mmap (to unmap), false when borrowed
};

}  // namespace fkm::io::detail
