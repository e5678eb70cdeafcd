// `fkm fit` on a 3-D DATA (problems, rows, columns): B independent problems through
// fkm::fit_batched, each fitted exactly as its own 2-D file would be (same options, same seed).
// Writes labels (B, N), centroids (B, K, D) and a report with one entry per problem and the
// totals. --weights may be (B, N) or one (N,) row for every problem; --init may be (B, K, D) or
// one (K, D) matrix for every problem. One process: an MPI launch is refused.
#include <chrono>
#include <cstdio>

#include "cluster.hpp"
#include "common.hpp"
#include "fit_setup.hpp"
#include "outputs.hpp"
#include "progress.hpp"

namespace fkm::cli {
namespace {

/// What the batch's problems add up to.
struct Totals {
  std::int64_t iterations = 0, converged = 0;
  double inertia = 0, iteration_seconds = 0;
};

Totals totals_of(const std::vector<KMeansResult>& results) {
  Totals t;
  for (const KMeansResult& r : results) {
    t.iterations += r.n_iter;
    t.converged += r.converged;
    t.inertia += r.inertia;
    for (const IterationRecord& h : r.history) t.iteration_seconds += h.seconds;
  }
  return t;
}

nlohmann::ordered_json batch_report(const FitOptions& o, const KMeansParams& p, const io::DataBatch& data,
                                    const std::vector<KMeansResult>& results, double seconds_read, double seconds_total) {
  const KMeansResult& first = results.front();
  nlohmann::ordered_json j = fit_report_head(o, p, {data.file().stored_type(), to_string(data.view().dtype)},
                                             std::int64_t(results.size()), first.n, first.d, first.backend, first.device);
  j.erase("best_init");  // per problem
  j.erase("tol_absolute");
  nlohmann::ordered_json per_problem = nlohmann::ordered_json::array();
  for (std::size_t b = 0; b < results.size(); ++b) {
    const KMeansResult& r = results[b];
    nlohmann::ordered_json entry;
    entry["problem"] = b;
    entry["best_init"] = r.best_init;
    entry["tol_absolute"] = r.tol_absolute;
    add_fit_outcome(entry, r, nullptr);
    per_problem.push_back(std::move(entry));
  }
  const Totals t = totals_of(results);
  j["iterations"] = t.iterations;
  j["converged"] = t.converged == std::int64_t(results.size());
  j["problems_converged"] = t.converged;
  j["inertia"] = t.inertia;
  j["seconds_read"] = seconds_read;
  j["seconds_total"] = seconds_total;
  j["ms_per_iter"] = t.iterations > 0 ? 1e3 * t.iteration_seconds / double(t.iterations) : 0.0;
  j["per_problem"] = std::move(per_problem);
  return j;
}

/// The per-problem arrays of `results`, one after another: (B, N) labels, (B, K, D) centroids.
template <class T>
std::vector<T> concatenated(const std::vector<KMeansResult>& results, const std::vector<T> KMeansResult::*member) {
  std::vector<T> all;
  for (const KMeansResult& r : results) all.insert(all.end(), (r.*member).begin(), (r.*member).end());
  return all;
}

}  // namespace

void run_fit_batch(const FitOptions& o) {
  KMeansParams p = fit_params(o);
  if (cluster().distributed)
    throw Error(ErrorCode::Unsupported, o.data + ": a 3-D array is a batch of problems, which fkm fits in one process; "
                                                 "run fkm fit without an MPI launcher");
  StagedOutputs outputs;  // created first: an unwritable path fails before any work
  stop_at_iteration_boundaries();
  io::OutputFile* labels_file = outputs.add(o.labels_out, "--labels-out");
  io::OutputFile* centroids_file = outputs.add(o.centroids_out, "--centroids-out");
  io::OutputFile* report_file = outputs.add(o.report, "--report");
  outputs.refuse_overwriting(o.data, "the input DATA");
  outputs.refuse_overwriting(o.weights, "the --weights file");
  if (init_is_file(o.init)) outputs.refuse_overwriting(o.init, "the --init file");

  const auto t_read = std::chrono::steady_clock::now();
  const io::DataBatch data = load_batch_data(o);
  const BatchedMatrixView x = data.view();
  if (o.k > x.rows)
    throw Error(ErrorCode::InvalidArgument, "--k " + std::to_string(o.k) + " is larger than the number of rows per problem of " +
                                                o.data + " (" + std::to_string(x.rows) + ")");
  BatchedFitOptions options;
  BatchWeights weights;
  if (!o.weights.empty()) weights = load_batch_weights(o.weights, o.data, x.problems, x.rows, o.k);
  options.weights = weights.view(x.problems, x.rows);
  BatchCentroids init;
  if (init_is_file(o.init)) {
    init = load_batch_centroids(o.init, "--init", x.problems, o.k, x.cols);
    p.init = Init::Given;
    if (init.shared) p.initial_centroids = host_view(init.values.data(), o.k, x.cols);
    else options.initial_centroids = host_batched_view(init.values.data(), x.problems, o.k, x.cols);
  }
  const double seconds_read = seconds_since(t_read);
  throw_if_interrupted("while reading the input");

  const std::string header = "fkm: fit " + o.data + ": " + std::to_string(x.problems) + " problems of " +
                             std::to_string(x.rows) + " x " + std::to_string(x.cols) + " " + to_string(x.dtype) +
                             ", k = " + std::to_string(o.k);
  const int runs = p.init == Init::Given ? 1 : p.n_init;
  Progress progress(!o.quiet, p.max_iter, runs, header, x.problems);
  std::int64_t problem_now = 0;
  int iterations_done = 0, runs_started = 0;
  options.on_iteration = [&](std::int64_t problem, int run, int iter, const IterationRecord& rec) {
    problem_now = problem;
    iterations_done = iter + 1;
    runs_started = run + 1;
    progress.on_iteration(problem, run, iter, rec);
    return interrupt_signal() == 0;  // false stops the fit with Error(Interrupted)
  };

  const auto t_fit = std::chrono::steady_clock::now();
  std::vector<KMeansResult> results;
  try {
    results = fit_batched(x, p, options);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::Interrupted) {
      progress.finish();
      throw_if_interrupted("after iteration " + std::to_string(iterations_done) +
                           (runs > 1 ? " of run " + std::to_string(runs_started) : std::string()) + " of problem " +
                           std::to_string(problem_now));
    }
    rethrow_naming_data(e, o.data);
  }
  const double seconds_total = seconds_since(t_fit);
  progress.finish();
  throw_if_interrupted("after the fit");

  if (labels_file) {
    const auto labels = concatenated(results, &KMeansResult::labels);
    io::write_npy(*labels_file, io::ElementType::I32, {x.problems, x.rows}, labels.data());
  }
  if (centroids_file)
    write_centroids(*centroids_file, x.dtype, {x.problems, o.k, x.cols}, concatenated(results, &KMeansResult::centroids));
  const std::string report =
      o.report.empty() ? "" : batch_report(o, p, data, results, seconds_read, seconds_total).dump(2) + "\n";
  if (report_file) write_text(report_file, o.report, report);
  // stdout before the renames: if it fails (a closed pipe, a full disk), no output file appears.
  if (o.report == "-") write_text(nullptr, "-", report);
  outputs.commit_all();

  if (!o.quiet) {
    const Totals t = totals_of(results);
    std::fprintf(stderr, "fkm: done: %lld problems, %lld iterations in all (%lld converged), inertia %.6e in all, %s on %s, %.3f s\n",
                 (long long)x.problems, (long long)t.iterations, (long long)t.converged, t.inertia,
                 results.front().backend.c_str(), results.front().device.c_str(), seconds_total);
  }
}

}  // namespace fkm::cli
