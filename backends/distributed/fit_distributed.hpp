// fit_distributed over any Communicator (fkm::fit_distributed is this over MPI): for other
// transports, and for tests that run the processes as threads of one process.
#pragma once
#include "communicator.hpp"
#include "fkm/kmeans.hpp"
#include "fkm/params.hpp"
#include "fkm/view.hpp"

namespace fkm::detail {

/// Collective over `comm`: see fkm::fit_distributed (fkm/distributed.hpp). Transport::Nccl or
/// Auto may add an NCCL communicator for the totals; with Transport::Host the totals go through
/// `comm`, by its own sum_device where it offers one (sums_device_words).
KMeansResult fit_distributed(Communicator& comm, const MatrixView& x, const KMeansParams& params, const VectorView& w,
                             Transport transport = Transport::Auto);

}  // namespace fkm::detail
