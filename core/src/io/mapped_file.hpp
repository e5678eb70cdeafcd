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
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace fkm::io::detail
