// `fkm fit`: read DATA (and weights, initial centroids), cluster it through the public
// fkm::KMeans API, write labels, centroids and a JSON report.
//
// Started by an MPI launcher (`mpirun -np R fkm fit ...`, with FKM_ENABLE_MPI), every process
// maps DATA and clusters its own range of rows with fkm::fit_distributed (the result is the same
// for any R); rank 0 gathers the labels and writes every output. Each step that may fail on one
// process only is agreed by all (cluster.hpp), so an error anywhere ends every process with the
// same error: exit status 2 and one message (from rank 0), no output file.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

#include "cluster.hpp"
#include "common.hpp"
#include "fit_setup.hpp"
#include "outputs.hpp"
#include "progress.hpp"

namespace fkm::cli {
namespace {

/// With several processes: this process clusters its own rows of x (an even split in rank
/// order); the returned result holds every process's labels on rank 0.
KMeansResult fit_rows_of_this_process(const MatrixView& x, const KMeansParams& p, const std::vector<double>& weights,
                                      Transport transport) {
  const int rank = cluster().rank;
  const std::int64_t begin = shard_begin(x.rows, rank), end = shard_begin(x.rows, rank + 1);
  MatrixView mine = x;
  mine.data = static_cast<const char*>(x.data) + begin * x.row_stride * std::int64_t(size_of(x.dtype));
  mine.rows = end - begin;
  KMeansResult r =
      fit_shard(mine, p, weights.empty() ? VectorView{} : host_vector(weights.data() + begin, end - begin), transport);
  r.labels = gather_labels(r.labels, x.rows);
  r.n = x.rows;
  return r;
}

nlohmann::ordered_json make_report(const FitOptions& o, const KMeansParams& p, const io::DataMatrix& data,
                                   const KMeansResult& r, double seconds_read) {
  nlohmann::ordered_json j = fit_report_head(o, p, {data.file().stored_type(), data_dtype(data)}, 0, r.n, r.d,
                                             r.backend, r.device);
  j["best_init"] = r.best_init;
  j["tol_absolute"] = r.tol_absolute;
  add_fit_outcome(j, r, &seconds_read);
  return j;
}

/// Rank 0 (or the one process): the output files, renamed into place together.
void write_outputs(const FitOptions& o, const KMeansParams& p, const io::DataMatrix& data, const KMeansResult& r,
                   double seconds_read, io::OutputFile* labels_file, io::OutputFile* centroids_file,
                   io::OutputFile* report_file, StagedOutputs& outputs, std::string& report) {
  if (labels_file) io::write_npy(*labels_file, io::ElementType::I32, {r.n}, r.labels.data());
  if (centroids_file) write_centroids(*centroids_file, data.view().dtype, {r.k, r.d}, r.centroids);
  report = o.report.empty() ? "" : make_report(o, p, data, r, seconds_read).dump(2) + "\n";
  if (report_file) write_text(report_file, o.report, report);
  // stdout before the renames: if it fails (a closed pipe, a full disk), no output file appears.
  if (o.report == "-") write_text(nullptr, "-", report);
  outputs.commit_all();
}

}  // namespace

void run_fit(const FitOptions& o) {
  KMeansParams p = fit_params(o);
  const Transport transport = parse_transport(o.transport);
  if (transport == Transport::Nccl && !cluster().distributed)
    throw Error(ErrorCode::InvalidArgument, "--transport nccl is for fits over several processes (start fkm with mpirun or srun)");
  if (is_batch_file(o)) return run_fit_batch(o);

  const bool writer = cluster().rank == 0;  // the one process that writes outputs
  StagedOutputs outputs;  // created first: an unwritable path fails before any work
  // Ctrl-C / SIGTERM: finish the current iteration, write nothing. Single process only: ranks
  // of a distributed fit would stop at different iterations and leave the others in a collective,
  // so there the first signal exits at once (removing temporary files), as mpirun forwards it to all.
  if (!cluster().distributed) stop_at_iteration_boundaries();
  io::OutputFile* labels_file = nullptr;
  io::OutputFile* centroids_file = nullptr;
  io::OutputFile* report_file = nullptr;
  on_all_or_none([&] {
    if (!writer) return;
    labels_file = outputs.add(o.labels_out, "--labels-out");
    centroids_file = outputs.add(o.centroids_out, "--centroids-out");
    report_file = outputs.add(o.report, "--report");
    outputs.refuse_overwriting(o.data, "the input DATA");
    outputs.refuse_overwriting(o.weights, "the --weights file");
    if (init_is_file(o.init)) outputs.refuse_overwriting(o.init, "the --init file");
  });

  const auto t_read = std::chrono::steady_clock::now();
  std::optional<io::DataMatrix> mapped;  // memory-mapped: a process touches only its rows' pages
  std::vector<double> weights;
  std::vector<double> init_centroids;
  on_all_or_none([&] {
    mapped.emplace(load_data(o));
    const MatrixView x = mapped->view();
    if (o.k > x.rows)
      throw Error(ErrorCode::InvalidArgument, "--k " + std::to_string(o.k) + " is larger than the number of rows of " +
                                                  o.data + " (" + std::to_string(x.rows) + ")");
    if (!o.weights.empty()) weights = load_weights(o.weights, o.data, x.rows, o.k);
    if (init_is_file(o.init)) {
      init_centroids = load_centroids(o.init, "--init", o.k, x.cols, nullptr);
      p.init = Init::Given;
      p.initial_centroids = host_view(init_centroids.data(), o.k, x.cols);
    }
  });
  const io::DataMatrix& data = *mapped;
  const MatrixView x = data.view();
  const double seconds_read = seconds_since(t_read);
  throw_if_interrupted("while reading the input");

  const std::string header = "fkm: fit " + o.data + ": " + std::to_string(x.rows) + " x " + std::to_string(x.cols) + " " +
                             data_dtype(data) + ", k = " + std::to_string(o.k);
  Progress progress(!o.quiet && writer, p.max_iter, p.init == Init::Given ? 1 : p.n_init, header);
  int iterations_done = 0, runs_started = 0;
  p.on_iteration = [&](int run, int iter, const IterationRecord& rec) {
    iterations_done = iter + 1;
    runs_started = run + 1;
    progress.on_iteration(run, iter, rec);
    return interrupt_signal() == 0;  // false stops the fit with Error(Interrupted)
  };

  KMeansResult r;
  try {
    if (cluster().distributed) r = fit_rows_of_this_process(x, p, weights, transport);
    else r = KMeans(p).fit(x, weights.empty() ? VectorView{} : host_vector(weights.data(), x.rows));
  } catch (const Error& e) {
    if (e.code() == ErrorCode::Interrupted) {
      progress.finish();
      throw_if_interrupted("after iteration " + std::to_string(iterations_done) +
                           (runs_started > 1 ? " of run " + std::to_string(runs_started) : std::string()));
    }
    rethrow_naming_data(e, o.data);
  }
  progress.finish();
  throw_if_interrupted("after the fit (" + std::to_string(r.n_iter) + " iterations)");

  std::string report;
  on_all_or_none([&] {
    if (!writer) return;
    write_outputs(o, p, data, r, seconds_read, labels_file, centroids_file, report_file, outputs, report);
  });
  if (!writer) return;
  if (!o.quiet)
    std::fprintf(stderr, "fkm: done: %d iterations (%s), inertia %.6e, %s on %s, %.3f s\n", r.n_iter,
                 to_string(r.stop_reason), r.inertia, r.backend.c_str(), r.device.c_str(), r.seconds_total);
}

}  // namespace fkm::cli
