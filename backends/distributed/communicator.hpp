// The few collective operations the distributed layer needs, behind one small interface so the
// transport can change: MPI on the host now (mpi_communicator.cpp); a device all-reduce (NCCL or
// CUDA-aware MPI) can implement the same operations for device buffers later. Every reduction
// that decides a result is an integer sum, a maximum or a bitwise or: exact and independent of
// the order in which the transport combines the processes.
#pragma once
#include <cstdint>
#include <vector>

namespace fkm::detail {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// Collective: this process's rank among the processes of its node (those that share memory
  /// with it), for one GPU per process. Default: rank() (every process on a node of its own
  /// numbering, as for a single node).
  virtual int node_rank() { return rank(); }
  /// data[i] := sum over processes of data[i] (in place).
  virtual void sum(std::int64_t* data, std::int64_t n) = 0;
  /// data[i] := sum over processes of lower rank of data[i] (0 on rank 0).
  virtual void exclusive_sum(std::int64_t* data, std::int64_t n) = 0;
  virtual void max(std::int64_t* data, std::int64_t n) = 0;
  virtual void max(double* data, std::int64_t n) = 0;
  virtual void bit_or(std::uint64_t* data, std::int64_t n) = 0;
  /// Every process's bytes, in rank order.
  virtual std::vector<std::vector<char>> all_gather(const std::vector<char>& mine) = 0;
  /// bytes := root's bytes on every process.
  virtual void broadcast(std::vector<char>& bytes, int root) = 0;
};

}  // namespace fkm::detail
