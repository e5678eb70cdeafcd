// The fp64 reference backend: the oracle. Plain loops, obviously right, never optimised.
#pragma once
#include <memory>

#include "fkm/backend.hpp"

namespace fkm::detail {

/// A reference Problem over host data (any dtype), widened to fp64 once.
std::unique_ptr<Problem> make_reference_problem(const MatrixView& x, const VectorView& w, Metric metric);

}  // namespace fkm::detail
