#include "fit_setup.hpp"

#include <algorithm>
#include <cmath>

#include "cluster.hpp"
#include "common.hpp"

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

/// Every weight finite and >= 0; `rows` weights per problem (problem named when `problems` > 1).
void check_weight_values(const std::string& path, const std::vector<double>& w, std::int64_t rows, bool name_problem) {
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (w[i] >= 0 && std::isfinite(w[i])) continue;
    const std::string where = name_problem ? "weight of problem " + std::to_string(std::int64_t(i) / rows) + " at row " +
                                                 std::to_string(std::int64_t(i) % rows)
                                           : "weight at row " + std::to_string(i);
    throw Error(ErrorCode::InvalidData, "--weights: " + path + ": " + where + " is " + std::to_string(w[i]) +
                                            "; weights must be finite and >= 0");
  }
}

/// At least k positive weights (in each problem when name_problem): checked here too (the library
/// checks it as well) so that the message names this file.
void check_positive_weights(const std::string& path, const std::vector<double>& w, std::int64_t rows, std::int64_t k,
                            bool name_problem) {
  for (std::int64_t b = 0; b * rows < std::int64_t(w.size()); ++b) {
    const auto first = w.begin() + b * rows;
    const auto positive = std::int64_t(std::count_if(first, first + rows, [](double v) { return v > 0; }));
    if (positive < k)
      throw Error(ErrorCode::InvalidData, "--weights: " + path + ": " + (name_problem ? "problem " + std::to_string(b) + ": " : "") +
                                              std::to_string(positive) + " weights are > 0, but --k " + std::to_string(k) +
                                              " clusters need at least as many points of positive weight");
  }
}

std::vector<double> load_1d_weights(const std::string& path) {
  try {
    return io::load_vector(path);
  } catch (const Error& e) {
    throw Error(e.code(), std::string("--weights: ") + e.what());
  }
}

}  // namespace

KMeansParams fit_params(const FitOptions& o) {
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
  p.pruning = parse_pruning(o.pruning);
  p.num_threads = o.threads;
  set_device_memory(o, p);
  if (is_init_method(o.init)) p.init = parse_init(o.init);
  return p;
}

bool init_is_file(const std::string& init) {
  if (is_init_method(init)) return false;
  try {
    io::format_of(init);
  } catch (const Error&) {
    throw Error(ErrorCode::InvalidArgument, "--init '" + init + "' is neither a method (kmeans++, random, "
                                                "kmeans-parallel) nor a .npy / .fvecs file of initial centroids");
  }
  return true;
}

std::vector<double> load_weights(const std::string& path, const std::string& data_path, std::int64_t rows,
                                 std::int64_t k) {
  std::vector<double> w = load_1d_weights(path);
  if (std::int64_t(w.size()) != rows)
    throw Error(ErrorCode::InvalidData, "--weights: " + path + ": has " + std::to_string(w.size()) + " weights but " +
                                            data_path + " has " + std::to_string(rows) + " rows");
  check_weight_values(path, w, rows, false);
  check_positive_weights(path, w, rows, k, false);
  return w;
}

BatchedVectorView BatchWeights::view(std::int64_t problems, std::int64_t rows) const {
  if (values.empty()) return {};
  return host_batched_vector(values.data(), problems, rows, shared ? 0 : rows);
}

BatchWeights load_batch_weights(const std::string& path, const std::string& data_path, std::int64_t problems,
                                std::int64_t rows, std::int64_t k) {
  const io::ArrayFile f = [&] {
    try {
      return io::ArrayFile::open(path);
    } catch (const Error& e) {
      throw Error(e.code(), std::string("--weights: ") + e.what());
    }
  }();
  const std::string expected = "(problems, rows) = (" + std::to_string(problems) + ", " + std::to_string(rows) +
                               ") for one row of weights per problem, or (" + std::to_string(rows) +
                               ",) for the same weights in every problem";
  BatchWeights w;
  if (f.shape().size() == 1) {
    w.values = load_1d_weights(path);
    w.shared = true;
    if (std::int64_t(w.values.size()) != rows)
      throw Error(ErrorCode::InvalidData, "--weights: " + path + ": has " + std::to_string(w.values.size()) +
                                              " weights but each problem of " + data_path + " has " + std::to_string(rows) +
                                              " rows");
    check_weight_values(path, w.values, rows, false);
    check_positive_weights(path, w.values, rows, k, false);
    return w;
  }
  if (f.shape() != std::vector<std::int64_t>{problems, rows})
    throw Error(ErrorCode::InvalidData,
                "--weights: " + path + ": shape is " + shape_string(f.shape()) + " but " + data_path + " needs " + expected);
  w.values.resize(std::size_t(problems * rows));
  // every element type the reader reads converts exactly (as for 1-D weights: load_vector)
  try {
    f.read_rows(0, problems, io::ElementType::F64, w.values.data());
  } catch (const Error& e) {
    throw Error(e.code(), std::string("--weights: ") + e.what());
  }
  check_weight_values(path, w.values, rows, true);
  check_positive_weights(path, w.values, rows, k, true);
  return w;
}

nlohmann::ordered_json fit_report_head(const FitOptions& o, const KMeansParams& p, const DataInfo& data,
                                       std::int64_t problems, std::int64_t n, std::int64_t d,
                                       const std::string& backend, const std::string& device) {
  nlohmann::ordered_json j;
  j["command"] = "fit";
  j["fkm_version"] = version();
  j["data"] = o.data;
  j["stored_dtype"] = data.stored_dtype;
  if (problems > 0) j["problems"] = problems;
  j["n"] = n;
  j["processes"] = cluster().size;
  j["d"] = d;
  j["k"] = p.k;
  j["dtype"] = data.dtype;
  j["metric"] = to_string(p.metric);
  j["precision"] = to_string(p.precision);
  j["pruning"] = to_string(p.pruning);
  j["backend"] = backend;
  j["device"] = device;
  j["max_device_bytes"] = p.max_device_bytes > 0 ? nlohmann::ordered_json(p.max_device_bytes) : nlohmann::ordered_json("auto");
  j["threads"] = host_threads(p, backend);
  j["init"] = is_init_method(o.init) ? o.init : "file";
  j["init_file"] = is_init_method(o.init) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(o.init);
  j["n_init"] = p.init == Init::Given ? 1 : p.n_init;
  j["best_init"] = nullptr;
  j["seed"] = p.seed;
  j["max_iter"] = p.max_iter;
  j["tol"] = p.tol;
  j["tol_absolute"] = nullptr;
  j["empty_clusters"] = to_string(p.empty_clusters);
  j["weights"] = o.weights.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(o.weights);
  return j;
}

nlohmann::ordered_json placement_json(const DataPlacement& p) {
  nlohmann::ordered_json j;
  j["streamed"] = p.streamed;
  j["device_budget_bytes"] = p.device_budget_bytes;
  j["device_bytes_needed"] = p.device_bytes_needed;
  if (!p.streamed) return j;
  j["chunk_rows"] = p.chunk_rows;
  j["chunks"] = p.chunks;
  j["buffers"] = p.buffers;
  j["chunk_choice"] = p.chunk_choice;
  j["transfer"] = p.transfer;
  j["h2d_bytes_per_second"] = p.h2d_bytes_per_second;
  j["assign_rows_per_second"] = p.assign_rows_per_second;
  return j;
}

void add_fit_outcome(nlohmann::ordered_json& j, const KMeansResult& r, const double* seconds_read) {
  double iter_seconds = 0;
  nlohmann::ordered_json history = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < r.history.size(); ++i) {
    const IterationRecord& h = r.history[i];
    iter_seconds += h.seconds;
    history.push_back({{"iteration", i + 1}, {"inertia", h.inertia}, {"shift", h.shift}, {"n_empty", h.n_empty},
                       {"n_skipped", h.n_skipped}, {"ms", 1e3 * h.seconds}});
  }
  j["iterations"] = r.n_iter;
  j["converged"] = r.converged;
  j["stop_reason"] = to_string(r.stop_reason);
  j["inertia"] = r.inertia;
  if (seconds_read) j["seconds_read"] = *seconds_read;
  j["seconds_total"] = r.seconds_total;
  j["seconds_init"] = r.seconds_init;
  j["ms_per_iter"] = r.n_iter > 0 ? 1e3 * iter_seconds / r.n_iter : 0.0;
  if (!r.transport.empty()) j["transport"] = r.transport;
  j["placement"] = placement_json(r.placement);
  j["history"] = std::move(history);
}

void write_centroids(io::OutputFile& out, DType data_dtype, const std::vector<std::int64_t>& shape,
                     const std::vector<double>& values) {
  if (data_dtype == DType::F64) return io::write_npy(out, io::ElementType::F64, shape, values.data());
  const std::vector<float> narrowed(values.begin(), values.end());
  io::write_npy(out, io::ElementType::F32, shape, narrowed.data());
}

}  // namespace fkm::cli
