// FlashAssign on Kokkos: label_i = argmin_j score(x_i, c_j) with the N x K score matrix never
// stored. One team owns a tile of BM points; tiles of BK centroids stream through team scratch
// memory in chunks of BD features, and every (point, centroid) dot product is accumulated in
// the compute type in feature order f = 0..D-1 whatever the team size, so the scores -- and the
// labels -- are the same bits for any team size and schedule of one build.
//
// Each thread takes micro-tiles of RM consecutive points x RK centroids of one column group
// (register accumulators; AssignTile says how a group's columns are laid out). A column
// group g sees its centroids in increasing index order and replaces its best only on a strictly
// smaller score, so it keeps the lowest index among equal scores; the final MinLoc over the G
// groups of a point compares (score, index) pairs, which makes the argmin the lowest index among
// the minima -- the reference's tie rule -- independent of how threads were scheduled.
//
// Schedules of that one computation (AssignSchedule, AssignTile):
// - GpuRegisters (GPU spaces, run_gpu): a team of exactly one thread per micro-tile. Each thread
//   keeps its micro-tile's dot products and its running (score, index) per point in registers
//   for the whole centroid tile / the whole kernel, so team scratch holds only the current
//   feature chunk
//     xs [BD x (BM+1)], cs [BD x (BK+1)]  (feature-major; +1: conflict-free stores)
//   and, at the end, best [BM x G] for the MinLoc over the groups. 8 x 8 micro-tiles (fp32):
//   16 scratch reads per 64 fused multiply-adds.
// - Host (host spaces, one thread per team, run_host) and GpuScratch (run_host on a GPU space,
//   FKM_KOKKOS_ASSIGN=scratch): the micro-tiles taken by whatever threads the team has, so the
//   running dot products live in scratch too: xs, cs as above, dots [BM x BK], best [BM x G].
// Every schedule accumulates each dot product in feature order, one multiply-add per feature.
//
// score_j = ||c_j||^2 - 2 <x, c_j> (L2; ||x||^2 does not change the argmin), -<x, c_j> (inner
// product), -<x, c_j> with unit c_j (cosine: 1/||x|| > 0 does not change the argmin). The
// distance reported for the winner is recomputed in fp64 from the widened values, with the
// reference's arithmetic.
//
// Kernel scale: fp32 squares overflow above ~1.8e19 and underflow below ~1e-23, so for data (or
// given centroids) beyond 2^+-40 every fp32 score would be +inf (every label 0) or 0. The rows
// and centroids are then multiplied, inside the kernel only, by a power of two (exact) that
// brings the largest magnitude to about 2^10; every score is scale^2 times the unscaled one,
// so the argmin is unchanged. The fp64 distances use the stored values.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "fkm/params.hpp"
#include "kokkos_types.hpp"
#include "ordered_sum.hpp"

namespace fkm::kokkos {

/// How the micro-tiles of a team are scheduled (see the top of this file).
enum class AssignSchedule {
  Host,          ///< run_host with host tiles (host execution spaces)
  GpuScratch,    ///< run_host's loops on a GPU space: running dot products in scratch, any team size
  GpuRegisters,  ///< run_gpu: one thread per micro-tile, running dot products in registers (GPU default)
};

/// Tile shape per compute type and schedule.
/// GPU schedules: a micro-tile's centroids are interleaved (g, g + G, ...) so that neighbouring
/// threads read neighbouring scratch banks, and its points are consecutive (one address per
/// group of G threads: broadcasts). Scratch stays under 48 KiB, the default of a CUDA/HIP block:
/// GpuRegisters about 33 KiB (fp32) / 29 KiB (fp64) with (BM / RM) x (BK / RK) = 256 threads;
/// GpuScratch about 40 KiB / 34 KiB.
/// Host (one thread per team): a micro-tile's centroids are contiguous (g * RK, ...) so that the
/// compiler vectorises the RK-wide inner loop, and chunks are longer.
template <class T, AssignSchedule S>
struct AssignTile;
template <>
struct AssignTile<float, AssignSchedule::GpuRegisters> {
  static constexpr int BM = 128, BK = 128, BD = 16, RM = 8, RK = 8;
  static constexpr bool kInterleaved = true;
};
template <>
struct AssignTile<double, AssignSchedule::GpuRegisters> {
  static constexpr int BM = 64, BK = 64, BD = 16, RM = 4, RK = 4;
  static constexpr bool kInterleaved = true;
};
template <>
struct AssignTile<float, AssignSchedule::GpuScratch> {
  static constexpr int BM = 64, BK = 64, BD = 32, RM = 4, RK = 4;
  static constexpr bool kInterleaved = true;
};
template <>
struct AssignTile<double, AssignSchedule::GpuScratch> {
  static constexpr int BM = 32, BK = 64, BD = 16, RM = 2, RK = 4;
  static constexpr bool kInterleaved = true;
};
template <>
struct AssignTile<float, AssignSchedule::Host> {
  static constexpr int BM = 64, BK = 64, BD = 64, RM = 4, RK = 8;
  static constexpr bool kInterleaved = false;
};
template <>
struct AssignTile<double, AssignSchedule::Host> {
  static constexpr int BM = 32, BK = 64, BD = 32, RM = 4, RK = 4;
  static constexpr bool kInterleaved = false;
};

/// The kernel scale (see the top of this file) for a largest magnitude `largest` of the rows
/// and centroids: 1 for fp64 scores and for magnitudes within 2^+-40, else the power of two that
/// brings `largest` to about 2^10, clamped to what fp32 represents (2^-126..2^127: fp32 data is
/// never below 2^-149, so even the clamped upscale takes its squares out of underflow).
template <class T>
double kernel_scale_for(double largest) {
  if (!std::is_same<T, float>::value || !(largest > 0) || !std::isfinite(largest)) return 1.0;
  const int e = std::ilogb(largest);
  if (e <= 40 && e >= -40) return 1.0;
  return std::ldexp(1.0, std::min(127, std::max(-126, 10 - e)));
}

/// Largest |v| of n host values (0 for none).
inline double largest_magnitude(const double* v, Index n) {
  double big = 0;
  for (Index q = 0; q < n; ++q) big = std::max(big, std::abs(v[q]));
  return big;
}

/// m centres prepared for assignment: fp64 rows (unit rows for cosine) for exact distances,
/// the same rows times the kernel scale in the compute type, and the score bias.
template <class T>
struct Centres {
  DeviceMatrix<double> exact;
  DeviceMatrix<T> packed;  ///< exact * scale, rounded to T
  DeviceVector<T> bias;    ///< ||packed_j||^2 (accumulated in fp64) for L2, 0 otherwise
  T scale = T(1);          ///< kernel scale: rows are multiplied by it as they enter scratch
  Index m = 0;
};

template <class T>
struct PackCentres {
  DeviceMatrix<double> exact;
  DeviceMatrix<T> packed;
  DeviceVector<T> bias;
  double scale;
  bool l2;
  KOKKOS_INLINE_FUNCTION void operator()(Index j) const {
    double norm2 = 0;
    for (Index f = 0; f < Index(exact.extent(1)); ++f) {
      const T v = T(exact(j, f) * scale);  // scaled in fp64 first: exact, whatever T's range
      packed(j, f) = v;
      norm2 += double(v) * double(v);
    }
    bias(j) = l2 ? T(norm2) : T(0);
  }
};

/// Refills c.packed and c.bias from c.exact (after the fp64 centres changed in place), with
/// c's kernel scale.
template <class T>
void repack_centres(const Centres<T>& c, Metric metric) {
  Kokkos::parallel_for("fkm::kokkos::pack_centres", Range(0, c.m),
                       PackCentres<T>{c.exact, c.packed, c.bias, double(c.scale), metric == Metric::L2});
}

/// Prepares m = exact.extent(0) centres (already unit rows for cosine) for kernel scale `scale`
/// (kernel_scale_for); keeps a view of exact.
template <class T>
Centres<T> pack_centres(const DeviceMatrix<double>& exact, Metric metric, double scale) {
  Centres<T> c;
  c.exact = exact;
  c.scale = T(scale);
  c.m = Index(exact.extent(0));
  c.packed = uninitialised<DeviceMatrix<T>>("fkm::kokkos::centres_packed", c.m, Index(exact.extent(1)));
  c.bias = uninitialised<DeviceVector<T>>("fkm::kokkos::centres_bias", c.m);
  repack_centres(c, metric);
  return c;
}

/// dist(x_i, c_j) in fp64 with the reference backend's arithmetic: sum (x - c)^2 for L2,
/// 1 - <x/||x||, c> for cosine, -<x, c> for the inner product.
template <DType DT>
KOKKOS_INLINE_FUNCTION double exact_distance(const Rows<DT>& x, const DeviceVector<double>& scale, Metric metric,
                                             Index i, const DeviceMatrix<double>& c, Index j) {
  double s = 0;
  if (metric == Metric::L2) {
    for (Index f = 0; f < x.d; ++f) s += (x.at64(i, f) - c(j, f)) * (x.at64(i, f) - c(j, f));
    return s;
  }
  if (metric == Metric::Cosine) {
    for (Index f = 0; f < x.d; ++f) s += (x.at64(i, f) * scale(i)) * c(j, f);
    return 1.0 - s;
  }
  for (Index f = 0; f < x.d; ++f) s += x.at64(i, f) * c(j, f);
  return -s;
}

template <DType DT, AssignSchedule S>
struct FlashAssign {
  using T = typename Storage<DT>::compute;
  using Tile = AssignTile<T, S>;
  static constexpr bool kRegisters = S == AssignSchedule::GpuRegisters;
  static constexpr int BM = Tile::BM, BK = Tile::BK, BD = Tile::BD, RM = Tile::RM, RK = Tile::RK;
  static constexpr int G = BK / RK;                   // column groups
  static constexpr int kMicroTiles = (BM / RM) * G;  // micro-tiles per (BM x BK) tile
  /// Column of the tile that is centroid b of group g (ascending in b for every g).
  KOKKOS_INLINE_FUNCTION static int column(int g, int b) { return Tile::kInterleaved ? g + b * G : g * RK + b; }

  Rows<DT> x;
  DeviceVector<double> scale;
  Metric metric;
  Centres<T> c;
  DeviceVector<std::int32_t> labels;  ///< out: nearest centre
  DeviceVector<double> dist;          ///< out: exact distance to it

  static std::size_t scratch_bytes() {
    const std::size_t chunks = ScratchVector<T>::shmem_size(BD * (BM + 1)) + ScratchVector<T>::shmem_size(BD * (BK + 1));
    const std::size_t minloc = ScratchVector<T>::shmem_size(BM * G) + ScratchVector<int>::shmem_size(BM * G);
    return chunks + minloc + (kRegisters ? 0 : ScratchVector<T>::shmem_size(BM * BK));
  }

  KOKKOS_INLINE_FUNCTION void operator()(const TeamMember& team) const {
    if constexpr (kRegisters) run_gpu(team);
    else run_host(team);
  }

  /// xs, cs := the feature chunk [f0, f0 + fc) of this team's points and of centroids k0..k0+kc.
  KOKKOS_INLINE_FUNCTION void load_chunk(const TeamMember& team, const ScratchVector<T>& xs, const ScratchVector<T>& cs,
                                         Index i0, int rows, Index k0, int kc, Index f0, int fc) const {
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, BM * BD), [&](const int e) {
      const int r = e / BD, f = e % BD;
      xs(f * (BM + 1) + r) = (r < rows && f < fc) ? x.at(i0 + r, f0 + f) * c.scale : T(0);
    });
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, BK * BD), [&](const int e) {
      const int r = e / BD, f = e % BD;
      cs(f * (BK + 1) + r) = (r < kc && f < fc) ? c.packed(k0 + r, f0 + f) : T(0);
    });
  }

  KOKKOS_INLINE_FUNCTION T score_of(Index j, T dot) const { return metric == Metric::L2 ? c.bias(j) - T(2) * dot : -dot; }

  /// MinLoc over the column groups with (score, index) order, then the exact distance.
  KOKKOS_INLINE_FUNCTION void finish(const TeamMember& team, const ScratchVector<T>& best, const ScratchVector<int>& best_j,
                                     Index i0, int rows) const {
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, rows), [&](const int r) {
      T v = best(r * G);
      int j = best_j(r * G);
      for (int g = 1; g < G; ++g) {
        const T vg = best(r * G + g);
        const int jg = best_j(r * G + g);
        if (vg < v || (vg == v && jg < j)) {
          v = vg;
          j = jg;
        }
      }
      labels(i0 + r) = j;
      dist(i0 + r) = exact_distance(x, scale, metric, i0 + r, c.exact, j);
    });
  }

  /// GPU schedule: thread t of the team (team size kMicroTiles) owns micro-tile t throughout.
  KOKKOS_INLINE_FUNCTION void run_gpu(const TeamMember& team) const {
    const Index i0 = Index(team.league_rank()) * BM;
    const int rows = int(x.n - i0 < BM ? x.n - i0 : BM);
    ScratchVector<T> xs(team.team_scratch(0), BD * (BM + 1));
    ScratchVector<T> cs(team.team_scratch(0), BD * (BK + 1));
    ScratchVector<T> best(team.team_scratch(0), BM * G);
    ScratchVector<int> best_j(team.team_scratch(0), BM * G);
    const int t = team.team_rank();
    const int r0 = (t / G) * RM, g = t % G;
    const bool owner = t < kMicroTiles;  // (the policy asks for exactly kMicroTiles threads)
    T mine[RM];
    int mine_j[RM];
    for (int a = 0; a < RM; ++a) {
      mine[a] = T(HUGE_VAL);  // +inf: a score of +inf never wins, as in the reference
      mine_j[a] = 0;
    }
    for (Index k0 = 0; k0 < c.m; k0 += BK) {
      const int kc = int(c.m - k0 < BK ? c.m - k0 : BK);
      T acc[RM][RK];
      for (int a = 0; a < RM; ++a)
        for (int b = 0; b < RK; ++b) acc[a][b] = T(0);
      for (Index f0 = 0; f0 < x.d; f0 += BD) {
        const int fc = int(x.d - f0 < BD ? x.d - f0 : BD);
        team.team_barrier();  // the previous chunk is consumed
        load_chunk(team, xs, cs, i0, rows, k0, kc, f0, fc);
        team.team_barrier();
        if (owner)
          for (int f = 0; f < fc; ++f) {
            T xv[RM], cv[RK];
            for (int a = 0; a < RM; ++a) xv[a] = xs(f * (BM + 1) + r0 + a);
            for (int b = 0; b < RK; ++b) cv[b] = cs(f * (BK + 1) + column(g, b));
            for (int a = 0; a < RM; ++a)
              for (int b = 0; b < RK; ++b) acc[a][b] = multiply_add(xv[a], cv[b], acc[a][b]);
          }
      }
      if (owner)
        for (int a = 0; a < RM; ++a)
          for (int b = 0; b < RK && column(g, b) < kc; ++b) {  // columns of group g, ascending
            const Index j = k0 + column(g, b);
            const T score = score_of(j, acc[a][b]);
            if (score < mine[a]) {
              mine[a] = score;
              mine_j[a] = int(j);
            }
          }
    }
    if (owner)
      for (int a = 0; a < RM; ++a) {
        best((r0 + a) * G + g) = mine[a];
        best_j((r0 + a) * G + g) = mine_j[a];
      }
    team.team_barrier();
    finish(team, best, best_j, i0, rows);
  }

  /// Host schedule (and GpuScratch): the micro-tiles taken by whatever threads the team has,
  /// running dot products in scratch.
  KOKKOS_INLINE_FUNCTION void run_host(const TeamMember& team) const {
    const Index i0 = Index(team.league_rank()) * BM;
    const int rows = int(x.n - i0 < BM ? x.n - i0 : BM);
    ScratchVector<T> xs(team.team_scratch(0), BD * (BM + 1));
    ScratchVector<T> cs(team.team_scratch(0), BD * (BK + 1));
    ScratchVector<T> best(team.team_scratch(0), BM * G);
    ScratchVector<int> best_j(team.team_scratch(0), BM * G);
    ScratchVector<T> dots(team.team_scratch(0), BM * BK);

    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, BM * G), [&](const int e) {
      best(e) = T(HUGE_VAL);
      best_j(e) = 0;
    });
    for (Index k0 = 0; k0 < c.m; k0 += BK) {
      const int kc = int(c.m - k0 < BK ? c.m - k0 : BK);
      team.team_barrier();  // the previous tile's scores are consumed
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, BM * BK), [&](const int e) { dots(e) = T(0); });
      for (Index f0 = 0; f0 < x.d; f0 += BD) {
        const int fc = int(x.d - f0 < BD ? x.d - f0 : BD);
        team.team_barrier();  // the previous chunk is consumed
        load_chunk(team, xs, cs, i0, rows, k0, kc, f0, fc);
        team.team_barrier();
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, kMicroTiles), [&](const int t) {
          const int r0 = (t / G) * RM, g = t % G;
          T acc[RM][RK];
          for (int a = 0; a < RM; ++a)
            for (int b = 0; b < RK; ++b) acc[a][b] = dots((r0 + a) * BK + column(g, b));
          for (int f = 0; f < fc; ++f) {
            T xv[RM], cv[RK];
            for (int a = 0; a < RM; ++a) xv[a] = xs(f * (BM + 1) + r0 + a);
            for (int b = 0; b < RK; ++b) cv[b] = cs(f * (BK + 1) + column(g, b));
            for (int a = 0; a < RM; ++a)
              for (int b = 0; b < RK; ++b) acc[a][b] = multiply_add(xv[a], cv[b], acc[a][b]);
          }
          for (int a = 0; a < RM; ++a)
            for (int b = 0; b < RK; ++b) dots((r0 + a) * BK + column(g, b)) = acc[a][b];
        });
      }
      team.team_barrier();
      // Fold this tile's scores into the running best of each (point, column group).
      Kokkos::parallel_for(Kokkos::TeamThreadRange(team, kMicroTiles), [&](const int t) {
        const int r0 = (t / G) * RM, g = t % G;
        for (int a = 0; a < RM; ++a)
          for (int b = 0; b < RK && column(g, b) < kc; ++b) {  // columns of group g, ascending
            const Index j = k0 + column(g, b);
            const T score = score_of(j, dots((r0 + a) * BK + column(g, b)));
            if (score < best((r0 + a) * G + g)) {
              best((r0 + a) * G + g) = score;
              best_j((r0 + a) * G + g) = int(j);
            }
          }
      });
    }
    team.team_barrier();
    finish(team, best, best_j, i0, rows);
  }
};

/// The schedule of GPU spaces: GpuRegisters, or GpuScratch when the environment variable
/// FKM_KOKKOS_ASSIGN is "scratch" (a diagnostic switch, as FKM_CUDA_FORCE_SIMT is for the CUDA
/// backend: both give labels within the same fp32 near-tie tolerance).
inline AssignSchedule gpu_schedule() {
  const char* pick = std::getenv("FKM_KOKKOS_ASSIGN");
  return pick && std::strcmp(pick, "scratch") == 0 ? AssignSchedule::GpuScratch : AssignSchedule::GpuRegisters;
}

template <DType DT, AssignSchedule S>
void flash_assign_with(const Rows<DT>& x, const DeviceVector<double>& scale, Metric metric,
                       const Centres<typename Storage<DT>::compute>& c, const DeviceVector<std::int32_t>& labels,
                       const DeviceVector<double>& dist) {
  using Kernel = FlashAssign<DT, S>;
  const int league = int(blocks_of(x.n, Kernel::BM));
  // GpuRegisters: one thread per micro-tile (run_gpu relies on it); otherwise Kokkos' choice.
  auto policy = Kernel::kRegisters ? Kokkos::TeamPolicy<ExecSpace>(league, Kernel::kMicroTiles)
                                   : Kokkos::TeamPolicy<ExecSpace>(league, Kokkos::AUTO);
  policy.set_scratch_size(0, Kokkos::PerTeam(Kernel::scratch_bytes()));
  Kokkos::parallel_for("fkm::kokkos::flash_assign", policy, Kernel{x, scale, metric, c, labels, dist});
}

/// labels(i), dist(i) := nearest of the centres c to x_i and the exact distance to it.
template <DType DT>
void flash_assign(const Rows<DT>& x, const DeviceVector<double>& scale, Metric metric,
                  const Centres<typename Storage<DT>::compute>& c, const DeviceVector<std::int32_t>& labels,
                  const DeviceVector<double>& dist) {
  if constexpr (kernels_read_host) {
    flash_assign_with<DT, AssignSchedule::Host>(x, scale, metric, c, labels, dist);
  } else if (gpu_schedule() == AssignSchedule::GpuScratch) {
    flash_assign_with<DT, AssignSchedule::GpuScratch>(x, scale, metric, c, labels, dist);
  } else {
    flash_assign_with<DT, AssignSchedule::GpuRegisters>(x, scale, metric, c, labels, dist);
  }
}

}  // namespace fkm::kokkos
