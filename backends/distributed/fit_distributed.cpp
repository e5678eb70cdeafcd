// fit_distributed: the driver of KMeans::fit (core/src/kmeans.cpp) over a DistributedProblem,
// with every step that can fail on one process only followed by a collective agreement. The
// restarts are the single-process ones (core/src/restarts.cpp), with on_iteration agreed.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "../../core/src/convert.hpp"
#include "../../core/src/problem_spec.hpp"
#include "../../core/src/restarts.hpp"
#include "../../core/src/stopwatch.hpp"
#include "../../core/src/validate.hpp"
#include "all_or_none.hpp"
#include "distributed_problem.hpp"
#include "fit_distributed.hpp"
#include "fkm/distributed.hpp"
#include "fkm/error.hpp"
#include "mpi_communicator.hpp"
#if defined(FKM_WITH_NCCL)
#include "nccl_communicator.hpp"
#endif

namespace fkm {
namespace detail {
namespace {

/// FNV-1a over bytes: a fingerprint of the options, to check every process got the same ones.
std::uint64_t fnv(std::uint64_t h, const void* p, std::size_t n) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}
template <class T>
std::uint64_t fnv(std::uint64_t h, const T& v) {
  return fnv(h, &v, sizeof(v));
}

std::uint64_t fingerprint(const KMeansParams& p, std::int64_t cols, DType dtype) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  h = fnv(h, p.k);
  h = fnv(h, int(p.init));
  h = fnv(h, p.n_init);
  h = fnv(h, p.max_iter);
  h = fnv(h, p.tol);
  h = fnv(h, p.seed);
  h = fnv(h, int(p.metric));
  h = fnv(h, int(p.precision));
  h = fnv(h, int(p.empty_clusters));
  h = fnv(h, int(p.backend));
  h = fnv(h, p.kmeans_parallel_rounds);
  h = fnv(h, p.kmeans_parallel_oversampling);
  h = fnv(h, cols);
  h = fnv(h, int(dtype));
  if (p.init == Init::Given) {
    std::vector<double> row(p.initial_centroids.cols);
    for (std::int64_t i = 0; i < p.initial_centroids.rows; ++i) {
      load_row(p.initial_centroids, i, row.data());
      h = fnv(h, row.data(), row.size() * sizeof(double));
    }
  }
  return h;
}

/// Collective: throws on every process unless every process has the same value.
void require_same(Communicator& comm, std::int64_t value, const std::string& what) {
  std::int64_t v[2] = {value, -value};
  comm.max(v, 2);
  if (v[0] != -v[1]) throw Error(ErrorCode::InvalidArgument, "fit_distributed: " + what + " differ between processes");
}

/// max |x_if| over the finite values of a host view (NaN and Inf are reported later, by the
/// backend's value check).
double largest_magnitude(const MatrixView& x, int threads) {
  double largest = 0;
#pragma omp parallel num_threads(threads) reduction(max : largest)
  {
    std::vector<double> row(x.cols);
#pragma omp for schedule(static)
    for (std::int64_t i = 0; i < x.rows; ++i) {
      load_row(x, i, row.data());
      for (double v : row)
        if (std::isfinite(v)) largest = std::max(largest, std::fabs(v));
    }
  }
  return largest;
}

void validate_shard(const MatrixView& x, const VectorView& w) {
  if (x.rows < 0) throw Error(ErrorCode::InvalidData, "data: negative number of rows (" + std::to_string(x.rows) + ")");
  if (x.space != MemorySpace::Host)
    throw Error(ErrorCode::Unsupported, "fit_distributed: data must be in host memory (device views are not supported yet)");
  if (x.rows > 0) {
    validate_data(x, w, 0, "data");
    return;
  }
  if (x.cols <= 0) throw Error(ErrorCode::InvalidData, "data is empty: it has " + std::to_string(x.cols) + " columns");
  if (w.size != 0) throw Error(ErrorCode::InvalidData, "weights have " + std::to_string(w.size) + " values but data has 0 rows");
}

/// Collective: the communicator that sums the per-iteration totals: an NCCL one where the
/// transport asks for it or allows it (Auto) and it can run, else `host`. Every process decides
/// the same (the backend kind is agreed, distinct_gpus is collective); Transport::Nccl where NCCL
/// cannot run throws the same error on every process.
std::unique_ptr<Communicator> totals_communicator(Communicator& host, Transport transport, BackendKind kind, int device,
                                                  std::string* used) {
  *used = to_string(Transport::Host);
  if (transport == Transport::Host) return nullptr;
  std::string why;
#if defined(FKM_WITH_NCCL)
  if (kind != BackendKind::Cuda) why = std::string("it needs the cuda backend (this fit runs ") + to_string(kind) + ")";
  else distinct_gpus(host, device, &why);
  if (why.empty()) {
    *used = to_string(Transport::Nccl);
    return std::make_unique<NcclCommunicator>(host, device);
  }
#else
  (void)host, (void)kind, (void)device;
  why = "this fkm was built without NCCL (-DFKM_ENABLE_NCCL=ON)";
#endif
  if (transport == Transport::Nccl) throw Error(ErrorCode::InvalidArgument, "transport nccl cannot run: " + why);
  return nullptr;
}

}  // namespace

KMeansResult fit_distributed(Communicator& comm, const MatrixView& x, const KMeansParams& params, const VectorView& w,
                             Transport transport) {
  const auto t_start = std::chrono::steady_clock::now();
  all_or_none(comm, [&] {
    validate_params(params);
    validate_shard(x, w);
    if (params.init == Init::Given) validate_given_centroids(params, x.cols);
  });
  require_same(comm, std::int64_t(fingerprint(params, x.cols, x.dtype) >> 1),
               "the parameters, the number of columns or the data type");

  std::int64_t offset = x.rows, n_global = x.rows;
  comm.exclusive_sum(&offset, 1);
  comm.sum(&n_global, 1);
  if (params.k > n_global)
    throw Error(ErrorCode::InvalidArgument, "k = " + std::to_string(params.k) + " is larger than the number of points (" +
                                                std::to_string(n_global) + ")");

  const Backend* backend = nullptr;
  all_or_none(comm, [&] { backend = &select_backend(params.backend, MemorySpace::Host); });
  require_same(comm, std::int64_t(backend->kind()), "the backends chosen");
  ProblemSpec spec = detail::problem_spec(params, x, w, offset);
  if (backend->kind() == BackendKind::Cuda || backend->kind() == BackendKind::Hip) {
    // One GPU per process: the r-th process of a node takes the node's GPU r % count. Its shard
    // is copied there once and stays (the iterations move only K x D-sized sums).
    const int on_node = comm.node_rank();
    spec.device = on_node % std::max<int>(1, int(backend->devices().size()));
    // The score unit of the GPU kernels follows the largest magnitude: the global one, so that
    // every shard computes in the same unit (ProblemSpec::data_max_abs).
    double largest = 0;
    const int threads = params.num_threads > 0 ? params.num_threads : int(std::max(1u, std::thread::hardware_concurrency()));
    all_or_none(comm, [&] { largest = largest_magnitude(x, threads); });
    comm.max(&largest, 1);
    spec.data_max_abs = largest;
  }
  require_same(comm, std::int64_t(transport), "the transports asked for");
  std::unique_ptr<Problem> local;
  all_or_none(comm, [&] { local = backend->bind(spec); });
  std::string transport_used;
  const std::unique_ptr<Communicator> totals =
      totals_communicator(comm, transport, backend->kind(), spec.device < 0 ? 0 : spec.device, &transport_used);
  DistributedProblem problem(totals ? *totals : comm, *backend, spec, std::move(local));
  validate_values(problem, params.k, "data");

  const double tol_absolute = params.tol * problem.mean_variance();

  // The stop request of on_iteration is agreed: one process asking to stop stops all.
  KMeansParams run_params = params;
  run_params.on_iteration = [&](int run, int iter, const IterationRecord& rec) {
    std::int64_t stop = 0;
    all_or_none(comm, [&] {
      if (params.on_iteration && !params.on_iteration(run, iter, rec)) stop = 1;
    });
    comm.max(&stop, 1);
    return stop == 0;
  };

  KMeansResult best = run_restarts(problem, run_params, tol_absolute, x.rows);
  best.n = x.rows;
  best.backend = to_string(backend->kind());
  best.device = problem.device_name();
  best.transport = transport_used;
  best.seconds_total = seconds_since(t_start);
  return best;
}

}  // namespace detail

KMeansResult fit_distributed(MPI_Comm comm, const MatrixView& local_rows, const KMeansParams& params,
                             const VectorView& local_weights, Transport transport) {
  detail::MpiCommunicator c(comm);
  return detail::fit_distributed(c, local_rows, params, local_weights, transport);
}

void all_or_none(MPI_Comm comm, const std::function<void()>& step) {
  detail::MpiCommunicator c(comm);
  detail::all_or_none(c, step);
}

}  // namespace fkm
