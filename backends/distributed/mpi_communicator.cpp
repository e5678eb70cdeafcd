#include "mpi_communicator.hpp"

#include <algorithm>
#include <climits>
#include <string>

#include "fkm/error.hpp"

namespace fkm::detail {
namespace {

// MPI counts are int: long buffers go in pieces.
constexpr std::int64_t kChunk = std::int64_t(1) << 28;

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw Error(ErrorCode::Internal, std::string(what) + " failed: " + std::string(text, len));
}

}  // namespace

MpiCommunicator::MpiCommunicator(MPI_Comm comm) : comm_(comm) {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) throw Error(ErrorCode::InvalidArgument, "fit_distributed: MPI is not initialised (call MPI_Init first)");
  if (comm == MPI_COMM_NULL) throw Error(ErrorCode::InvalidArgument, "fit_distributed: the communicator is MPI_COMM_NULL");
  check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

int MpiCommunicator::node_rank() {
  MPI_Comm node = MPI_COMM_NULL;
  check(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node), "MPI_Comm_split_type");
  int r = 0;
  const int rc = MPI_Comm_rank(node, &r);
  MPI_Comm_free(&node);
  check(rc, "MPI_Comm_rank");
  return r;
}

void MpiCommunicator::all_reduce(void* data, std::int64_t n, MPI_Datatype type, std::size_t elem_bytes, MPI_Op op) {
  char* p = static_cast<char*>(data);
  for (std::int64_t i = 0; i < n; i += kChunk) {
    const int count = int(std::min(kChunk, n - i));
    check(MPI_Allreduce(MPI_IN_PLACE, p + i * elem_bytes, count, type, op, comm_), "MPI_Allreduce");
  }
}

void MpiCommunicator::sum(std::int64_t* data, std::int64_t n) {
  all_reduce(data, n, MPI_INT64_T, sizeof(std::int64_t), MPI_SUM);
}

void MpiCommunicator::exclusive_sum(std::int64_t* data, std::int64_t n) {
  std::vector<std::int64_t> in(data, data + n);
  for (std::int64_t i = 0; i < n; i += kChunk) {
    const int count = int(std::min(kChunk, n - i));
    check(MPI_Exscan(in.data() + i, data + i, count, MPI_INT64_T, MPI_SUM, comm_), "MPI_Exscan");
  }
  if (rank_ == 0) std::fill(data, data + n, 0);  // MPI leaves rank 0's result undefined
}

void MpiCommunicator::max(std::int64_t* data, std::int64_t n) {
  all_reduce(data, n, MPI_INT64_T, sizeof(std::int64_t), MPI_MAX);
}

void MpiCommunicator::max(double* data, std::int64_t n) { all_reduce(data, n, MPI_DOUBLE, sizeof(double), MPI_MAX); }

void MpiCommunicator::bit_or(std::uint64_t* data, std::int64_t n) {
  all_reduce(data, n, MPI_UINT64_T, sizeof(std::uint64_t), MPI_BOR);
}

std::vector<std::vector<char>> MpiCommunicator::all_gather(const std::vector<char>& mine) {
  if (mine.size() > std::size_t(INT_MAX)) throw Error(ErrorCode::Unsupported, "all_gather: more than 2^31 bytes from one process");
  const int count = int(mine.size());
  std::vector<int> counts(size_), displs(size_);
  check(MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, comm_), "MPI_Allgather");
  std::int64_t total = 0;
  for (int r = 0; r < size_; ++r) {
    displs[r] = int(total);
    total += counts[r];
  }
  if (total > INT_MAX) throw Error(ErrorCode::Unsupported, "all_gather: more than 2^31 bytes in total");
  std::vector<char> all(std::max<std::int64_t>(total, 1));
  check(MPI_Allgatherv(mine.data(), count, MPI_CHAR, all.data(), counts.data(), displs.data(), MPI_CHAR, comm_),
        "MPI_Allgatherv");
  std::vector<std::vector<char>> out(size_);
  for (int r = 0; r < size_; ++r) out[r].assign(all.begin() + displs[r], all.begin() + displs[r] + counts[r]);
  return out;
}

void MpiCommunicator::broadcast(std::vector<char>& bytes, int root) {
  std::int64_t n = std::int64_t(bytes.size());
  check(MPI_Bcast(&n, 1, MPI_INT64_T, root, comm_), "MPI_Bcast");
  bytes.resize(n);
  for (std::int64_t i = 0; i < n; i += kChunk)
    check(MPI_Bcast(bytes.data() + i, int(std::min(kChunk, n - i)), MPI_CHAR, root, comm_), "MPI_Bcast");
}

}  // namespace fkm::detail
