// `fkm predict`: label each row of DATA with its nearest centroid from a centroid file,
// through KMeans::set_centroids + KMeans::predict.
#include <chrono>
#include <cstdio>

#include "common.hpp"
#include "outputs.hpp"

namespace fkm::cli {

void run_predict(const PredictOptions& o) {
  check_threads(o.threads);
  const auto t0 = std::chrono::steady_clock::now();
  KMeansParams p;
  p.metric = parse_metric(o.metric);
  p.precision = parse_precision(o.precision);
  p.backend = parse_backend(o.backend);
  p.num_threads = o.threads;

  StagedOutputs outputs;
  io::OutputFile* labels_file = outputs.add(o.labels_out, "--labels-out");
  io::OutputFile* report_file = outputs.add(o.report, "--report");
  outputs.refuse_overwriting(o.data, "the input DATA");
  outputs.refuse_overwriting(o.centroids, "the --centroids file");

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
  const std::string backend = to_string(select_backend(p.backend).kind());

  if (labels_file) io::write_npy(*labels_file, io::ElementType::I32, {x.rows}, labels.data());
  std::string report;
  if (!o.report.empty()) {
    nlohmann::ordered_json j;
    j["command"] = "predict";
    j["fkm_version"] = version();
    j["data"] = o.data;
    j["centroids"] = o.centroids;
    j["stored_dtype"] = data.file().stored_type();
    j["n"] = x.rows;
    j["d"] = x.cols;
    j["k"] = k;
    j["dtype"] = data_dtype(data);
    j["metric"] = to_string(p.metric);
    j["precision"] = to_string(p.precision);
    j["backend"] = backend;
    j["threads"] = host_threads(p, backend);
    j["inertia"] = inertia;
    j["seconds_total"] = seconds;
    report = j.dump(2) + "\n";
    if (report_file) write_text(report_file, o.report, report);
  }
  // stdout before the renames: if it fails (a closed pipe, a full disk), no output file appears.
  if (o.report == "-") write_text(nullptr, "-", report);
  outputs.commit_all();
  if (!o.quiet)
    std::fprintf(stderr, "fkm: predict %s: %lld labels from %lld centroids, %s, %.3f s\n", o.data.c_str(),
                 (long long)x.rows, (long long)k, backend.c_str(), seconds);
}

}  // namespace fkm::cli
