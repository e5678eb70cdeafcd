// Failure agreement: a step that may fail on some processes only (bad local input, a backend
// error, an allocation) is followed by a collective vote, so either every process goes on or
// every process throws the same fkm::Error. No process is left waiting in a collective that
// the others will never reach.
#pragma once
#include <new>
#include <optional>
#include <string>

#include "communicator.hpp"
#include "fkm/error.hpp"

namespace fkm::detail {

struct Failure {
  ErrorCode code = ErrorCode::Internal;
  std::string message;
};

/// Collective: if any process passes a failure, every process throws Error with the code and
/// message of the lowest failing rank ("rank R: " is prepended when several processes run).
void agree(Communicator& comm, const std::optional<Failure>& mine);

/// Runs step() here, then agree()s on whether it failed anywhere.
template <class Step>
void all_or_none(Communicator& comm, Step&& step) {
  std::optional<Failure> failure;
  try {
    step();
  } catch (const Error& e) {
    failure = Failure{e.code(), e.what()};
  } catch (const std::bad_alloc&) {
    failure = Failure{ErrorCode::OutOfMemory, "out of host memory"};
  } catch (const std::exception& e) {
    failure = Failure{ErrorCode::Internal, e.what()};
  }
  agree(comm, failure);
}

}  // namespace fkm::detail
