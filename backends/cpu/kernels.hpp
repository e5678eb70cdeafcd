// Run-time choice of the score kernels for this CPU.
#pragma once
#include <cstdint>
#include <string>

#include "aligned.hpp"
#include "panels.hpp"
#include "point_tiles.hpp"

namespace fkm::cpu {

/// Per-thread scratch of the score kernels for blocks of up to `rows` rows; reused across blocks.
template <class T>
struct KernelWorkspace {
  AlignedVector<T> partial;           ///< [tiles][R][W]: dot products carried between depth chunks
  AlignedVector<T> lane_best;         ///< [rows][W]: running minimum per row and lane (vector kernels)
  AlignedVector<std::int32_t> lane_label;  ///< [rows][W]: its centroid index
  AlignedVector<T> lane_second;       ///< [rows][W]: second-least score per row and lane (argmin2)
  void reserve(std::int64_t rows) {
    const std::int64_t padded = tiles_of(rows) * kMicroRows;
    partial.resize(padded * 2 * Panels<T>::W);  // up to two panels carried at a time
    lane_best.resize(padded * Panels<T>::W);
    lane_label.resize(padded * Panels<T>::W);
    lane_second.resize(padded * Panels<T>::W);
  }
};

/// The kernels of one instruction set, for a block of `rows` rows packed by pack_rows()
/// (tiles) against centroid panels P. depth_chunk: features per pass (Tiling::depth_chunk);
/// it changes no result.
template <class T>
struct KernelTable {
  /// best score and its centroid index per row (ties to the lower index)
  void (*argmin)(const T* tiles, std::int64_t rows, const Panels<T>& P, std::int64_t depth_chunk,
                 KernelWorkspace<T>& ws, std::int32_t* label, T* best);
  /// argmin, and each row's second-best score (the least score of every other centroid; +inf
  /// when K = 1): the pruned assignment's lower bounds
  void (*argmin2)(const T* tiles, std::int64_t rows, const Panels<T>& P, std::int64_t depth_chunk,
                  KernelWorkspace<T>& ws, std::int32_t* label, T* best, T* second);
  /// every score: out[r * P.padded_k() + j]
  void (*scores)(const T* tiles, std::int64_t rows, const Panels<T>& P, std::int64_t depth_chunk,
                 KernelWorkspace<T>& ws, T* out);
  /// Panels (of W centroids) the micro-kernel takes at once: the depth chunk is sized so that
  /// this many panel chunks share half of L1.
  int panels_per_step = 1;
  /// Tiles (of kMicroRows rows) the micro-kernel takes at once: blocks are whole multiples.
  int tiles_per_step = 1;
};

/// Row kernels for float data (row_kernels.hpp); every instruction set gives the same bits.
struct FloatRowKernels {
  /// l2_distance_packed of the first `rows` rows of one packed tile, row r against c[r]: the
  /// same bits per row, the rows' sums interleaved (independent chains) for throughput
  void (*l2_distance_tile)(const float* tile, const double* const* c, std::int64_t dp, int rows, double* out);
  double (*l2_distance_row)(const float* x, const double* c, std::int64_t d);  ///< l2_distance_row
  void (*accumulate)(const float* x, std::int64_t stride, std::int64_t n, const std::int32_t* labels, const double* w,
                     std::int64_t f0, std::int64_t f1, std::int64_t d, double* sums);
  /// cluster_sums<float>
  void (*cluster_sums)(const float* x, std::int64_t stride, const std::int64_t* idx, std::int64_t m, const double* w,
                       std::int64_t d, double* sum);
};
FloatRowKernels float_row_kernels();
FloatRowKernels generic_float_row_kernels();
#ifdef FKM_CPU_HAVE_AVX2
FloatRowKernels avx2_float_row_kernels();
#endif

KernelTable<float> generic_kernels_f32();
KernelTable<double> generic_kernels_f64();
#ifdef FKM_CPU_HAVE_AVX2
KernelTable<float> avx2_kernels_f32();
KernelTable<double> avx2_kernels_f64();
KernelTable<float> avx512_kernels_f32();
KernelTable<double> avx512_kernels_f64();
#endif

/// Instruction sets of the score kernels, best last.
enum class KernelIsa { Generic, Avx2, Avx512 };
/// The best this CPU runs, capped by the environment variable FKM_CPU_KERNELS ("generic",
/// "avx2" or "avx512": for side-by-side benchmarks and tests; other values are ignored).
KernelIsa kernel_isa_in_use();
/// Whether this CPU (and this build) can run the kernels of `isa`.
bool cpu_supports(KernelIsa isa);
/// "avx512f", "avx2+fma" or "generic": the kernels kernels_for() returns here.
std::string kernel_isa();
template <class T>
KernelTable<T> kernels_for();

}  // namespace fkm::cpu
