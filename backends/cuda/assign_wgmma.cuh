// FlashAssign on Hopper tensor cores (sm_90a): wgmma fed by TMA, for the two passes over every
// row (MmaRole::Plain: precision = fast; MmaRole::Screen: the first pass of precision = exact).
// The listed passes (Pairs, Rescore) stay on the mma.sync kernel of assign_mma.cuh: they run a
// few rows, and share this kernel's scores, candidates and row finishing (consider(),
// finish_warp_rows()), so a label means the same whichever kernel produced it.
//
//   block     [BM = 128 points] x [BN = 128 centroids] per centroid tile, 256 threads:
//             two warpgroups, each [64 points] x [BN], BN / 2 fp32 accumulators per thread;
//   k-block   128 bytes of a row (64 halves or 32 floats) per TMA box: four wgmma k-steps;
//   points    resident for the whole block when their boxes fit in 64 KB (D <= 256 halves):
//             loaded once; otherwise streamed beside the centroids, box by box;
//   pipeline  STAGES boxes of centroids in flight; consumers wait on a stage's `full` barrier
//             (the TMA copy's bytes have landed); the last of the eight warps to finish reading
//             a stage issues its refill (a shared counter per slot: nobody waits for anybody);
//   turns     the two warpgroups alternate issuing whole tiles (ping-pong), so one's epilogue
//             overlaps the other's tensor-core work.
// Two blocks share an SM (shared memory <= 100 KB, <= 128 registers a thread), so one
// warpgroup's argmin epilogue overlaps the others' tensor-core work.
#pragma once
#include <cstdint>

#include "assign_mma.cuh"
#if !defined(__HIP__)
#include "sm90.cuh"

namespace fkm::cuda {

inline constexpr int kWgmmaWarps = 8;
inline constexpr int kWgmmaThreads = kWgmmaWarps * kernels::kWarpSize;
inline constexpr int kWgmmaBM = 128;
inline constexpr int kWgmmaBN = 128;  ///< centroid_pad() makes kpad a multiple of it beyond 64 centroids
inline constexpr int kBoxBytes = 128;  ///< one k-block of a row: the 128-byte swizzle's width
/// What wgmma multiplies for a stored value: fp16/bf16 as stored; fp32 as tf32, the low 13
/// mantissa bits dropped (TMA copies the points unrounded, unlike the mma.sync kernel's
/// round-to-nearest). Should the hardware round instead, |x - tf32(x)| is only smaller than
/// the truncation error measured here, so the screen's bound holds either way.
template <class T>
struct WgmmaReads {
  using type = kernels::ReadsExact;
};
struct ReadsTf32Truncated {
  __device__ __forceinline__ float operator()(float v) const { return __uint_as_float(__float_as_uint(v) & 0xFFFFE000u); }
};
template <>
struct WgmmaReads<float> {
  using type = ReadsTf32Truncated;
};

/// Largest shared footprint of resident points (four k-blocks: D <= 256 halves, 128 floats).
inline constexpr std::int64_t kWgmmaResidentBytes = 64 * 1024;

/// Pipeline depth: resident points leave room for four centroid stages, streamed ones for three
/// (each stage then carries a box of points too); both keep two blocks on an SM.
constexpr int wgmma_stages(bool resident) { return resident ? 4 : 3; }

/// Dynamic shared memory of one block (1024 bytes of slack align the swizzled boxes).
template <int BN, bool RESIDENT>
constexpr std::int64_t wgmma_smem_bytes(std::int64_t dpad_bytes) {
  constexpr int stages = wgmma_stages(RESIDENT);
  const std::int64_t x = RESIDENT ? (dpad_bytes / kBoxBytes) * kWgmmaBM * kBoxBytes : std::int64_t(stages) * kWgmmaBM * kBoxBytes;
  return 1024 + x + std::int64_t(stages) * BN * kBoxBytes;
}

/// Row `row` of a block's resident points, read back from their TMA boxes for the exact fp64
/// finish: the 16-byte chunk c of a box row r lies at chunk c ^ (r % 8) (the 128-byte swizzle of
/// a 1024-byte aligned box). TMA copied the stored values unchanged, so these are the bits the
/// finish read from global memory before, at shared-memory latency.
template <class T>
struct SwizzledRow {
  const unsigned char* boxes;  ///< the first box; box b at b * kWgmmaBM * kBoxBytes
  int row;                     ///< 0 .. kWgmmaBM - 1
  __device__ __forceinline__ const unsigned char* at(std::int64_t f) const {
    constexpr unsigned per_box = kBoxBytes / sizeof(T);
    const unsigned e = unsigned(f), byte = (e % per_box) * unsigned(sizeof(T));
    const unsigned chunk = (byte >> 4) ^ unsigned(row & 7);
    return boxes + (e / per_box) * unsigned(kWgmmaBM * kBoxBytes) + unsigned(row) * kBoxBytes + (chunk << 4) + (byte & 15u);
  }
  __device__ __forceinline__ T operator[](std::int64_t f) const { return *reinterpret_cast<const T*>(at(f)); }
  /// Values f and f + 1 (f even: both in one 16-byte chunk, which the swizzle moves whole).
  __device__ __forceinline__ kernels::ValuePair<T> pair(std::int64_t f) const {
    return *reinterpret_cast<const kernels::ValuePair<T>*>(at(f));
  }
};

/// f(i) for i < W, then for i < W / 2, ... down to 1: the levels of a pairwise tree, each
/// unrolled at compile time (so the tree's arrays stay in registers).
template <int W, class F>
__device__ __forceinline__ void tree_levels(F&& f) {
  if constexpr (W >= 1) {
#pragma unroll
    for (int i = 0; i < W; ++i) f(i);
    tree_levels<W / 2>(f);
  }
}

/// Folds one row's scores of a tile into its candidates. The row's V scores are acc[4 * (i / 2)
/// + 2h + i % 2], i = 0 .. V-1, at columns col0 + 8 * (i / 2) + i % 2 (ascending in i). Same
/// result as consider() over them in column order: the tile's minimum replaces the best only
/// when strictly smaller, at its first column; the screen's second-best is the second smallest
/// score seen (duplicates of the best included).
template <MmaRole ROLE, int V>
__device__ __forceinline__ void tile_candidates(const float* acc, int h, int col0, kernels::Best2& best) {
  static_assert((V & (V - 1)) == 0, "a power of two");
  float lo[V / 2], hi[V / 2];  // per pair: smaller, larger (the screen's second-best tree)
#pragma unroll
  for (int i = 0; i < V / 2; ++i) {
    const float x0 = acc[4 * i + 2 * h], x1 = acc[4 * i + 2 * h + 1];
    lo[i] = fminf(x0, x1);
    hi[i] = fmaxf(x0, x1);
  }
  tree_levels<V / 4>([&](int i) {
    if constexpr (ROLE == MmaRole::Screen) hi[i] = fminf(fmaxf(lo[2 * i], lo[2 * i + 1]), fminf(hi[2 * i], hi[2 * i + 1]));
    lo[i] = fminf(lo[2 * i], lo[2 * i + 1]);
  });
  const float m = lo[0];
  if constexpr (ROLE == MmaRole::Screen) best.second = fminf(fminf(best.second, hi[0]), fmaxf(best.best, m));
  // the first column holding the minimum, where it improves the best (warp-uniform test: past
  // the first tiles most warps skip this)
  if (__any_sync(0xffffffffu, m < best.best)) {
    int first[V / 2];
#pragma unroll
    for (int i = 0; i < V / 2; ++i) {
      const int c0 = 8 * i, c1 = 8 * i + 1;
      first[i] = acc[4 * i + 2 * h] == m ? c0 : (acc[4 * i + 2 * h + 1] == m ? c1 : 1 << 20);
    }
    tree_levels<V / 4>([&](int i) { first[i] = min(first[2 * i], first[2 * i + 1]); });
    if (m < best.best) {
      best.best = m;
      best.index = std::int32_t(col0 + first[0]);
    }
  }
}

/// Row tile `row_tile` of matrix xz of the points (xmap) against every centroid of matrix cz
/// of the operands (cmap). a.x (rows read by the exact fp64 finish), a.bias and a.mul are
/// already those of this problem.
template <class T, int BN, bool RESIDENT, MmaRole ROLE>
__device__ __forceinline__ void assign_wgmma_tile(const CUtensorMap* xmap, const CUtensorMap* cmap, const MmaAssignArgs<T>& a,
                                                  const kernels::AssignOutput& out, const kernels::ScreenArgs& screen,
                                                  std::int64_t row_tile, int xz, int cz) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  static_assert(ROLE == MmaRole::Plain || ROLE == MmaRole::Screen, "the listed passes run on assign_mma");
  static_assert(BN == 64 || BN == 128, "wgmma tiles of 64 or 128 centroids (the launchers use 128)");
  constexpr int ST = wgmma_stages(RESIDENT), BM = kWgmmaBM;
  constexpr int XBOX = BM * kBoxBytes, CBOX = BN * kBoxBytes;
  constexpr int KE = kBoxBytes / int(sizeof(T));  // values of a row per box
  constexpr float kInf = __builtin_huge_valf();
  using Ops = sm90::Wgmma<T>;
  extern __shared__ unsigned char smem_raw[];
  __shared__ std::uint64_t full[ST], x_full;
  __shared__ int releases[ST];  // warps done with the stage in the slot
  __shared__ double scratch[kWgmmaWarps];
  __shared__ std::int32_t row_label[kWgmmaWarps][16];
  __shared__ kernels::Best2 row_best[kWgmmaWarps][16];

  unsigned char* base = smem_raw + ((1024 - (sm90::smem_address(smem_raw) & 1023)) & 1023);
  const int chunks = int(a.dpad * std::int64_t(sizeof(T)) / kBoxBytes);
  const int tiles = int(a.kpad / BN), stages = tiles * chunks;
  unsigned char* xs = base;
  unsigned char* cs = base + (RESIDENT ? chunks : ST) * XBOX;
  const int tid = int(threadIdx.x), warp = tid / kernels::kWarpSize, lane = tid % kernels::kWarpSize;
  const int wg = warp / 4, g = lane / 4, q = lane % 4;
  const int row0 = int(row_tile * BM);

  if (tid == 0) {
    for (int s = 0; s < ST; ++s) {
      sm90::barrier_init(&full[s], 1);
      releases[s] = 0;
    }
    sm90::barrier_init(&x_full, 1);
    sm90::barrier_init_fence();
  }
  __syncthreads();

  // Stage s = (centroid tile s / chunks, k-block s % chunks) into its slot (one thread).
  const auto issue = [&](int s) {
    const int slot = s % ST, ch = s % chunks, tile = s / chunks;
    sm90::barrier_arrive_expect(&full[slot], unsigned(CBOX + (RESIDENT ? 0 : XBOX)));
    if constexpr (!RESIDENT) sm90::tma_load_3d(xs + slot * XBOX, xmap, &full[slot], ch * KE, row0, xz);
    sm90::tma_load_3d(cs + slot * CBOX, cmap, &full[slot], ch * KE, tile * BN, cz);
  };
  if (tid == 0) {
    if constexpr (RESIDENT) {
      sm90::barrier_arrive_expect(&x_full, unsigned(chunks * XBOX));
      for (int ch = 0; ch < chunks; ++ch) sm90::tma_load_3d(xs + ch * XBOX, xmap, &x_full, ch * KE, row0, xz);
    }
    for (int s = 0; s < ST && s < stages; ++s) issue(s);
  }
  // Stages below `released` are given back: lane 0 of each warp counts itself out of the slot
  // once its wgmma reads of it are complete, and the last of the eight refills it. Nobody waits
  // for the others (a refill waiting on the slower warpgroup would stall the faster one's
  // epilogue, which the turn order below is there to overlap).
  // (the counters' shared address is taken once: an atomicAdd on &releases[slot] converted it
  // from generic each time)
  int released = 0;
  const unsigned releases0 = sm90::smem_address(releases);
  const auto release_below = [&](int end) {
    for (; released < end; ++released) {
      if (lane == 0) {
        const unsigned slot = unsigned(released) % ST;
        __threadfence_block();
        if (sm90::shared_add(releases0 + 4 * slot, 1) == kWgmmaWarps - 1) {
          releases[slot] = 0;
          if (released + ST < stages) issue(released + ST);
        }
      }
    }
  };
  // When the pipeline holds a whole tile and one stage more (resident points, D <= 192 halves),
  // the warpgroups take turns issuing a tile's wgmma instructions (ping-pong, named barriers 1
  // and 2), so one's argmin epilogue runs while the other's tile is on the tensor cores.
  // Warpgroup 1 opens warpgroup 0's first turn; each gives the other its turn once its own tile
  // is issued (warpgroup 1 not after its last: each barrier is waited as often as arrived at).
  // Otherwise both consume a tile's stages together, and each k-block is given back as soon as
  // the next one is issued (turns would deadlock: the first warpgroup would wait for stages
  // only the second's releases refill).
  const bool pingpong = chunks + 1 <= ST;
  sm90::named_barrier_arrive_if(pingpong && wg == 1, 1, kWgmmaThreads);

  float acc[BN / 2];
#pragma unroll
  for (int v = 0; v < BN / 2; ++v) acc[v] = 0.f;
  kernels::Best2 best[2] = {{kInf, kInf, 0}, {kInf, kInf, 0}};
  if constexpr (RESIDENT) sm90::barrier_wait(&x_full, 0);

  // descriptors of this warpgroup's 64 point rows in the first box and of the first centroid
  // stage; every other k-step's are these advanced by a byte offset
  const unsigned xdesc = sm90::descriptor_low(xs + wg * 64 * kBoxBytes), cdesc = sm90::descriptor_low(cs);
  const unsigned full0 = sm90::smem_address(full);  // the stage barriers, 8 bytes apart
  // The epilogue's bias and mul (512 bytes each a tile: four lines of each), asked into L1 a
  // tile ahead by eight lanes of each warp. Loaded cold after the wgmma wait, their L1 misses
  // were 11% of the kernel's stall samples (session 17 profile, N1M K1024 fp16); registers
  // cannot hold them early (with the 64 accumulators live, ptxas spills). Copying them into
  // shared memory a tile ahead with cp.async instead measured 0.98x this at N8M (same call)
  // and 0.97x main at K65536 (its wait and two warp syncs a tile).
  const auto prefetch_tile = [&](int tile) {
    if (tile < tiles && lane < 8) sm90::prefetch_l1((lane < 4 ? a.bias : a.mul) + tile * BN + (lane % 4) * 32);
  };
  prefetch_tile(0);
  for (int tile = 0; tile < tiles; ++tile) {
    prefetch_tile(tile + 1);
    sm90::named_barrier_sync_if(pingpong, 1 + wg, kWgmmaThreads);  // this warpgroup's turn
    for (int ch = 0; ch < chunks; ++ch) {
      const unsigned s = unsigned(tile * chunks + ch), slot = s % ST;  // unsigned: % and / by ST are a mask and a shift
      sm90::barrier_wait(full0 + 8 * slot, (s / ST) & 1u);
      const unsigned xoff = (RESIDENT ? unsigned(ch) : slot) * XBOX, coff = slot * CBOX;
      sm90::fence_accumulators(acc);
      sm90::wgmma_fence();
#pragma unroll
      for (int ks = 0; ks < kBoxBytes / Ops::kStepBytes; ++ks) {
        const std::uint64_t da = sm90::descriptor(sm90::descriptor_advance(xdesc, xoff + ks * Ops::kStepBytes));
        const std::uint64_t db = sm90::descriptor(sm90::descriptor_advance(cdesc, coff + ks * Ops::kStepBytes));
        if constexpr (BN == 128) Ops::mma_n128(acc, da, db, (ch | ks) != 0);
        else Ops::mma_n64(acc, da, db, (ch | ks) != 0);
      }
      sm90::wgmma_commit();
      sm90::fence_accumulators(acc);
      if (!pingpong && ch > 0) {
        sm90::wgmma_wait<1>();  // the previous k-block's reads are done
        release_below(int(s));
      }
    }
    sm90::named_barrier_arrive_if(pingpong && (wg == 0 || tile + 1 < tiles), 2 - wg, kWgmmaThreads);  // the other's turn
    sm90::wgmma_wait<0>();
    sm90::fence_accumulators(acc);
    release_below((tile + 1) * chunks);
    // Epilogue of a centroid tile: accumulator v of this thread is row 8 * ((v / 2) % 2) + g of
    // its warp's 16 rows, column 8 * (v / 4) + 2q + v % 2 of the tile (the mma.sync layout).
    // Scores first (in place), then each row's tile minimum (and second-best) and its first
    // column by trees: the same values and tie rule as consider()'s running scan, without its
    // 32-step chain of dependent compares (which left the epilogue latency bound).
    // (plain loads from one base pointer a tile: the offsets fold into the load instructions,
    // where __ldg's asm took an address computation each)
    const int j0 = tile * BN;
    const float2* bias2 = reinterpret_cast<const float2*>(a.bias + j0 + 2 * q);
    const float2* mul2 = reinterpret_cast<const float2*>(a.mul + j0 + 2 * q);
#pragma unroll
    for (int nt = 0; nt < BN / 8; ++nt) {
      const float2 b2 = bias2[nt * 4];
      const float2 m2 = mul2[nt * 4];
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        acc[nt * 4 + 2 * h] = fmaf(m2.x, acc[nt * 4 + 2 * h], b2.x);
        acc[nt * 4 + 2 * h + 1] = fmaf(m2.y, acc[nt * 4 + 2 * h + 1], b2.y);
      }
    }
#pragma unroll
    for (int h = 0; h < 2; ++h) tile_candidates<ROLE, BN / 4>(acc, h, j0 + 2 * q, best[h]);
  }

#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int r = h * 8 + g;
    if constexpr (ROLE == MmaRole::Screen) {
      const kernels::Best2 m = kernels::group_best2<4>(best[h]);
      if (q == 0) row_best[warp][r] = m;
    } else {
      const auto m = kernels::group_argmin<4>(kernels::ArgMin<float>{best[h].best, best[h].index});
      if (q == 0) row_label[warp][r] = m.index;
    }
  }
  __syncwarp();
  const std::int64_t first = std::int64_t(row0) + warp * 16;
  const double partial = finish_warp_rows<T, ROLE, 16, typename WgmmaReads<T>::type>(
      out, screen, a.d, row_best[warp], row_label[warp], [&](int r) { return first + r < a.n ? first + r : std::int64_t(-1); },
      [&](int r, std::int64_t i) {
        if constexpr (RESIDENT) return SwizzledRow<T>{xs, warp * 16 + r};
        else return a.x + i * a.ld;
      });
  if (out.partials) {  // uniform: the host passes partials only to one-tile-per-block launches
    const double total = kernels::block_sum(partial, scratch);
    if (tid == 0) out.partials[row_tile] = total;
  }
#endif
}

/// *has = 1 where the code this build runs on the current device was compiled with the sm_90a
/// instructions (the wgmma kernels' bodies exist), else 0: a build for plain sm_90 ("90",
/// "native", "all-major") has sm_90 code whose wgmma kernels are empty. Launched once per device
/// by wgmma_runs(); it lives in the same translation unit as the kernels, so the runtime picks
/// its code from the same fat binary.
static __global__ void wgmma_probe(int* has) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  *has = 1;
#else
  *has = 0;
#endif
}

template <class T, int BN, bool RESIDENT, MmaRole ROLE>
__global__ void __launch_bounds__(kWgmmaThreads, 2)
    assign_wgmma(const __grid_constant__ CUtensorMap xmap, const __grid_constant__ CUtensorMap cmap, MmaAssignArgs<T> a,
                 kernels::AssignOutput out, kernels::ScreenArgs screen) {
  assign_wgmma_tile<T, BN, RESIDENT, ROLE>(&xmap, &cmap, a, out, screen, blockIdx.x, 0, 0);
}

}  // namespace fkm::cuda

#endif  // !__HIP__
