// Helpers shared by the subcommands: turning option strings into library types, loading the
// inputs with messages that name the flag and the file, and the report's common keys.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "fkm/fkm.hpp"
#include "fkm/io.hpp"

namespace fkm::cli {

/// --threads: 0 (the OpenMP default) to fkm::kMaxThreads.
void check_threads(int threads);

/// --max-device-memory and --stream-chunk-rows into p (errors name the flag).
void set_device_memory(const DataOptions& o, KMeansParams& p);

/// Loads DATA (with --dtype) as a matrix to cluster.
io::DataMatrix load_data(const DataOptions& o);

/// True when DATA is a 3-D .npy array: a batch of independent problems (false when it cannot be
/// opened: the loader then reports why).
bool is_batch_file(const DataOptions& o);
/// Loads DATA (with --dtype) as a batch of problems.
io::DataBatch load_batch_data(const DataOptions& o);

/// Centroids for a batch of `problems` problems from `flag`'s file: a 3-D (problems, k, d)
/// array, one K x D matrix per problem, or a 2-D (k, d) one for every problem (`shared`). As
/// load_centroids, `k` = 0 takes K from the file.
struct BatchCentroids {
  std::vector<double> values;  ///< problems x k x d, or k x d when shared
  std::int64_t k = 0;
  bool shared = false;
};
BatchCentroids load_batch_centroids(const std::string& path, const char* flag, std::int64_t problems, std::int64_t k,
                                    std::int64_t d);

/// Loads a K x D centroid file for `flag` (--init, --centroids): floating point, `d` columns
/// (and `k` rows when k > 0), every value finite. Returns the values widened to fp64.
std::vector<double> load_centroids(const std::string& path, const char* flag, std::int64_t k, std::int64_t d,
                                   std::int64_t* rows_out);

/// Re-throws a library error from fitting or predicting DATA with DATA's name in front.
[[noreturn]] void rethrow_naming_data(const Error& e, const std::string& data_path);

/// The threads the chosen backend runs on, when it is a host backend (else null in the report).
nlohmann::ordered_json host_threads(const KMeansParams& p, const std::string& backend_name);

/// Seconds since t0.
double seconds_since(std::chrono::steady_clock::time_point t0);

/// "float32", or "bfloat16 (read as '<u2')": the data type as the report gives it.
std::string data_dtype(const io::DataMatrix& m);

/// "(2, 3, 4)": a shape as the messages write it.
std::string shape_string(const std::vector<std::int64_t>& shape);

}  // namespace fkm::cli
