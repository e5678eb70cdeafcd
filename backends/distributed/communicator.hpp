// The few collective operations the distributed layer needs, behind one small interface so the
// transport can change: MPI on the host (mpi_communicator.cpp), and optionally an integer sum of
// device memory (sum_device: NCCL, nccl_communicator.cpp) for the per-iteration totals. Every reduction
// that decides a result is an integer sum, a maximum or a bitwise or: exact and independent of
// the order in which the transport combines the processes.
#pragma once
#include <cstdint>
#include <vector>

#include "fkm/backend.hpp"
#include "fkm/error.hpp"

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
  /// Whether sum_device can sum words in this process's device memory (a device all-reduce).
  virtual bool sums_device_words() const { return false; }
  /// words := their element-wise int64 sum over processes, in place in device memory; returns
  /// once the sum is complete. Collective; only where sums_device_words().
  virtual void sum_device(const DeviceWords& /*words*/) {
    throw Error(ErrorCode::Internal, "this communicator has no device all-reduce");
  }
};

/// A Communicator whose collectives are another one's: the base of one that adds a device
/// all-reduce (NcclCommunicator) and keeps the host's for everything else.
class ForwardingCommunicator : public Communicator {
 public:
  explicit ForwardingCommunicator(Communicator& host) : host_(host) {}
  int rank() const override { return host_.rank(); }
  int size() const override { return host_.size(); }
  int node_rank() override { return host_.node_rank(); }
  void sum(std::int64_t* data, std::int64_t n) override { host_.sum(data, n); }
  void exclusive_sum(std::int64_t* data, std::int64_t n) override { host_.exclusive_sum(data, n); }
  void max(std::int64_t* data, std::int64_t n) override { host_.max(data, n); }
  void max(double* data, std::int64_t n) override { host_.max(data, n); }
  void bit_or(std::uint64_t* data, std::int64_t n) override { host_.bit_or(data, n); }
  std::vector<std::vector<char>> all_gather(const std::vector<char>& mine) override { return host_.all_gather(mine); }
  void broadcast(std::vector<char>& bytes, int root) override { host_.broadcast(bytes, root); }

 protected:
  Communicator& host_;
};

}  // namespace fkm::detail
