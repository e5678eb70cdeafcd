// Per-cluster reductions over the segments of a ClusterOrder (cluster_order.hpp): the points of
// a cluster in increasing index order, one thread per (cluster, feature) walking its segment
// sequentially; one team per cluster, its threads over features.
//
// The same walk makes two kinds of sum, chosen by a Terms policy:
//   Fp64Terms   s += term in fp64 (accumulate()): walked in index order, with no atomics and no
//               tree reduction, these are the bits of the reference's index-order loop on every
//               execution space.
//   FixedTerms  each term rounded onto a fixed-point grid and added as a 128-bit integer in two
//               64-bit words (accumulate_fixed(), for distributed fits), with the very functions
//               of core/src/fixed_point.hpp that the reference and CPU backends use. Integer sums
//               are exact, so these totals do not depend on the order either.
// The price of the sequential walk: one thread walks a whole segment per feature, so a single
// huge cluster is reduced at the speed of one thread.
#pragma once
#include "../../core/src/fixed_point.hpp"
#include "cluster_order.hpp"

namespace fkm::kokkos {

struct Fp64Terms {
  using value_type = double;
  KOKKOS_INLINE_FUNCTION void add(double& sum, double term, Index /*column*/) const { sum += term; }
};

/// grid(column): the fixed-point grid of the column being summed (one per feature for the
/// sums, a single one for the weights).
struct FixedTerms {
  using value_type = FixedSum;
  Kokkos::View<const fkm::detail::FixedScale*, MemSpace> grid;
  KOKKOS_INLINE_FUNCTION void add(FixedSum& sum, double term, Index column) const {
    fkm::detail::add_term(sum, fkm::detail::fixed_term64(term, grid(column)));
  }
};

/// The walk of one segment: add(s, term(i)) for its points i in index order. The terms of
/// kAhead points are loaded before they are added (same terms, same order of additions: the
/// same bits), so a GPU thread has kAhead gathers in flight instead of one.
constexpr int kAhead = 8;
template <class Terms, class Term>
KOKKOS_INLINE_FUNCTION void walk_segment(const ClusterOrder& groups, Index p0, Index p1, const Terms& terms, Index column,
                                         const Term& term, typename Terms::value_type& s) {
  Index p = p0;
  for (; p + kAhead <= p1; p += kAhead) {
    double t[kAhead];
    for (int u = 0; u < kAhead; ++u) t[u] = term(groups.order(p + u));
    for (int u = 0; u < kAhead; ++u) terms.add(s, t[u], column);
  }
  for (; p < p1; ++p) terms.add(s, term(groups.order(p)), column);
}

/// weights(j) = sum of w over cluster j, in index order (one thread per cluster).
template <class Terms>
struct SegmentWeights {
  ClusterOrder groups;
  DeviceVector<double> w;
  Terms terms;
  DeviceVector<typename Terms::value_type> weights;
  KOKKOS_INLINE_FUNCTION void operator()(Index j) const {
    typename Terms::value_type s{};
    const auto weight = w;
    walk_segment(groups, groups.start(j), groups.start(j + 1), terms, 0, [&](Index i) { return weight(i); }, s);
    weights(j) = s;
  }
};

/// sums(j, f) = sum of w_i * x_if over cluster j in index order, x_if scaled by 1/||x_i|| for
/// cosine: the reference's arithmetic, term by term.
template <DType DT, class Terms>
struct SegmentSums {
  ClusterOrder groups;
  Rows<DT> x;
  DeviceVector<double> w, scale;
  bool cosine;
  Terms terms;
  DeviceMatrix<typename Terms::value_type> sums;
  KOKKOS_INLINE_FUNCTION void operator()(const TeamMember& team) const {
    const Index j = team.league_rank();
    const Index p0 = groups.start(j), p1 = groups.start(j + 1);
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, x.d), [&](const Index f) {
      typename Terms::value_type s{};
      walk_segment(groups, p0, p1, terms, f,
                   [&](Index i) { return w(i) * (cosine ? x.at64(i, f) * scale(i) : x.at64(i, f)); }, s);
      sums(j, f) = s;
    });
  }
};

}  // namespace fkm::kokkos
