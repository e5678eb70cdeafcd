// fkm::Error — the one exception type the library throws.
#pragma once
#include <stdexcept>
#include <string>

namespace fkm {

/// What kind of failure an Error reports. Callers branch on this, not on message text.
enum class ErrorCode {
  InvalidArgument,  ///< a parameter is out of range or inconsistent (K <= 0, unknown option, ...)
  InvalidData,      ///< the data itself is unusable (NaN/Inf, empty, wrong shape or dtype)
  Io,               ///< a file could not be read or written, or is malformed
  OutOfMemory,      ///< a host or device allocation failed; the message gives the size asked
  Unsupported,      ///< the request is valid but this build or backend cannot do it
  Interrupted,      ///< a progress callback asked the fit to stop
  Internal,         ///< a bug in fkm or a backend runtime failure
};

/// Name of an ErrorCode, e.g. "invalid_argument".
const char* to_string(ErrorCode code) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace fkm
