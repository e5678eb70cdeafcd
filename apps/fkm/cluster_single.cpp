// The cluster without MPI: fkm always runs alone (see cluster.hpp).
#include "cluster.hpp"
#include "fkm/error.hpp"

namespace fkm::cli {

ClusterSession::ClusterSession(int&, char**&) {}
ClusterSession::~ClusterSession() = default;

const Cluster& cluster() {
  static const Cluster alone;
  return alone;
}

void on_all_or_none(const std::function<void()>& step) { step(); }

std::int64_t shard_begin(std::int64_t rows, int rank) { return rank == 0 ? 0 : rows; }

KMeansResult fit_shard(const MatrixView&, const KMeansParams&, const VectorView&, Transport) {
  throw Error(ErrorCode::Unsupported, "this fkm was built without MPI (rebuild with -DFKM_ENABLE_MPI=ON)");
}

std::vector<std::int32_t> gather_labels(const std::vector<std::int32_t>& mine, std::int64_t) { return mine; }

}  // namespace fkm::cli
