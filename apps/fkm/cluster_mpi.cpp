// The cluster with MPI (FKM_ENABLE_MPI): see cluster.hpp.
#include <mpi.h>

#include <algorithm>
#include <cstdlib>

#include "cluster.hpp"
#include "fkm/distributed.hpp"

namespace fkm::cli {
namespace {

Cluster g_cluster;

/// The launchers' environment: Open MPI, PMIx (Open MPI 4+, Slurm with pmix), PMI (MPICH, Slurm).
bool started_by_mpi_launcher() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"})
    if (std::getenv(var) != nullptr) return true;
  return false;
}

}  // namespace

ClusterSession::ClusterSession(int& argc, char**& argv) {
  if (!started_by_mpi_launcher()) return;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_cluster.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_cluster.size);
  g_cluster.distributed = true;
}

ClusterSession::~ClusterSession() {
  if (g_cluster.distributed) MPI_Finalize();
}

const Cluster& cluster() { return g_cluster; }

void on_all_or_none(const std::function<void()>& step) {
  if (g_cluster.distributed) all_or_none(MPI_COMM_WORLD, step);
  else step();
}

std::int64_t shard_begin(std::int64_t rows, int rank) {
  // rows * rank / size without overflow for any 64-bit row count
  return std::int64_t(static_cast<__int128>(rows) * rank / g_cluster.size);
}

KMeansResult fit_shard(const MatrixView& shard, const KMeansParams& p, const VectorView& weights, Transport transport) {
  return fit_distributed(MPI_COMM_WORLD, shard, p, weights, transport);
}

std::vector<std::int32_t> gather_labels(const std::vector<std::int32_t>& mine, std::int64_t total) {
  // In pieces of at most 2^30 labels per process, so MPI's int counts never overflow.
  constexpr std::int64_t kPiece = std::int64_t(1) << 30;
  const int size = g_cluster.size;
  std::vector<std::int64_t> counts(size);
  const std::int64_t n = std::int64_t(mine.size());
  MPI_Allgather(&n, 1, MPI_INT64_T, counts.data(), 1, MPI_INT64_T, MPI_COMM_WORLD);
  std::vector<std::int32_t> all(g_cluster.rank == 0 ? total : 0);
  std::int64_t begin = 0;
  for (int r = 0; r < size; ++r) {
    for (std::int64_t done = 0; done < counts[r]; done += kPiece) {
      const int piece = int(std::min(kPiece, counts[r] - done));
      if (r == 0) {
        if (g_cluster.rank == 0) std::copy_n(mine.data() + done, piece, all.data() + done);
      } else if (g_cluster.rank == r) {
        MPI_Send(mine.data() + done, piece, MPI_INT32_T, 0, 0, MPI_COMM_WORLD);
      } else if (g_cluster.rank == 0) {
        MPI_Recv(all.data() + begin + done, piece, MPI_INT32_T, r, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      }
    }
    begin += counts[r];
  }
  return all;
}

}  // namespace fkm::cli
