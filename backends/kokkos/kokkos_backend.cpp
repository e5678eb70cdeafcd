// The Kokkos backend: registration, device description and binding of data to a
// KokkosProblem<dtype> (kokkos_problem.hpp), handed out inside a LockedProblem so that several
// host threads may use the backend at once (locked_problem.hpp). Kokkos is initialised lazily
// on first use (kokkos_runtime.hpp).
#include <new>

#include "../../core/src/backend_factories.hpp"
#include "fkm/error.hpp"
#include "kokkos_problem.hpp"
#include "kokkos_runtime.hpp"
#include "locked_problem.hpp"

namespace fkm::kokkos {

class KokkosBackend final : public Backend {
 public:
  BackendKind kind() const override { return BackendKind::Kokkos; }
  std::string name() const override { return "kokkos"; }
  /// Kokkos' device; none when Kokkos cannot start (a Kokkos-Cuda build on a machine without a
  /// usable GPU): binding then fails with the reason (ensure_initialized).
  std::vector<DeviceInfo> devices() const override {
    try {
      return {describe_device()};
    } catch (const Error&) {
      return {};
    }
  }

  /// Host views always (viewed in place or copied); device views when Kokkos runs on a GPU,
  /// whose memory space is then the caller's (see kokkos_problem.hpp).
  bool accepts(MemorySpace space) const override { return space == MemorySpace::Host || !kernels_read_host; }

  std::unique_ptr<Problem> bind(const ProblemSpec& s) const override {
    ensure_initialized();
    if (!accepts(s.x.space))
      throw Error(ErrorCode::Unsupported, std::string("the Kokkos backend runs on ") + ExecSpace::name() +
                                              ", which cannot read device memory views");
    const auto lock = exclusive_use();  // binding runs kernels: see locked_problem.hpp
    try {
      return std::make_unique<LockedProblem>(make_problem(s));
    } catch (const std::bad_alloc& e) {  // Kokkos' RawMemoryAllocationFailure is a bad_alloc
      throw Error(ErrorCode::OutOfMemory, std::string("kokkos backend: out of memory in ") + MemSpace::name() +
                                              " binding n = " + std::to_string(s.x.rows) + ", d = " +
                                              std::to_string(s.x.cols) + ": " + e.what());
    }
  }

 private:
  static std::unique_ptr<Problem> make_problem(const ProblemSpec& s) {
    switch (s.x.dtype) {
      case DType::F32: return std::make_unique<KokkosProblem<DType::F32>>(s);
      case DType::F64: return std::make_unique<KokkosProblem<DType::F64>>(s);
      case DType::F16: return std::make_unique<KokkosProblem<DType::F16>>(s);
      case DType::BF16: return std::make_unique<KokkosProblem<DType::BF16>>(s);
    }
    throw Error(ErrorCode::InvalidData, "the Kokkos backend got an unknown dtype");
  }
};

}  // namespace fkm::kokkos

namespace fkm::detail {
const Backend* kokkos_backend_instance() {
  static const kokkos::KokkosBackend instance;
  return &instance;
}
}  // namespace fkm::detail
