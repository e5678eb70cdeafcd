// Every input check of a fit or predict, in one place. Each throws fkm::Error naming the problem.
#pragma once
#include <cstdint>

#include "fkm/backend.hpp"
#include "fkm/batched.hpp"
#include "fkm/error.hpp"
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

/// A batch of data (and optional (B, N) weights): at least one problem, each shaped as
/// validate_data wants, k <= N, strides >= 0, and every element's byte offset within 63 bits.
void validate_batch_data(const BatchedMatrixView& x, const BatchedVectorView& w, std::int64_t k);
/// A batched fit's inputs: validate_batch_data, then the initial centroids (per-problem (B, K, D)
/// ones only with Init::Given and without params.initial_centroids), every value checked.
void validate_batch(const BatchedMatrixView& x, const BatchedFitOptions& options, const KMeansParams& p);
/// `e` about problem b: its message prefixed with "problem b: " (a leading "data: " is dropped:
/// the problem is the data).
Error in_problem(const Error& e, std::int64_t b);

}  // namespace fkm::detail
