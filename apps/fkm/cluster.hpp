// The processes that run one `fkm` command together. Started by an MPI launcher (mpirun,
// mpiexec, srun with PMI) and built with FKM_ENABLE_MPI, every process of MPI_COMM_WORLD runs the
// command on its own range of DATA's rows (fkm::fit_distributed); otherwise fkm runs alone.
// cluster_mpi.cpp and cluster_single.cpp are the two implementations; CMake compiles one.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "fkm/fkm.hpp"

namespace fkm::cli {

/// Starts MPI for the program's lifetime when an MPI launcher started it; finalises it at exit.
class ClusterSession {
 public:
  ClusterSession(int& argc, char**& argv);
  ~ClusterSession();
  ClusterSession(const ClusterSession&) = delete;
  ClusterSession& operator=(const ClusterSession&) = delete;
};

/// This process's place: rank 0 of 1 when fkm runs alone.
struct Cluster {
  int rank = 0;
  int size = 1;
  bool distributed = false;  ///< started by an MPI launcher (even with one process)
};
const Cluster& cluster();

/// Runs step() here; when distributed, agrees on the outcome so that a failure on any process
/// throws the same fkm::Error on every process.
void on_all_or_none(const std::function<void()>& step);

/// Rows [begin, end) of `rows` rows that this process clusters: an even split in rank order.
std::int64_t shard_begin(std::int64_t rows, int rank);

/// fkm::fit_distributed over MPI_COMM_WORLD (only called when distributed).
KMeansResult fit_shard(const MatrixView& shard, const KMeansParams& p, const VectorView& weights, Transport transport);

/// Every process's labels in rank order, on rank 0 (empty elsewhere).
std::vector<std::int32_t> gather_labels(const std::vector<std::int32_t>& mine, std::int64_t total);

}  // namespace fkm::cli
