// Communicator over an MPI communicator (host buffers).
#pragma once
#include <mpi.h>

#include "communicator.hpp"

namespace fkm::detail {

class MpiCommunicator final : public Communicator {
 public:
  /// Throws Error(InvalidArgument) when comm is MPI_COMM_NULL or MPI is not initialised.
  explicit MpiCommunicator(MPI_Comm comm);
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int node_rank() override;
  void sum(std::int64_t* data, std::int64_t n) override;
  void exclusive_sum(std::int64_t* data, std::int64_t n) override;
  void max(std::int64_t* data, std::int64_t n) override;
  void max(double* data, std::int64_t n) override;
  void bit_or(std::uint64_t* data, std::int64_t n) override;
  std::vector<std::vector<char>> all_gather(const std::vector<char>& mine) override;
  void broadcast(std::vector<char>& bytes, int root) override;

 private:
  void all_reduce(void* data, std::int64_t n, MPI_Datatype type, std::size_t elem_bytes, MPI_Op op);
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
};

}  // namespace fkm::detail
