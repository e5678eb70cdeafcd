#include "all_or_none.hpp"

#include <cstdint>

namespace fkm::detail {

void agree(Communicator& comm, const std::optional<Failure>& mine) {
  // The lowest failing rank r votes size - r; the maximum names it.
  std::int64_t vote = mine ? comm.size() - comm.rank() : 0;
  comm.max(&vote, 1);
  if (vote == 0) return;
  const int root = comm.size() - int(vote);
  std::vector<char> bytes;
  if (comm.rank() == root) {
    bytes.push_back(char(mine->code));
    bytes.insert(bytes.end(), mine->message.begin(), mine->message.end());
  }
  comm.broadcast(bytes, root);
  const auto code = ErrorCode(static_cast<unsigned char>(bytes.at(0)));
  std::string message(bytes.begin() + 1, bytes.end());
  if (comm.size() > 1) message = "rank " + std::to_string(root) + ": " + message;
  throw Error(code, message);
}

}  // namespace fkm::detail
