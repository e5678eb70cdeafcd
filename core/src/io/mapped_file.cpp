#include "mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fkm/error.hpp"

namespace fkm::io::detail {
namespace {

/// Closes a file descriptor on every path out of the constructor.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(ErrorCode::Io, path + ": " + what);
}

}  // namespace

MappedFile::MappedFile(const std::string& path) {
  int fd;
  do {
    // O_NONBLOCK: opening a FIFO (e.g. a shell's <(...)) would otherwise wait for a writer
    // forever; it is then refused below as not a regular file. It changes nothing for mmap.
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  FdCloser closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) fail(path, std::string("cannot stat: ") + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) fail(path, "is a directory, not a file");
  if (!S_ISREG(st.st_mode))
    fail(path, "is not a regular file (a pipe, FIFO or device): fkm memory-maps its inputs, so save the data to a file first");
  if (st.st_size == 0) fail(path, "empty file (0 bytes)");
  size_ = std::size_t(st.st_size);
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) fail(path, std::string("cannot memory-map ") + std::to_string(size_) + " bytes: " + std::strerror(errno));
  data_ = static_cast<const std::uint8_t*>(p);
  mapped_ = true;
}

MappedFile::MappedFile(const void* bytes, std::size_t size, const std::string& name) {
  if (size == 0 || bytes == nullptr) fail(name, "empty file (0 bytes)");
  data_ = static_cast<const std::uint8_t*>(bytes);
  size_ = size;
}

MappedFile::~MappedFile() {
  if (mapped_) ::munmap(const_cast<std::uint8_t*>(data_), size_);
}

}  // namespace fkm::io::detail
