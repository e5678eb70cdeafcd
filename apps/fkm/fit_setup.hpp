// What both forms of `fkm fit` (one 2-D problem, fit_command.cpp; a 3-D batch of problems,
// fit_batch_command.cpp) read the same way: the options as KMeansParams, the --init choice,
// --weights, the report's keys, and the centroid file's float type.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "fkm/fkm.hpp"
#include "fkm/io.hpp"

namespace fkm::cli {

/// The options checked and turned into KMeansParams; init is set when --init names a method.
KMeansParams fit_params(const FitOptions& o);

/// True when --init names a file of initial centroids, false for a method; throws naming --init
/// when it is neither.
bool init_is_file(const std::string& init);

/// --weights for `rows` points: `rows` finite values >= 0 (`data_path` names DATA in messages).
std::vector<double> load_weights(const std::string& path, const std::string& data_path, std::int64_t rows, std::int64_t k);

/// --weights for a batch of `problems` x `rows` points: a (problems, rows) array, one row of
/// weights per problem, or a 1-D (rows,) array for every problem (then `shared` is true).
struct BatchWeights {
  std::vector<double> values;
  bool shared = false;
  BatchedVectorView view(std::int64_t problems, std::int64_t rows) const;
};
BatchWeights load_batch_weights(const std::string& path, const std::string& data_path, std::int64_t problems,
                                std::int64_t rows, std::int64_t k);

/// What the report says about DATA.
struct DataInfo {
  std::string stored_dtype;  ///< in the file's words
  std::string dtype;         ///< as clustered
};

/// The report's keys from "command" to "weights" (docs/cli.md), in order, with "problems" after
/// "stored_dtype" for a batch (problems > 0). `best_init` and `tol_absolute`, which belong to one
/// fit, are null here: a single fit fills them, a batch erases them (each problem has its own).
nlohmann::ordered_json fit_report_head(const FitOptions& o, const KMeansParams& p, const DataInfo& data,
                                       std::int64_t problems, std::int64_t n, std::int64_t d,
                                       const std::string& backend, const std::string& device);
/// Where the backend kept the data (the report's "placement").
nlohmann::ordered_json placement_json(const DataPlacement& p);
/// One fit's outcome: iterations, converged, stop_reason, inertia, [seconds_read], seconds_total,
/// seconds_init, ms_per_iter, placement, history.
void add_fit_outcome(nlohmann::ordered_json& j, const KMeansResult& r, const double* seconds_read);

/// Centroid values of `shape` as .npy: float64 for float64 data, float32 for every other dtype.
void write_centroids(io::OutputFile& out, DType data_dtype, const std::vector<std::int64_t>& shape,
                     const std::vector<double>& values);

}  // namespace fkm::cli
