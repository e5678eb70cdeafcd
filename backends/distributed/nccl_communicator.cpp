#include "nccl_communicator.hpp"

#include <cuda_runtime.h>
#include <nccl.h>
#include <unistd.h>

#include <cstring>
#include <limits>

#include "all_or_none.hpp"

namespace fkm::detail {
namespace {

void check_cuda(cudaError_t rc, const char* what) {
  if (rc == cudaSuccess) return;
  throw Error(ErrorCode::Internal, std::string(what) + " failed: " + cudaGetErrorString(rc));
}

void check_nccl(ncclResult_t rc, const char* what) {
  if (rc == ncclSuccess) return;
  throw Error(ErrorCode::Internal, std::string(what) + " failed: " + ncclGetErrorString(rc));
}

/// "host name/PCI bus id" of this process's GPU.
std::string gpu_identity(int device) {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  char bus[64] = {};
  check_cuda(cudaDeviceGetPCIBusId(bus, sizeof bus, device), "cudaDeviceGetPCIBusId");
  return std::string(host) + "/" + bus;
}

}  // namespace

bool distinct_gpus(Communicator& host, int device, std::string* why) {
  std::string mine;
  all_or_none(host, [&] { mine = gpu_identity(device); });
  const auto all = host.all_gather(std::vector<char>(mine.begin(), mine.end()));
  for (std::size_t a = 0; a < all.size(); ++a)
    for (std::size_t b = a + 1; b < all.size(); ++b)
      if (all[a] == all[b]) {
        if (why)
          *why = "processes " + std::to_string(a) + " and " + std::to_string(b) + " share the GPU " +
                 std::string(all[a].begin(), all[a].end());
        return false;
      }
  return true;
}

struct NcclCommunicator::Comm {
  ncclComm_t comm = nullptr;
};

NcclCommunicator::NcclCommunicator(Communicator& host, int device) : ForwardingCommunicator(host), device_(device), comm_(std::make_unique<Comm>()) {
  // The unique id from rank 0, to every process through the host communicator.
  std::vector<char> id(sizeof(ncclUniqueId));
  all_or_none(host_, [&] {
    check_cuda(cudaSetDevice(device_), "cudaSetDevice");
    if (host_.rank() == 0) {
      ncclUniqueId u;
      check_nccl(ncclGetUniqueId(&u), "ncclGetUniqueId");
      std::memcpy(id.data(), &u, sizeof u);
    }
  });
  host_.broadcast(id, 0);
  ncclUniqueId u;
  std::memcpy(&u, id.data(), sizeof u);
  // Every process reaches the init (the steps before agreed); its outcome is agreed too.
  all_or_none(host_, [&] { check_nccl(ncclCommInitRank(&comm_->comm, host_.size(), u, host_.rank()), "ncclCommInitRank"); });
}

NcclCommunicator::~NcclCommunicator() {
  if (comm_ && comm_->comm) ncclCommDestroy(comm_->comm);
}

void NcclCommunicator::sum_device(const DeviceWords& words) {
  if (words.device != device_)
    throw Error(ErrorCode::Internal, "NCCL: words on device " + std::to_string(words.device) + ", the communicator on " +
                                         std::to_string(device_));
  auto stream = static_cast<cudaStream_t>(words.stream);
  check_cuda(cudaSetDevice(device_), "cudaSetDevice");
  // ncclInt64 sums wrap modulo 2^64 like the host's int64 sums; each word stays far from that.
  check_nccl(ncclAllReduce(words.data, words.data, std::size_t(words.count), ncclInt64, ncclSum, comm_->comm, stream),
             "ncclAllReduce");
  check_cuda(cudaStreamSynchronize(stream), "the all-reduce's stream");
}

}  // namespace fkm::detail
