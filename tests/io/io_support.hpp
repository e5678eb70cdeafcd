// Test support for the file readers and writers: a scratch folder, raw file bytes, and a
// check that a call throws fkm::Error of a given code with given words in its message.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fkm/error.hpp"

namespace fkm_io_test {

/// A fresh folder under $TMPDIR (or /tmp), removed with everything in it on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  /// Names of the entries in the folder, hidden ones included, sorted.
  std::vector<std::string> entries() const;

 private:
  std::string dir_;
};

void write_bytes(const std::string& path, const std::string& bytes);
std::string read_bytes(const std::string& path);
bool exists(const std::string& path);

/// A .npy file's bytes: our header for (descr, shape) followed by `data`.
std::string npy_bytes(const std::string& descr, const std::vector<std::int64_t>& shape, const std::string& data);
/// A .npy file's bytes with a hand-written header dict (padded, newline-terminated) and version.
std::string npy_raw(const std::string& dict, const std::string& data, int major = 1);

/// The bytes of n values of T (host order, which is little-endian).
template <class T>
std::string as_bytes(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}
/// The bytes of v with every element's bytes reversed (big-endian).
template <class T>
std::string as_big_endian(const std::vector<T>& v) {
  std::string out;
  for (const T& x : v) {
    const char* p = reinterpret_cast<const char*>(&x);
    for (std::size_t b = sizeof(T); b-- > 0;) out += p[b];
  }
  return out;
}

/// Runs f; it must throw fkm::Error with `code` and a message containing every needle.
void check_error(const std::function<void()>& f, fkm::ErrorCode code, const std::vector<std::string>& needles);

}  // namespace fkm_io_test
