// `fkm predict`: label each row of DATA with its nearest centroid from a centroid file,
// through KMeans::set_centroids + KMeans::predict. A 3-D DATA (a batch of problems) goes
// through BatchedKMeans: problem b against its own (K, D) centroids from a (B, K, D) file, or
// every problem against one (K, D) file; the labels are (B, N).
#include <chrono>
#include <cstdio>
#include <numeric>

#include "common.hpp"
#include "outputs.hpp"

namespace fkm::cli {
namespace {

KMeansParams predict_params(const PredictOptions& o) {
  if (o.threads < 0) throw Error(ErrorCode::InvalidArgument, "--threads must be >= 0 (got " + std::to_string(o.threads) + ")");
  KMeansParams p;
  p.metric = parse_metric(o.metric);
  p.precision = parse_precision(o.precision);
  p.backend = parse_backend(o.backend);
  p.num_threads = o.threads;
  return p;
}

/// The report (docs/cli.md); a batch (problems > 0) adds "problems" and each problem's inertia,
/// and "inertia" is their sum.
std::string predict_report(const PredictOptions& o, const KMeansParams& p, const io::ArrayFile& file, DType dtype,
                           std::int64_t problems, std::int64_t n, std::int64_t d, std::int64_t k,
                           const std::vector<double>& inertias, double seconds) {
  const std::string backend = to_string(select_backend(p.backend).kind());
  nlohmann::ordered_json j;
  j["command"] = "predict";
  j["fkm_version"] = version();
  j["data"] = o.data;
  j["centroids"] = o.centroids;
  j["stored_dtype"] = file.stored_type();
  if (problems > 0) j["problems"] = problems;
  j["n"] = n;
  j["d"] = d;
  j["k"] = k;
  j["dtype"] = to_string(dtype);
  j["metric"] = to_string(p.metric);
  j["precision"] = to_string(p.precision);
  j["backend"] = backend;
  j["threads"] = host_threads(p, backend);
  j["inertia"] = std::accumulate(inertias.begin(), inertias.end(), 0.0);
  j["seconds_total"] = seconds;
  if (problems > 0) {
    nlohmann::ordered_json per_problem = nlohmann::ordered_json::array();
    for (std::size_t b = 0; b < inertias.size(); ++b) per_problem.push_back({{"problem", b}, {"inertia", inertias[b]}});
    j["per_problem"] = std::move(per_problem);
  }
  return j.dump(2) + "\n";
}

/// Writes the labels and the report, renames them into place, then prints what stdout and
/// stderr should say.
void finish(const PredictOptions& o, const KMeansParams& p, StagedOutputs& outputs, io::OutputFile* labels_file,
            io::OutputFile* report_file, const std::vector<std::int64_t>& label_shape,
            const std::vector<std::int32_t>& labels, const std::string& report, std::int64_t k, double seconds) {
  if (labels_file) io::write_npy(*labels_file, io::ElementType::I32, label_shape, labels.data());
  if (report_file) write_text(report_file, o.report, report);
  outputs.commit_all();
  if (o.report == "-") write_text(nullptr, "-", report);
  if (!o.quiet)
    std::fprintf(stderr, "fkm: predict %s: %lld labels from %lld centroids, %s, %.3f s\n", o.data.c_str(),
                 (long long)labels.size(), (long long)k, to_string(select_backend(p.backend).kind()), seconds);
}

}  // namespace

void run_predict(const PredictOptions& o) {
  const KMeansParams p = predict_params(o);
  if (is_batch_file(o)) return run_predict_batch(o);
  const auto t0 = std::chrono::steady_clock::now();
  StagedOutputs outputs;
  io::OutputFile* labels_file = outputs.add(o.labels_out, "--labels-out");
  io::OutputFile* report_file = outputs.add(o.report, "--report");

  const io::DataMatrix data = load_data(o);
  const MatrixView x = data.view();
  std::int64_t k = 0;
  std::vector<double> centroids = load_centroids(o.centroids, "--centroids", 0, x.cols, &k);

  KMeans km(p);
  km.set_centroids(std::move(centroids), k, x.cols);
  std::vector<std::int32_t> labels;
  double inertia = 0;
  try {
    labels = km.predict(x);
    if (!o.report.empty()) inertia = -km.score(x);
  } catch (const Error& e) {
    rethrow_naming_data(e, o.data);
  }
  const double seconds = seconds_since(t0);
  const std::string report =
      o.report.empty() ? "" : predict_report(o, p, data.file(), x.dtype, 0, x.rows, x.cols, k, {inertia}, seconds);
  finish(o, p, outputs, labels_file, report_file, {x.rows}, labels, report, k, seconds);
}

void run_predict_batch(const PredictOptions& o) {
  const KMeansParams p = predict_params(o);
  const auto t0 = std::chrono::steady_clock::now();
  StagedOutputs outputs;
  io::OutputFile* labels_file = outputs.add(o.labels_out, "--labels-out");
  io::OutputFile* report_file = outputs.add(o.report, "--report");

  const io::DataBatch data = load_batch_data(o);
  const BatchedMatrixView x = data.view();
  BatchCentroids c = load_batch_centroids(o.centroids, "--centroids", x.problems, 0, x.cols);
  std::vector<double> all = std::move(c.values);
  if (c.shared) {  // one K x D model for every problem
    const std::vector<double> one = std::move(all);
    all.clear();
    for (std::int64_t b = 0; b < x.problems; ++b) all.insert(all.end(), one.begin(), one.end());
  }

  BatchedKMeans km(p);
  km.set_centroids(all, x.problems, c.k, x.cols);
  std::vector<std::int32_t> labels;
  std::vector<double> inertias;
  try {
    labels = km.predict(x);
    if (!o.report.empty())
      for (double score : km.score(x)) inertias.push_back(-score);
  } catch (const Error& e) {
    rethrow_naming_data(e, o.data);
  }
  const double seconds = seconds_since(t0);
  const std::string report = o.report.empty() ? ""
                                              : predict_report(o, p, data.file(), x.dtype, x.problems, x.rows, x.cols,
                                                               c.k, inertias, seconds);
  finish(o, p, outputs, labels_file, report_file, {x.problems, x.rows}, labels, report, c.k, seconds);
}

}  // namespace fkm::cli
