// Kernels of the batched fit (cuda_batched.cuh): one launch per phase over every *slot* of a
// batch (a slot is one run of one problem: slot s fits problem s / runs). Each block finds its
// slot in blockIdx.y (or blockIdx.x for one-block-per-slot reductions), skips it when the slot
// does not take part (converged, finished or failed: frozen), offsets the pointers of the
// single-problem kernel's arguments to the slot's arrays, and then does exactly the block's
// work of that kernel (assign_mma_tile, assign_simt_tile, finalize_centroid, ...). Tiles,
// chunks and reduction orders are counted from each slot's first row, so every sum a slot
// makes is the sum its problem makes when fitted alone: results are bitwise the same.
#pragma once
#include <cstdint>

#include "../../core/kernels/assign.hpp"
#include "../../core/kernels/screen.hpp"
#include "../../core/kernels/update.hpp"
#include "assign_mma.cuh"
#include "assign_wgmma.cuh"
#include "operands.cuh"
#include "point_kernels.cuh"

namespace fkm::cuda {

/// Where slot s's arrays start, and which slots take part in a launch.
struct SlotLayout {
  const std::int32_t* active = nullptr;  ///< device, one per slot: nonzero = takes part; null: every slot
  std::int64_t runs = 1;                 ///< slots per problem: slot s fits problem s / runs
  std::int64_t n = 0, k = 0, d = 0;      ///< rows, centroids, features per problem
  std::int64_t x_stride = 0;             ///< data elements from one problem to the next
  std::int64_t op_bytes = 0;             ///< centroid operand bytes per slot
  std::int64_t kpad = 0;                 ///< bias and mul values per slot
  std::int64_t partials = 0;             ///< assign partial sums per slot
  const double* sigma = nullptr;         ///< device, per slot: the score unit (screen passes)
};

__device__ __forceinline__ bool takes_part(const SlotLayout& l, std::int64_t s) { return !l.active || l.active[s] != 0; }

/// Slot s's part of an assign launch's output: its labels, distances, fp64 centroids and
/// partial sums; its problem's weights and row scales.
__device__ __forceinline__ void offset_output(const SlotLayout& l, std::int64_t s, kernels::AssignOutput& out) {
  const std::int64_t p = s / l.runs;
  out.centroids += s * l.k * l.d;
  out.labels += s * l.n;
  out.dist += s * l.n;
  if (out.weights) out.weights += p * l.n;
  if (out.row_scale) out.row_scale += p * l.n;
  if (out.partials) out.partials += s * l.partials;
}

/// Slot s's screen state: its operand set's bound, its score unit, its row lists and their two
/// lengths (near, open: two counters per slot).
__device__ __forceinline__ void offset_screen(const SlotLayout& l, std::int64_t s, kernels::ScreenArgs& sc) {
  if (!sc.bound) return;  // not a screen pass
  sc.bound += s;
  sc.sigma = l.sigma[s];
  sc.near_rows += s * l.n;
  sc.open_rows += s * l.n;
  sc.near_count += 2 * s;
  sc.open_count += 2 * s;
}

template <class T>
__device__ __forceinline__ const T* slot_operands(const SlotLayout& l, std::int64_t s, const T* base) {
  return reinterpret_cast<const T*>(reinterpret_cast<const unsigned char*>(base) + s * l.op_bytes);
}

#if !defined(__HIP__)
/// Grid (row tiles of one problem, slots): assign_mma over every slot of the batch.
template <class T, int NSPLIT, bool RESIDENT, MmaRole ROLE>
__global__ void __launch_bounds__(kMmaThreads, mma_min_blocks(ROLE, NSPLIT))
    assign_mma_slots(MmaAssignArgs<T> a, kernels::AssignOutput out, kernels::ScreenArgs screen, SlotLayout l) {
  const std::int64_t s = blockIdx.y;
  if (!takes_part(l, s)) return;
  a.x += (s / l.runs) * l.x_stride;
  a.c = slot_operands(l, s, a.c);
  a.bias += s * l.kpad;
  a.mul += s * l.kpad;
  if (a.rows) {  // listed passes: the slot's list and its length
    a.rows += s * l.n;
    a.row_count += 2 * s;
  }
  offset_output(l, s, out);
  offset_screen(l, s, screen);
  assign_mma_tile<T, NSPLIT, RESIDENT, ROLE>(a, out, screen, blockIdx.x);
}

/// Grid (row tiles of one problem, slots): the Hopper assign (assign_wgmma.cuh) over every slot;
/// the maps' third coordinate picks the slot's problem (points) and operand set (centroids).
template <class T, int BN, bool RESIDENT, MmaRole ROLE>
__global__ void __launch_bounds__(kWgmmaThreads, 2)
    assign_wgmma_slots(const __grid_constant__ CUtensorMap xmap, const __grid_constant__ CUtensorMap cmap, MmaAssignArgs<T> a,
                       kernels::AssignOutput out, kernels::ScreenArgs screen, SlotLayout l) {
  const std::int64_t s = blockIdx.y;
  // uniform over the block; through a shuffle the compiler knows it is over each warp (a branch
  // it thinks divergent would serialise the wgmma instructions after it)
  if (!__shfl_sync(0xffffffffu, takes_part(l, s), 0)) return;
  a.x += (s / l.runs) * l.x_stride;
  a.bias += s * l.kpad;
  a.mul += s * l.kpad;
  offset_output(l, s, out);
  offset_screen(l, s, screen);
  assign_wgmma_tile<T, BN, RESIDENT, ROLE>(&xmap, &cmap, a, out, screen, blockIdx.x, int(s / l.runs), int(s));
}
#endif

// ---- reseeding every listed slot at once (BatchedFit::reseed_slots)

/// Grid (rows, listed slots): keys[i * n + r] = the farthest-point key of row r of listed slot i
/// (farthest_keys: its distance, -inf without positive weight).
__global__ void farthest_keys_slots(const double* weights, const double* dist, std::int64_t n, std::int64_t runs,
                                    const std::int64_t* slots, double* keys) {
  const std::int64_t i = blockIdx.y, s = slots[i], p = s / runs;
  const double* w = weights ? weights + p * n : nullptr;
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t r = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; r < n; r += stride) {
    const double wi = w ? w[r] : 1.0;
    keys[i * n + r] = wi > 0 ? dist[s * n + r] + 0.0 : -__builtin_inf();
  }
}

/// seg[e] = the listed slot of slot-major position order[e] (positions i * n + r).
__global__ void slot_of_position(const std::int32_t* order, std::int64_t count, std::int64_t n, std::int32_t* seg) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t e = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < count; e += stride)
    seg[e] = std::int32_t(order[e] / n);
}

struct ReseedGather {
  const std::int64_t *slots, *takes, *firsts;  ///< per listed slot: the slot, its take, its first gathered row
  const std::int32_t* by_slot;  ///< per listed slot i: its positions i * n + r, farthest first
  std::int64_t n, d, k, runs, ld, x_stride;
  const double* row_scale;        ///< null, or per problem n factors (cosine)
  const std::int64_t* empty_list; ///< per slot k entries: its empty clusters, in order
};

/// Grid (take, listed slots): the t-th farthest row of listed slot i, as the metric sees it, to
/// gathered row firsts[i] + t and to the slot's t-th empty centroid (what one problem's reseed
/// gathers and puts in place, for all of them).
template <class T>
__global__ void gather_farthest(ReseedGather g, const T* x, double* rows, double* centroids) {
  const std::int64_t t = blockIdx.x, i = blockIdx.y;
  if (t >= g.takes[i]) return;
  const std::int64_t s = g.slots[i], p = s / g.runs;
  const std::int64_t r = std::int64_t(g.by_slot[i * g.n + t]) - i * g.n;
  const std::int64_t j = g.empty_list[s * g.k + t];
  const double scale = g.row_scale ? g.row_scale[p * g.n + r] : 1.0;
  for (std::int64_t f = threadIdx.x; f < g.d; f += blockDim.x) {
    double v = to_double(x[p * g.x_stride + r * g.ld + f]);
    if (g.row_scale) v *= scale;
    rows[(g.firsts[i] + t) * g.d + f] = v;
    centroids[(s * g.k + j) * g.d + f] = v;
  }
}

/// Grid (row tiles of one problem, slots): the SIMT assign over every slot.
template <class T, class Acc>
__global__ void __launch_bounds__(kernels::kSimtThreads)
    assign_simt_slots(kernels::SimtAssignArgs<T, Acc> a, kernels::AssignOutput out, SlotLayout l) {
  const std::int64_t s = blockIdx.y;
  if (!takes_part(l, s)) return;
  a.x += (s / l.runs) * l.x_stride;
  a.c = slot_operands(l, s, a.c);
  a.bias += s * l.kpad;
  a.mul += s * l.kpad;
  if (a.rows) {
    a.rows += s * l.n;
    a.row_count += 2 * s;
  }
  offset_output(l, s, out);
  kernels::assign_simt_tile<T, Acc>(a, out, blockIdx.x);
}

/// Block s (1024 threads): out[s * out_stride] = sum of v[s * stride + 0 .. count), in
/// sum_fixed_order's order.
__global__ void sum_each_slot(const std::int32_t* active, const double* v, std::int64_t stride, std::int64_t count,
                              double* out, std::int64_t out_stride) {
  const std::int64_t s = blockIdx.x;
  if (active && !active[s]) return;
  kernels::sum_in_fixed_order(v + s * stride, count, out + s * out_stride);
}

/// Grid (chunks, slots), 256 threads: the screen path's inertia partials (chunk_sums of
/// w_i * dist_i per slot), partials[s * stride + chunk].
__global__ void slot_mass_chunks(const std::int32_t* active, const double* w, const double* dist, std::int64_t runs,
                                 std::int64_t n, std::int64_t chunk, double* partials, std::int64_t stride) {
  const std::int64_t s = blockIdx.y;
  if (active && !active[s]) return;
  chunk_sum(SampleMass{w ? w + (s / runs) * n : nullptr, dist + s * n, false}, n, chunk, blockIdx.x, partials + s * stride);
}

/// The update's sort input, the running slots only (list[0 .. count), ascending), n positions
/// each: slot s's label j becomes the key (cluster) s * k + j, and its value is the data row
/// (s / runs) * n + i, so the segment sums read the right problem's rows, weights and scales.
__global__ void slot_cluster_keys(const std::int32_t* list, std::int64_t count, std::int64_t runs, std::int64_t n,
                                  std::int64_t k, const std::int32_t* labels, std::int32_t* keys, std::int32_t* rows) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t e = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < count * n; e += stride) {
    const std::int64_t s = list[e / n], i = e % n;
    keys[e] = std::int32_t(s * k + labels[s * n + i]);
    rows[e] = std::int32_t((s / runs) * n + i);
  }
}

/// Grid (k, slots), 128 threads: finalize_centroids of every running slot.
__global__ void finalize_slots(const std::int32_t* running, const double* sums, std::int64_t k, std::int64_t d,
                               bool normalise, double* centroids, double* previous, std::int32_t* empty,
                               double* shift_part) {
  const std::int64_t s = blockIdx.y;
  if (!running[s]) return;
  kernels::finalize_centroid(blockIdx.x, sums + s * k * (d + 1), d, normalise, centroids + s * k * d,
                             previous + s * k * d, empty + s * k, shift_part + s * k);
}

/// Block s (1024 threads): compact_flags of slot s's empty flags; the count lands in the
/// slot's scalars (int64 bits at scalars[4 s + 2]).
__global__ void compact_each_slot(const std::int32_t* running, const std::int32_t* empty, std::int64_t k,
                                  std::int64_t* list, double* scalars) {
  const std::int64_t s = blockIdx.x;
  if (!running[s]) return;
  kernels::compact_flags_block(empty + s * k, k, list + s * k, reinterpret_cast<std::int64_t*>(scalars + 4 * s + 2));
}

/// Grid (kpad, count), 128 threads: prepare_operands for slots first .. first + count (those
/// `active` marks, when given), each with its problem's score exponents and its own bound.
template <class Op, class Acc>
__global__ void prepare_slots(const std::int32_t* active, std::int64_t first, PrepareArgs p, const int* s_total,
                              const int* wide_shift, std::int64_t op_bytes, Op* terms, Acc* bias, Acc* mul) {
  const std::int64_t s = first + blockIdx.y;
  if (active && !active[s]) return;
  p.c += s * p.k * p.d;
  p.s_total = s_total[s];
  p.wide_shift = wide_shift[s];
  if (p.bound.out) p.bound.out += s;
  prepare_operand_row<Op, Acc>(p, blockIdx.x, reinterpret_cast<Op*>(reinterpret_cast<unsigned char*>(terms) + s * op_bytes),
                               bias + s * p.kpad, mul + s * p.kpad);
}

/// One block: zeroes the screen bounds of slots first .. first + count that `active` marks
/// (all when null), before their operands are prepared (the preparation reduces into them).
__global__ void zero_slot_bounds(const std::int32_t* active, std::int64_t first, std::int64_t count,
                                 kernels::ScreenBound* bound) {
  for (std::int64_t s = first + threadIdx.x; s < first + count; s += blockDim.x)
    if (!active || active[s]) bound[s] = kernels::ScreenBound{};
}

}  // namespace fkm::cuda
