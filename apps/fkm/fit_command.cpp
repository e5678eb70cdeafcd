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
#include "outputs.hpp"
#include "progress.hpp"

namespace fkm::cli {
namespace {

bool is_init_method(const std::string& s) { return s == "kmeans++" || s == "random" || s == "kmeans-parallel"; }

void check_options(const FitOptions& o) {
  auto bad = [](const std::string& msg) { throw Error(ErrorCode::InvalidArgument, msg); };
  if (o.k <= 0) bad("--k must be at least 1 (got " + std::to_string(o.k) + ")");
  if (o.n_init < 1) bad("--n-init must be at least 1 (got " + std::to_string(o.n_init) + ")");
  if (o.max_iter < 1) bad("--max-iter must be at least 1 (got " + std::to_string(o.max_iter) + ")");
  if (!(o.tol >= 0) || !std::isfinite(o.tol)) bad("--tol must be finite and >= 0 (got " + std::to_string(o.tol) + ")");
  check_threads(o.threads);
}

/// Weights from --weights: N finite values >= 0, at least k of them > 0.
std::vector<double> load_weights(const std::string& path, const std::string& data_path, std::int64_t n, std::int64_t k) {
  std::vector<double> w;
  try {
    w = io::load_vector(path);
  } catch (const Error& e) {
    throw Error(e.code(), std::string("--weights: ") + e.what());
  }
  if (std::int64_t(w.size()) != n)
    throw Error(ErrorCode::InvalidData, "--weights: " + path + ": has " + std::to_string(w.size()) + " weights but " +
                                            data_path + " has " + std::to_string(n) + " rows");
  for (std::size_t i = 0; i < w.size(); ++i)
    if (!(w[i] >= 0) || !std::isfinite(w[i]))
      throw Error(ErrorCode::InvalidData, "--weights: " + path + ": weight at row " + std::to_string(i) + " is " +
                                              std::to_string(w[i]) + "; weights must be finite and >= 0");
  // Checked here too (the library checks it as well) so that the message names this file.
  const auto positive = std::int64_t(std::count_if(w.begin(), w.end(), [](double v) { return v > 0; }));
  if (positive < k)
    throw Error(ErrorCode::InvalidData, "--weights: " + path + ": " + std::to_string(positive) +
                                            " weights are > 0, but --k " + std::to_string(k) +
                                            " clusters need at least as many points of positive weight");
  return w;
}

/// With several processes: this process clusters its own rows of x (an even split in rank
/// order); the returned result holds every process's labels on rank 0.
KMeansResult fit_rows_of_this_process(const MatrixView& x, const KMeansParams& p, const std::vector<double>& weights) {
  const int rank = cluster().rank;
  const std::int64_t begin = shard_begin(x.rows, rank), end = shard_begin(x.rows, rank + 1);
  MatrixView mine = x;
  mine.data = static_cast<const char*>(x.data) + begin * x.row_stride * std::int64_t(size_of(x.dtype));
  mine.rows = end - begin;
  KMeansResult r = fit_shard(mine, p, weights.empty() ? VectorView{} : host_vector(weights.data() + begin, end - begin));
  r.labels = gather_labels(r.labels, x.rows);
  r.n = x.rows;
  return r;
}

nlohmann::ordered_json make_report(const FitOptions& o, const KMeansParams& p, const io::DataMatrix& data,
                           const KMeansResult& r, double seconds_read) {
  double iter_seconds = 0;
  nlohmann::ordered_json history = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < r.history.size(); ++i) {
    const IterationRecord& h = r.history[i];
    iter_seconds += h.seconds;
    history.push_back({{"iteration", i + 1}, {"inertia", h.inertia}, {"shift", h.shift}, {"n_empty", h.n_empty},
                       {"ms", 1e3 * h.seconds}});
  }
  nlohmann::ordered_json j;
  j["command"] = "fit";
  j["fkm_version"] = version();
  j["data"] = o.data;
  j["stored_dtype"] = data.file().stored_type();
  j["n"] = r.n;
  j["processes"] = cluster().size;
  j["d"] = r.d;
  j["k"] = r.k;
  j["dtype"] = data_dtype(data);
  j["metric"] = to_string(p.metric);
  j["precision"] = to_string(p.precision);
  j["backend"] = r.backend;
  j["device"] = r.device;
  j["threads"] = host_threads(p, r.backend);
  j["init"] = is_init_method(o.init) ? o.init : "file";
  j["init_file"] = is_init_method(o.init) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(o.init);
  j["n_init"] = p.init == Init::Given ? 1 : p.n_init;
  j["best_init"] = r.best_init;
  j["seed"] = p.seed;
  j["max_iter"] = p.max_iter;
  j["tol"] = p.tol;
  j["tol_absolute"] = r.tol_absolute;
  j["empty_clusters"] = to_string(p.empty_clusters);
  j["weights"] = o.weights.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(o.weights);
  j["iterations"] = r.n_iter;
  j["converged"] = r.converged;
  j["stop_reason"] = to_string(r.stop_reason);
  j["inertia"] = r.inertia;
  j["seconds_read"] = seconds_read;
  j["seconds_total"] = r.seconds_total;
  j["seconds_init"] = r.seconds_init;
  j["ms_per_iter"] = r.n_iter > 0 ? 1e3 * iter_seconds / r.n_iter : 0.0;
  j["history"] = std::move(history);
  return j;
}

/// Rank 0 (or the one process): the output files, renamed into place together.
void write_outputs(const FitOptions& o, const KMeansParams& p, const io::DataMatrix& data, const KMeansResult& r,
                   double seconds_read, io::OutputFile* labels_file, io::OutputFile* centroids_file,
                   io::OutputFile* report_file, StagedOutputs& outputs, std::string& report) {
  const MatrixView x = data.view();
  if (labels_file) io::write_npy(*labels_file, io::ElementType::I32, {r.n}, r.labels.data());
  if (centroids_file) {
    if (x.dtype == DType::F64) {
      io::write_npy(*centroids_file, io::ElementType::F64, {r.k, r.d}, r.centroids.data());
    } else {
      const std::vector<float> c(r.centroids.begin(), r.centroids.end());
      io::write_npy(*centroids_file, io::ElementType::F32, {r.k, r.d}, c.data());
    }
  }
  report = o.report.empty() ? "" : make_report(o, p, data, r, seconds_read).dump(2) + "\n";
  if (report_file) write_text(report_file, o.report, report);
  // stdout before the renames: if it fails (a closed pipe, a full disk), no output file appears.
  if (o.report == "-") write_text(nullptr, "-", report);
  outputs.commit_all();
}

}  // namespace

void run_fit(const FitOptions& o) {
  check_options(o);
  KMeansParams p;
  p.k = o.k;
  p.n_init = o.n_init;
  p.max_iter = o.max_iter;
  p.tol = o.tol;
  p.seed = o.seed;
  p.metric = parse_metric(o.metric);
  p.precision = parse_precision(o.precision);
  p.backend = parse_backend(o.backend);
  p.empty_clusters = parse_empty_policy(o.empty_clusters);
  p.num_threads = o.threads;

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
    if (!is_init_method(o.init)) outputs.refuse_overwriting(o.init, "the --init file");
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
    if (is_init_method(o.init)) {
      p.init = parse_init(o.init);
    } else {
      const bool file_like = [&] {
        try {
          io::format_of(o.init);
          return true;
        } catch (const Error&) {
          return false;
        }
      }();
      if (!file_like)
        throw Error(ErrorCode::InvalidArgument, "--init '" + o.init + "' is neither a method (kmeans++, random, "
                                                    "kmeans-parallel) nor a .npy / .fvecs file of initial centroids");
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
    if (cluster().distributed) r = fit_rows_of_this_process(x, p, weights);
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
