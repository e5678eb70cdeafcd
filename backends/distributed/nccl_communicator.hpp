// NCCL for the per-iteration totals of a distributed fit on GPUs (FKM_ENABLE_NCCL): the cluster
// sums, already integers in device memory (Problem::accumulate_fixed_words), are summed by one
// ncclAllReduce (ncclInt64, ncclSum) and never cross to the host; every other collective (a few
// scalars and small vectors per iteration, the setup) stays on the host communicator (MPI).
// NCCL needs one GPU per process: distinct_gpus says whether the processes have that.
#pragma once
#include <memory>
#include <string>

#include "communicator.hpp"

namespace fkm::detail {

/// Collective over `host`: true when no two processes of one host use the same GPU (`device`
/// is this process's: its PCI bus id and the host name are compared). Otherwise false, with the
/// first pair that shares one in *why. Every process returns the same.
bool distinct_gpus(Communicator& host, int device, std::string* why);

class NcclCommunicator final : public ForwardingCommunicator {
 public:
  /// Collective over `host`: the NCCL communicator of the same processes, each on its `device`
  /// (distinct GPUs: distinct_gpus). Throws Error on every process if it cannot be made.
  NcclCommunicator(Communicator& host, int device);
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  bool sums_device_words() const override { return true; }
  /// words must be on this communicator's device.
  void sum_device(const DeviceWords& words) override;

 private:
  struct Comm;  // the ncclComm_t (nccl.h stays in the .cpp)
  int device_;
  std::unique_ptr<Comm> comm_;
};

}  // namespace fkm::detail
