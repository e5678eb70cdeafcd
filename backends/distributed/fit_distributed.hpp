// fit_distributed over any Communicator (fkm::fit_distributed is this over MPI): for other
// transports, and for tests that run the processes as threads of one process.
#pragma once
#include "communicator.hpp"
#include "fkm/kmeans.hpp"
#include "fkm/params.hpp"
#include "fkm/view.hpp"

namespace fkm::detail {

/// Collective over `comm`: see fkm::fit_distributed (fkm/distributed.hpp).
KMeansResult fit_distributed(Communicator& comm, const MatrixView& x, const KMeansParams& params, const VectorView& w);

}  // namespace fkm::detail
