// Defaults of the optional Problem operations: a backend that does not implement exact
// accumulation says so, naming what needs it, instead of failing to compile.
#include "fkm/backend.hpp"
#include "fkm/error.hpp"

namespace fkm {

std::vector<std::int64_t> Problem::update_from(const double*, const double*) {
  throw Error(ErrorCode::Unsupported, "backend on " + device_name() +
                                          " cannot update centroids from given sums (needed by distributed fits)");
}

void Problem::accumulate_fixed(const FixedPointFormat&, FixedSum*, FixedSum*) const {
  throw Error(ErrorCode::Unsupported,
              "backend on " + device_name() + " has no exact fixed-point accumulation (needed by distributed fits)");
}

DeviceWords Problem::accumulate_fixed_words(const FixedPointFormat&) { return {}; }

std::vector<std::int64_t> Problem::update_from_fixed_words(const FixedPointFormat&) {
  throw Error(ErrorCode::Unsupported,
              "backend on " + device_name() + " keeps no fixed-point totals in device memory (a device all-reduce needs them)");
}

bool Problem::exact_weighted_distance_sum(std::int64_t*) const { return false; }

}  // namespace fkm
