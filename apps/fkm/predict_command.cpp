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
  check_threads(o.threads);
  KMeansParams p;
  p.metric = parse_metric(o.metric);
  p.precision = parse_precision(o.precision);
  p.backend = parse_backend(o.backend);
  p.num_threads = o.threads;
  set_device_memory(o, p);
  return p;
}

/// What a prediction produced, and what the report says about its inputs.
struct Prediction {
  std::vector<std::int32_t> labels;
  std::vector<std::int64_t> label_shape;  ///< (N) or (B, N)
  std::vector<double> inertias;           ///< one per problem; empty without --report
  std::string stored_dtype;
  DType dtype = DType::F32;
  std::int64_t problems = 0;  ///< 0 for a 2-D DATA
  std::int64_t n = 0, d = 0, k = 0;
};

/// The report (docs/cli.md); a batch adds "problems" and each problem's inertia, and "inertia"
/// is their sum.
std::string predict_report(const PredictOptions& o, const KMeansParams& p, const Prediction& r, double seconds) {
  const std::string backend = to_string(select_backend(p.backend).kind());
  nlohmann::ordered_json j;
  j["command"] = "predict";
  j["fkm_version"] = version();
  j["data"] = o.data;
  j["centroids"] = o.centroids;
  j["stored_dtype"] = r.stored_dtype;
  if (r.problems > 0) j["problems"] = r.problems;
  j["n"] = r.n;
  j["d"] = r.d;
  j["k"] = r.k;
  j["dtype"] = to_string(r.dtype);
  j["metric"] = to_string(p.metric);
  j["precision"] = to_string(p.precision);
  j["backend"] = backend;
  j["threads"] = host_threads(p, backend);
  j["inertia"] = std::accumulate(r.inertias.begin(), r.inertias.end(), 0.0);
  j["seconds_total"] = seconds;
  if (r.problems > 0) {
    nlohmann::ordered_json per_problem = nlohmann::ordered_json::array();
    for (std::size_t b = 0; b < r.inertias.size(); ++b) per_problem.push_back({{"problem", b}, {"inertia", r.inertias[b]}});
    j["per_problem"] = std::move(per_problem);
  }
  return j.dump(2) + "\n";
}

/// A 2-D DATA against one K x D centroid file.
Prediction predict_matrix(const PredictOptions& o, const KMeansParams& p) {
  const io::DataMatrix data = load_data(o);
  const MatrixView x = data.view();
  Prediction r{{}, {x.rows}, {}, data.file().stored_type(), x.dtype, 0, x.rows, x.cols, 0};
  std::vector<double> centroids = load_centroids(o.centroids, "--centroids", 0, x.cols, &r.k);
  KMeans km(p);
  km.set_centroids(std::move(centroids), r.k, x.cols);
  try {
    r.labels = km.predict(x);
    if (!o.report.empty()) r.inertias = {-km.score(x)};
  } catch (const Error& e) {
    rethrow_naming_data(e, o.data);
  }
  return r;
}

/// A 3-D DATA: problem b against its own centroids of a (B, K, D) file, or all against one (K, D).
Prediction predict_batch(const PredictOptions& o, const KMeansParams& p) {
  const io::DataBatch data = load_batch_data(o);
  const BatchedMatrixView x = data.view();
  BatchCentroids c = load_batch_centroids(o.centroids, "--centroids", x.problems, 0, x.cols);
  Prediction r{{}, {x.problems, x.rows}, {}, data.file().stored_type(), x.dtype, x.problems, x.rows, x.cols, c.k};
  std::vector<double> all = std::move(c.values);
  if (c.shared) {  // one K x D model for every problem
    const std::vector<double> one = std::move(all);
    all.clear();
    for (std::int64_t b = 0; b < x.problems; ++b) all.insert(all.end(), one.begin(), one.end());
  }
  BatchedKMeans km(p);
  km.set_centroids(all, x.problems, c.k, x.cols);
  try {
    r.labels = km.predict(x);
    if (!o.report.empty())
      for (double score : km.score(x)) r.inertias.push_back(-score);
  } catch (const Error& e) {
    rethrow_naming_data(e, o.data);
  }
  return r;
}

}  // namespace

void run_predict(const PredictOptions& o) {
  const KMeansParams p = predict_params(o);
  const auto t0 = std::chrono::steady_clock::now();
  StagedOutputs outputs;
  io::OutputFile* labels_file = outputs.add(o.labels_out, "--labels-out");
  io::OutputFile* report_file = outputs.add(o.report, "--report");
  outputs.refuse_overwriting(o.data, "the input DATA");
  outputs.refuse_overwriting(o.centroids, "the --centroids file");

  const Prediction r = is_batch_file(o) ? predict_batch(o, p) : predict_matrix(o, p);
  const double seconds = seconds_since(t0);

  if (labels_file) io::write_npy(*labels_file, io::ElementType::I32, r.label_shape, r.labels.data());
  const std::string report = o.report.empty() ? "" : predict_report(o, p, r, seconds);
  if (report_file) write_text(report_file, o.report, report);
  // stdout before the renames: if it fails (a closed pipe, a full disk), no output file appears.
  if (o.report == "-") write_text(nullptr, "-", report);
  outputs.commit_all();
  if (!o.quiet)
    std::fprintf(stderr, "fkm: predict %s: %lld labels from %lld centroids, %s, %.3f s\n", o.data.c_str(),
                 (long long)r.labels.size(), (long long)r.k, to_string(select_backend(p.backend).kind()), seconds);
}

}  // namespace fkm::cli
