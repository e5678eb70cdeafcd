// Distributed k-means over MPI (built with -DFKM_ENABLE_MPI=ON; this header needs <mpi.h>).
//
// Every process of the communicator calls fit_distributed with its own shard of the rows: the
// data set is the concatenation of the shards in rank order. Each process runs the backend of
// KMeansParams::backend on its shard: reference, cpu, kokkos, cuda or hip (a GPU backend puts
// the shard of the r-th process of a node on that node's GPU r % count, once). The result is
// bitwise identical for any number of processes and any split of the rows, and for any thread
// count (see docs/clusters.md for the guarantee and its limits).
#pragma once
#include <mpi.h>

#include <functional>

#include "fkm/kmeans.hpp"
#include "fkm/params.hpp"
#include "fkm/view.hpp"

namespace fkm {

/// Collective over `comm`: every process must call it, with the same params and data of the same
/// number of columns and dtype (all checked). local_rows: this process's rows, in host memory
/// (a process may hold no rows: rows = 0). local_weights: weights of these rows, or empty for
/// weight 1.
///
/// Returns on every process the same centroids, inertia, iterations and history; labels (and
/// n) are those of this process's rows. If any process hits an error (bad input anywhere, a
/// backend failure, an interrupt from on_iteration on any process), every process throws the
/// same fkm::Error (the lowest failing rank's, its message prefixed with "rank R: " when it was
/// found by that process alone): no process is left waiting.
///
/// transport: how the per-iteration cluster totals travel (Transport, fkm/params.hpp); the
/// result says which one ran (KMeansResult::transport).
KMeansResult fit_distributed(MPI_Comm comm, const MatrixView& local_rows, const KMeansParams& params,
                             const VectorView& local_weights = {}, Transport transport = Transport::Auto);

/// Collective over `comm`: runs step() on this process, then agrees on the outcome. If step threw
/// on any process, every process throws the same fkm::Error (the lowest failing rank's; other
/// exceptions become ErrorCode::Internal, std::bad_alloc OutOfMemory); otherwise every process
/// returns. For a program's own steps around fit_distributed (reading its shard, writing
/// outputs) that may fail on some processes only.
void all_or_none(MPI_Comm comm, const std::function<void()>& step);

}  // namespace fkm
