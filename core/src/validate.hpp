// Every input check of a fit or predict, in one place. Each throws fkm::Error naming the problem.
#pragma once
#include <cstdint>

#include "fkm/backend.hpp"
#include "fkm/params.hpp"
#include "fkm/view.hpp"

namespace fkm::detail {

/// Options alone: k >= 1, n_init >= 1, max_iter >= 1, tol finite >= 0, enum values known, ...
void validate_params(const KMeansParams& p);
/// Shape, dtype and memory space of data and weights; k <= rows.
void validate_data(const MatrixView& x, const VectorView& w, std::int64_t k, const char* what = "data");
/// Given initial centroids: a host view of exactly k x d finite values.
void validate_given_centroids(const KMeansParams& p, std::int64_t d);
/// Values, checked by the backend that holds them: NaN/Inf data, bad weights, total weight > 0,
/// at least k points of positive weight.
void validate_values(const Problem& problem, std::int64_t k, const char* what = "data");
/// An assignment's inertia (or an initialisation's potential): finite data can still give
/// infinite (or NaN) distances when its values are near the top of the float64 range; labels
/// or samples drawn from such distances are meaningless.
void check_inertia(double inertia, const char* what = "data");

}  // namespace fkm::detail
