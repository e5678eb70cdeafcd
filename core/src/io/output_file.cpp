// OutputFile: write under a temporary name in the destination's folder, rename at the end.
// rename() within one folder is atomic, so a reader sees the old file or the whole new one,
// and an error (or a crash) before commit() leaves no output behind.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "fkm/error.hpp"
#include "fkm/io.hpp"

namespace fkm::io {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(ErrorCode::Io, path + ": " + what + ": " + std::strerror(errno));
}

/// Permissions of a new file: the existing destination's, else 0666 minus the umask.
mode_t target_mode(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return st.st_mode & 07777;
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return 0666 & ~mask;
}

/// realpath(3) as a string, or "" when it fails.
std::string real_path(const std::string& path) {
  char* real = ::realpath(path.c_str(), nullptr);
  if (real == nullptr) return {};
  std::string out(real);
  std::free(real);
  return out;
}

}  // namespace

OutputFile::OutputFile(std::string path) : path_(std::move(path)) {
  if (path_.empty()) throw Error(ErrorCode::InvalidArgument, "output path is empty");
  // The file commit() replaces. An existing destination must be a regular file: renaming over
  // a device, FIFO or socket (e.g. /dev/null as root) would destroy it. One reached through a
  // symlink is replaced where it is, as a shell redirection writes through the link (renaming
  // over the link itself would replace e.g. /dev/stdout with a regular file).
  std::string target = path_;
  struct stat st;
  if (::stat(path_.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw Error(ErrorCode::Io, path_ + ": cannot write: it is a directory");
    if (!S_ISREG(st.st_mode))
      throw Error(ErrorCode::Io, path_ + ": cannot write: it exists and is not a regular file (a device, FIFO or "
                                         "socket); fkm writes each output as a new file renamed into place");
    const std::string real = real_path(path_);
    if (!real.empty()) target = real;
  }
  const std::size_t slash = target.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : target.substr(0, slash);
  const std::string base = slash == std::string::npos ? target : target.substr(slash + 1);
  if (base.empty() || base == "." || base == "..") throw Error(ErrorCode::Io, path_ + ": cannot write: the path names a directory");
  // An absolute name for the destination, so that two spellings of one file compare equal.
  const std::string real_dir = real_path(dir);
  if (!real_dir.empty()) dir = real_dir;
  target_ = (dir == "/" ? "" : dir) + "/" + base;
  temp_path_ = (dir == "/" ? "" : dir) + "/." + base + ".tmp-XXXXXX";
  std::vector<char> name(temp_path_.begin(), temp_path_.end());
  name.push_back('\0');
  fd_ = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd_ < 0) fail(path_, "cannot write (creating a file in '" + dir + "' failed)");
  temp_path_ = name.data();
  if (::fchmod(fd_, target_mode(target_)) != 0) {
    const int saved = errno;
    ::close(fd_);
    ::unlink(temp_path_.c_str());
    fd_ = -1;
    errno = saved;
    fail(path_, "cannot set the permissions of the temporary file");
  }
}

OutputFile::OutputFile(OutputFile&& o) noexcept
    : path_(std::move(o.path_)), target_(std::move(o.target_)), temp_path_(std::move(o.temp_path_)), fd_(o.fd_),
      committed_(o.committed_) {
  o.fd_ = -1;
  o.committed_ = true;  // the moved-from object owns no temporary file any more
}

OutputFile::~OutputFile() {
  if (committed_) return;
  if (fd_ >= 0) ::close(fd_);
  if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
}

void OutputFile::write(const void* bytes, std::size_t size) {
  if (committed_ || fd_ < 0) throw Error(ErrorCode::Internal, path_ + ": write after commit");
  const auto* p = static_cast<const char*>(bytes);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size < (std::size_t(1) << 30) ? size : (std::size_t(1) << 30));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(path_, "write failed");
    }
    p += n;
    size -= std::size_t(n);
  }
}

void OutputFile::commit() {
  if (committed_ || fd_ < 0) throw Error(ErrorCode::Internal, path_ + ": commit twice");
  if (::fsync(fd_) != 0 && errno != EINVAL) fail(path_, "flushing to disk failed");
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail(path_, "closing failed");
  if (::rename(temp_path_.c_str(), target_.c_str()) != 0) fail(path_, "cannot rename the finished temporary file into place");
  committed_ = true;
}

}  // namespace fkm::io
