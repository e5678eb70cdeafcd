// FlashAssign on tensor cores (sm_80+; runs unchanged on sm_90a).
//
//   block   [BM = 128 points] x [BN = 64 centroids] per centroid tile, 4 warps (BN = 16 where
//           k <= 16: mma_tile_n);
//   warp    [32 points = 2 m16 tiles] x [BN centroids = BN / 8 n8 tiles], 64 (16) fp32 accumulators;
//   k-chunk 128 bytes of a row (64 halves or 32 floats) per pipeline stage, 4 mma k-steps.
// Points either stay resident in shared memory for the whole tile (small D: loaded once) or
// stream chunk by chunk beside the centroids (large D). Centroid chunks are double buffered
// with cp.async. Each centroid is given as NSPLIT terms (hi, lo[, lo2]) whose products
// accumulate into the same fp32 accumulators (NSPLIT > 1: the fp32-accurate re-score). Scores
// are bias_j + mul_j * acc (mul carries the score unit and each centroid's power-of-two scale:
// operands.cuh), the running (min, argmin) per row lives in registers, and rows finish
// through the same finish_row() as the portable SIMT kernel.
//
// Four roles (MmaRole):
//   Plain    every row, best score only: precision = fast.
//   Screen   every row, one term, best and second-best score: a row whose label the fast
//            arithmetic provably got right (core/kernels/screen.hpp, proof 1) is finished, the
//            others are listed as `near`. The first pass of precision = exact.
//   Pairs    the near rows, one term, the two best centroids and the third-best score: rows
//            whose nearest centroid is provably one of the two (proof 2) take the nearer in
//            fp64; the others are listed as `open`.
//   Rescore  the open rows, NSPLIT terms (fp32-accurate): the last pass of precision = exact.
// The listed roles (Pairs, Rescore) run the rows of a list whose length only the device knows:
// the launch covers n rows and the blocks past the list's end return at once.
#pragma once
#include <cstdint>
#include <type_traits>

#include "../../core/kernels/assign.hpp"
#include "../../core/kernels/screen.hpp"
#if !defined(__HIP__)
#include "mma.cuh"
#endif

namespace fkm::cuda {

inline constexpr int kMmaWarps = 4;
inline constexpr int kMmaThreads = kMmaWarps * kernels::kWarpSize;
inline constexpr int kMmaBM = kMmaWarps * 32;
inline constexpr int kMmaBN = 64;
inline constexpr int kChunkBytes = 128;
inline constexpr int kChunkPitch = kChunkBytes + 16;  // +16 bytes: conflict-free ldmatrix rows

enum class MmaRole { Plain, Screen, Pairs, Rescore };

/// Centroid rows of the tensor-core operands: a multiple of 64 (the mma.sync tile), of 128
/// beyond 64 centroids (the wgmma kernel's wider tile, assign_wgmma.cuh).
constexpr std::int64_t centroid_pad(std::int64_t k) { return k <= kMmaBN ? kMmaBN : (k + 127) / 128 * 128; }

template <class T>
struct MmaAssignArgs {
  const T* x;             ///< rows 16-byte aligned: ld * sizeof(T) % 16 == 0
  std::int64_t n, d, ld;  ///< ld in elements
  const T* c;             ///< [nsplit][kpad][dpad], zero padded
  std::int64_t k, kpad, dpad;  ///< dpad * sizeof(T) a multiple of kChunkBytes; kpad: centroid_pad(k)
  const float* bias;      ///< kpad values (+inf for padding)
  const float* mul;       ///< kpad values
  const std::int32_t* rows = nullptr;       ///< Pairs, Rescore: the listed rows
  const std::int32_t* row_count = nullptr;  ///< Pairs, Rescore: how many (device)
};

/// Centroids per tile of the mma.sync kernel for k centroids: 16 where k <= 16 (a quarter of
/// the mainloop, the epilogue and the centroid stages of a 64-wide tile that would be three
/// quarters padding), else kMmaBN.
constexpr int mma_tile_n(std::int64_t k) { return k <= 16 ? 16 : kMmaBN; }

/// Dynamic shared memory of one block.
template <class T, int NSPLIT, bool RESIDENT, int BN = kMmaBN>
constexpr std::int64_t mma_smem_bytes(std::int64_t dpad) {
  const std::int64_t cs = 2LL * NSPLIT * BN * kChunkPitch;
  const std::int64_t xs = RESIDENT ? kMmaBM * (dpad * std::int64_t(sizeof(T)) + 16) : 2LL * kMmaBM * kChunkPitch;
  return cs + xs;
}

// NVIDIA only (mma.sync, ldmatrix, cp.async); HIP runs the SIMT kernel of core/kernels/assign.hpp.
#if !defined(__HIP__)
/// Blocks per SM the register allocation must allow: 4 (at most 128 registers, as the one-term
/// kernels had before the screen; their shared memory fits 4 blocks per SM up to D = 128 fp16)
/// for the passes over every row; 2 for the pairs pass (a few rows, a larger state) and for the
/// three-term re-score (its shared memory allows 2 blocks per SM anyway).
constexpr int mma_min_blocks(MmaRole role, int nsplit) { return role == MmaRole::Pairs || nsplit >= 3 ? 2 : 4; }

/// Score sc of column j into a row's running candidates (columns in ascending order, strict
/// '<': ties go to the lower index); the screen also keeps the second-best score.
template <MmaRole ROLE, class Candidates>
__device__ __forceinline__ void consider(Candidates& bb, float sc, std::int32_t j) {
  if constexpr (ROLE == MmaRole::Pairs) {
    kernels::push(bb, sc, j);
  } else {
    if constexpr (ROLE == MmaRole::Screen) bb.second = fminf(bb.second, fmaxf(bb.best, sc));
    if (sc < bb.best) {
      bb.best = sc;
      bb.index = j;
    }
  }
}

/// The rows of one warp after the centroid loop, their candidates already reduced over each
/// row's quad into row_best (Screen, Pairs) or row_label (Plain, Rescore): each row's exact fp64
/// facts by eight lanes (below), then its proof, its label and distance, or its place in the
/// next pass's list. row_of(r): the data row of warp row r (-1 past the end); row_ptr(r, i): its
/// values (shared or global memory); Reads: the value the tensor cores multiplied for a stored
/// one (the screen's proof measures each row's rounding with it). Returns this lane's share of
/// the block's distance sum. row_ptr may return a pointer or an accessor (exact_row's `x`).
template <class T, MmaRole ROLE, int WARP_ROWS, class Reads = typename MmaFormat<T>::Reads, class Candidates, class RowOf,
          class RowPtr>
__device__ __forceinline__ double finish_warp_rows(const kernels::AssignOutput& out, const kernels::ScreenArgs& screen, std::int64_t d,
                                                   const Candidates* row_best, const std::int32_t* row_label, RowOf row_of,
                                                   RowPtr row_ptr) {
  constexpr bool kScreen = ROLE == MmaRole::Screen, kPairs = ROLE == MmaRole::Pairs;
  static_assert(WARP_ROWS % 8 == 0, "rows in steps of 4, in pairs of steps");
  // Eight lanes per row (lane t of group g), two features a lane a step: a row's 8 loads of a
  // step read 128 contiguous centroid bytes (one L1 line where 8 d is a multiple of 128), and
  // a step's rows are warp rows b, b + 2, b + 4, b + 6 (b = 0, 1, 8, 9, ...): in the resident
  // tiles (rows 16 bytes apart modulo 128, or swizzled boxes whose chunk pairs differ by row / 2)
  // their 32-byte reads fall in disjoint banks.
  constexpr int kWidth = 8;
  const int lane = kernels::lane_id(), g = lane / kWidth, t = lane % kWidth;
  // j's exact score in unit 1 (score = b + m <x, c>) and its fp64 error (screen.hpp)
  const auto exact_score = [&](const kernels::RowExact& e) {
    const double err = double(d + 8) * 0x1p-51;
    return out.metric == kernels::MetricCode::L2 ? kernels::ExactScore{e.dist - e.xx, err * (e.dist + e.xx)}
                                                 : kernels::ExactScore{-e.dot, err * e.mag};
  };
  double partial = 0;
#pragma unroll 1
  for (int step = 0; step < WARP_ROWS / 4; ++step) {
    const int r = (step / 2) * 8 + step % 2 + 2 * g;
    const std::int64_t i = row_of(r), ic = i >= 0 ? i : 0;  // slots past the end read row 0
    const auto xr = row_ptr(r, ic);
    if constexpr (kScreen) {
      const kernels::Best2 m = row_best[r];
      const kernels::RowExact e = kernels::exact_row<kWidth, true, 2>(out, xr, ic, m.index, t, Reads{});
      if (t == 0 && i >= 0) {
        if (kernels::proves_label(screen, m.best, m.second, exact_score(e), kernels::norm_up(e.xx, d),
                                  kernels::norm_up(e.dx2, d))) {
          partial += kernels::finish_row(out, i, e.dist, m.index);
        } else {
          const std::int32_t slot = atomicAdd(screen.near_count, 1);
          screen.near_rows[slot] = std::int32_t(i);
        }
      }
    } else if constexpr (kPairs) {
      const kernels::Best3 m = row_best[r];
      const bool pair = m.j2 >= 0;  // uniform over the row's lanes
      const kernels::RowExact e1 = kernels::exact_row<kWidth, true, 2>(out, xr, ic, m.j1, t, Reads{});
      const kernels::RowExact e2 = kernels::exact_row<kWidth, true, 2>(out, xr, ic, pair ? m.j2 : m.j1, t);
      if (t == 0 && i >= 0) {
        if (pair && kernels::proves_pair(screen, m.s3, exact_score(e1), exact_score(e2), kernels::norm_up(e1.xx, d),
                                         kernels::norm_up(e1.dx2, d))) {
          // the nearer in fp64, ties to the lower index (the reference's rule)
          const bool second = e2.dist < e1.dist || (e2.dist == e1.dist && m.j2 < m.j1);
          partial += kernels::finish_row(out, i, second ? e2.dist : e1.dist, second ? m.j2 : m.j1);
        } else {
          const std::int32_t slot = atomicAdd(screen.open_count, 1);
          screen.open_rows[slot] = std::int32_t(i);
        }
      }
    } else {
      const std::int32_t j = row_label[r];
      const double dist = out.mode == kernels::AssignMode::LabelsOnly ? 0.0 : kernels::exact_distance<kWidth, 2>(out, xr, ic, j, t);
      if (t == 0 && i >= 0) partial += kernels::finish_row(out, i, dist, j);
    }
  }
  return partial;
}

/// One block's work: row tile `row_tile` of the data (or of the list), against every centroid.
/// The kernels below (one problem, or a batch of problems: cuda_batched.cuh) call it.
template <class T, int NSPLIT, bool RESIDENT, MmaRole ROLE, int BN = kMmaBN>
__device__ __forceinline__ void assign_mma_tile(MmaAssignArgs<T> a, kernels::AssignOutput out, kernels::ScreenArgs screen,
                                                std::int64_t row_tile) {
  static_assert((ROLE != MmaRole::Screen && ROLE != MmaRole::Pairs) || NSPLIT == 1, "the screen's passes use one term");
  static_assert(BN % 16 == 0 && BN <= kMmaBN, "whole ldmatrix_x4 B tiles (16 centroids), at most kMmaBN");
  constexpr bool kScreen = ROLE == MmaRole::Screen;
  constexpr bool kPairs = ROLE == MmaRole::Pairs;
  constexpr bool kListed = ROLE == MmaRole::Pairs || ROLE == MmaRole::Rescore;
  using Candidates = std::conditional_t<kPairs, kernels::Best3, kernels::Best2>;
  constexpr float kInf = __builtin_huge_valf();
  using Format = MmaFormat<T>;
  extern __shared__ __align__(16) unsigned char smem[];
  __shared__ double scratch[kMmaWarps];
  __shared__ std::int64_t row_of[kMmaBM];
  __shared__ std::int32_t row_label[kMmaWarps][32];
  __shared__ Candidates row_best[kMmaWarps][32];  // Screen, Pairs: the row's candidates
  constexpr int BM = kMmaBM;

  const int tid = int(threadIdx.x), lane = kernels::lane_id(), warp = kernels::warp_id();
  const int g = lane / 4, t = lane % 4;
  const std::int64_t row_bytes = a.d * std::int64_t(sizeof(T));
  const std::int64_t dpad_bytes = a.dpad * std::int64_t(sizeof(T));
  const int chunks = int(dpad_bytes / kChunkBytes);
  // kpad / BN tiles of the padded operands; a narrow tile (BN < kMmaBN) covers only the k real
  // centroids (the padding's bias is +inf either way)
  const int tiles_k = int(BN == kMmaBN ? a.kpad / BN : (a.k + BN - 1) / BN);
  const int stages = tiles_k * chunks;  // kpad / 64 * dpad bytes / 128 fits easily
  const int x_pitch = RESIDENT ? int(dpad_bytes) + 16 : kChunkPitch;

  unsigned char* cs = smem;
  unsigned char* xs = smem + 2 * NSPLIT * BN * kChunkPitch;
  const auto* xg = reinterpret_cast<const unsigned char*>(a.x);
  const auto* cg = reinterpret_cast<const unsigned char*>(a.c);

  // Chunk `ch` of this tile's points into buffer `buf` (or its place in the resident tile).
  auto load_x = [&](int ch, int buf) {
    unsigned char* base = RESIDENT ? xs + ch * kChunkBytes : xs + buf * BM * kChunkPitch;
    for (int e = tid; e < BM * (kChunkBytes / 16); e += kMmaThreads) {
      const int r = e / (kChunkBytes / 16), p = e % (kChunkBytes / 16);
      const std::int64_t i = row_of[r], off = std::int64_t(ch) * kChunkBytes + p * 16;
      std::int64_t valid = (i >= 0) ? row_bytes - off : 0;
      valid = valid < 0 ? 0 : (valid > 16 ? 16 : valid);
      const unsigned char* src = valid > 0 ? xg + (i * a.ld) * std::int64_t(sizeof(T)) + off : xg;
      kernels::copy_16<true>(base + r * x_pitch + p * 16, src, int(valid));
    }
  };
  // Stage s = (tile s / chunks, chunk s % chunks) of every centroid term into buffer `buf`.
  auto load_c = [&](int s, int buf) {
    const std::int64_t tile = s / chunks;
    const int ch = int(s % chunks);
    for (int e = tid; e < NSPLIT * BN * (kChunkBytes / 16); e += kMmaThreads) {
      const int q = e / (BN * (kChunkBytes / 16)), rem = e % (BN * (kChunkBytes / 16));
      const int r = rem / (kChunkBytes / 16), p = rem % (kChunkBytes / 16);
      const std::int64_t row = std::int64_t(q) * a.kpad + tile * BN + r;
      kernels::copy_16<true>(cs + ((buf * NSPLIT + q) * BN + r) * kChunkPitch + p * 16,
                             cg + row * dpad_bytes + std::int64_t(ch) * kChunkBytes + p * 16, 16);
    }
  };

  // ldmatrix lane roles (see mma.cuh): A rows l % 16 at byte (l / 16) * 16; B rows
  // (l / 16) * 8 + l % 8 at byte ((l / 8) % 2) * 16.
  const int a_row = warp * 32 + (lane % 16), a_col = (lane / 16) * 16;
  const int b_row = (lane / 16) * 8 + (lane % 8), b_col = ((lane / 8) % 2) * 16;

  // One tile of rows per block: rows [row_tile * BM, ...) of the data or of the list (a loop
  // over tiles instead would cost ~40 registers, and with them a block per SM).
  const std::int64_t limit = kListed ? std::int64_t(*a.row_count) : a.n;
  if (row_tile * BM >= limit) return;  // uniform over the block, before any barrier
  for (int r = tid; r < BM; r += kMmaThreads) row_of[r] = kernels::tile_row(kListed ? a.rows : nullptr, limit, row_tile * BM + r);
  __syncthreads();

  constexpr int NT = BN / 8;  // n8 tiles a warp
  float acc[2][NT][4];
  Candidates best[2][2];
  for (int mt = 0; mt < 2; ++mt)
    for (int h = 0; h < 2; ++h) {
      if constexpr (kPairs) best[mt][h] = kernels::Best3{kInf, kInf, kInf, 0, -1};
      else best[mt][h] = kernels::Best2{kInf, kInf, 0};
    }
  for (int mt = 0; mt < 2; ++mt)
    for (int nt = 0; nt < NT; ++nt)
      for (int v = 0; v < 4; ++v) acc[mt][nt][v] = 0.f;

  if (RESIDENT)
    for (int ch = 0; ch < chunks; ++ch) load_x(ch, 0);
  else
    load_x(0, 0);
  load_c(0, 0);
  kernels::copy_commit<true>();

  for (int s = 0; s < stages; ++s) {
    const int buf = int(s & 1);
    if (s + 1 < stages) {
      if (!RESIDENT) load_x(int((s + 1) % chunks), buf ^ 1);
      load_c(s + 1, buf ^ 1);
      kernels::copy_commit<true>();
      kernels::copy_wait<true, 1>();
    } else {
      kernels::copy_wait<true, 0>();
    }
    __syncthreads();

    const int ch = int(s % chunks);
    const bool fresh = ch == 0;  // the tile's first chunk starts from a zero accumulator
    const unsigned char* xa = RESIDENT ? xs + ch * kChunkBytes : xs + buf * BM * kChunkPitch;
#pragma unroll
    for (int ks = 0; ks < kChunkBytes / 32; ++ks) {
      std::uint32_t af[2][4];
#pragma unroll
      for (int mt = 0; mt < 2; ++mt) {
        ldmatrix_x4(af[mt], xa + (a_row + mt * 16) * x_pitch + ks * 32 + a_col);
        Format::prepare_a(af[mt]);
      }
#pragma unroll
      for (int q = 0; q < NSPLIT; ++q) {
        const unsigned char* cb = cs + ((buf * NSPLIT + q) * BN) * kChunkPitch + ks * 32 + b_col;
#pragma unroll
        for (int np = 0; np < NT / 2; ++np) {
          std::uint32_t bf[4];
          ldmatrix_x4(bf, cb + (np * 16 + b_row) * kChunkPitch);
#pragma unroll
          for (int mt = 0; mt < 2; ++mt) {
            if (ks == 0 && q == 0 && fresh) {
              Format::mma_zero(acc[mt][2 * np], af[mt], bf[0], bf[1]);
              Format::mma_zero(acc[mt][2 * np + 1], af[mt], bf[2], bf[3]);
            } else {
              Format::mma(acc[mt][2 * np], af[mt], bf[0], bf[1]);
              Format::mma(acc[mt][2 * np + 1], af[mt], bf[2], bf[3]);
            }
          }
        }
      }
    }

    if (ch == chunks - 1) {
      // Epilogue of a centroid tile: scores, online argmin (ascending columns, strict '<');
      // the screen also keeps the second-best score. Columns 2t and 2t + 1 of each n8 tile
      // belong to this lane: their bias and mul come as one 8-byte load each.
      const int j0 = (s / chunks) * BN;
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        const int jp = j0 + nt * 8 + 2 * t;
        const float2 b2 = __ldg(reinterpret_cast<const float2*>(a.bias + jp));
        const float2 m2 = __ldg(reinterpret_cast<const float2*>(a.mul + jp));
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          const float b = c ? b2.y : b2.x, mu = c ? m2.y : m2.x;
          const std::int32_t j = std::int32_t(jp + c);
#pragma unroll
          for (int mt = 0; mt < 2; ++mt)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
              consider<ROLE>(best[mt][h], fmaf(mu, acc[mt][nt][2 * h + c], b), j);
            }
        }
      }
    }
    __syncthreads();  // buffer `buf` is refilled by the next stage's loads
  }

  // Each row's candidates from its quad, then its exact fp64 facts by eight lanes (the points
  // from the resident tile when they are there).
#pragma unroll
  for (int mt = 0; mt < 2; ++mt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = mt * 16 + h * 8 + g;
      if constexpr (kPairs) {
        const kernels::Best3 m = kernels::group_best3<4>(best[mt][h]);
        if (t == 0) row_best[warp][r] = m;
      } else if constexpr (kScreen) {
        const kernels::Best2 m = kernels::group_best2<4>(best[mt][h]);
        if (t == 0) row_best[warp][r] = m;
      } else {
        const auto m = kernels::group_argmin<4>(kernels::ArgMin<float>{best[mt][h].best, best[mt][h].index});
        if (t == 0) row_label[warp][r] = m.index;
      }
    }
  __syncwarp();
  const double partial = finish_warp_rows<T, ROLE, 32>(
      out, screen, a.d, row_best[warp], row_label[warp], [&](int r) { return row_of[warp * 32 + r]; },
      [&](int r, std::int64_t ic) -> const T* {
        return RESIDENT ? reinterpret_cast<const T*>(xs + (warp * 32 + r) * x_pitch) : a.x + ic * a.ld;
      });
  if (out.partials) {  // uniform: the host passes partials only to one-tile-per-block launches
    const double total = kernels::block_sum(partial, scratch);
    if (tid == 0) out.partials[row_tile] = total;
  }
}

template <class T, int NSPLIT, bool RESIDENT, MmaRole ROLE, int BN = kMmaBN>
__global__ void __launch_bounds__(kMmaThreads, mma_min_blocks(ROLE, NSPLIT))
    assign_mma(MmaAssignArgs<T> a, kernels::AssignOutput out, kernels::ScreenArgs screen) {
  assign_mma_tile<T, NSPLIT, RESIDENT, ROLE, BN>(a, out, screen, blockIdx.x);
}

#endif  // !__HIP__

}  // namespace fkm::cuda
