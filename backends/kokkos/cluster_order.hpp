// The sort of the sort-inverse update on Kokkos: a stable sort of the point indices by label, so
// that each cluster's points form one contiguous segment in increasing index order (then one team
// per cluster reduces its segment: segment_sums.hpp).
//
// A stable sort has exactly one result, so the two methods below give the same bits and each
// execution space gets the one that suits it (both are tested on the host):
// - BlockCounting (host spaces): a counting sort in three passes over blocks of ~sqrt(n) points:
//     count   hist(b, j)   = number of points of block b with label j       (one thread per block)
//     offset  hist(b, j)  := start(j) + points of label j in blocks before b (one thread per label)
//     scatter order(hist(b, label_i)++) = i, in index order inside a block  (one thread per block)
// - Keys (GPU spaces, where a thread walking sqrt(n) points is slow): a sort of the unique keys
//   label * n + i, then order = key % n; cluster sizes by integer atomics (exact in any order)
//   and a scan. On Kokkos-Cuda the sort is CUB's radix sort over only the bits the keys use
//   (log2((m + 1) * n), 34 for n = 8M, m = 1024) in place, its scratch kept between calls:
//   Kokkos::sort hands Thrust Kokkos iterators, for which Thrust copies the keys to a fresh
//   temporary, radix-sorts all 64 bits and copies them back, on every call. Elsewhere
//   Kokkos::sort.
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include <Kokkos_Sort.hpp>
#if defined(KOKKOS_ENABLE_CUDA)
#include <cub/device/device_radix_sort.cuh>

#include "fkm/error.hpp"
#endif

#include "kokkos_types.hpp"
#include "ordered_sum.hpp"

namespace fkm::kokkos {

/// Point indices grouped by label: cluster j < m is order[start(j) .. start(j + 1)); points
/// with a label >= m (possible in label_weights) come last, in order[start(m) .. n).
struct ClusterOrder {
  DeviceVector<Index> start;  ///< m + 2
  DeviceVector<Index> order;  ///< n
  Index m = 0;
};

/// The bucket of a label among m clusters: labels >= m share the extra bucket m.
KOKKOS_INLINE_FUNCTION Index bucket_of(std::int32_t label, Index m) { return Index(label) < m ? Index(label) : m; }

namespace detail {

struct CountLabels {
  DeviceVector<std::int32_t> labels;
  Kokkos::View<Index**, Kokkos::LayoutRight, MemSpace> hist;
  Index n, block, m;
  KOKKOS_INLINE_FUNCTION void operator()(Index b) const {
    const Index i1 = (b + 1) * block < n ? (b + 1) * block : n;
    for (Index i = b * block; i < i1; ++i) hist(b, bucket_of(labels(i), m)) += 1;
  }
};

struct OffsetsPerLabel {
  Kokkos::View<Index**, Kokkos::LayoutRight, MemSpace> hist;
  DeviceVector<Index> counts;
  KOKKOS_INLINE_FUNCTION void operator()(Index j) const {
    Index running = 0;
    for (Index b = 0; b < Index(hist.extent(0)); ++b) {
      const Index c = hist(b, j);
      hist(b, j) = running;
      running += c;
    }
    counts(j) = running;
  }
};

struct Scatter {
  DeviceVector<std::int32_t> labels;
  Kokkos::View<Index**, Kokkos::LayoutRight, MemSpace> hist;
  DeviceVector<Index> start, order;
  Index n, block, m;
  KOKKOS_INLINE_FUNCTION void operator()(Index b) const {
    const Index i1 = (b + 1) * block < n ? (b + 1) * block : n;
    for (Index i = b * block; i < i1; ++i) {
      const Index j = bucket_of(labels(i), m);
      order(start(j) + hist(b, j)) = i;
      hist(b, j) += 1;
    }
  }
};

}  // namespace detail

/// Groups point indices by label, stably. Keeps its buffers between calls (one Lloyd iteration
/// after another), so the steady state allocates little.
class LabelSorter {
 public:
  enum class Method { BlockCounting, Keys };
  static constexpr Method kDefault = kernels_read_host ? Method::BlockCounting : Method::Keys;

  explicit LabelSorter(Method method = kDefault) : method_(method) {}

  /// Sorts the n labels (labels >= m go to a last bucket); valid until the next call.
  const ClusterOrder& sort(const DeviceVector<std::int32_t>& labels, Index n, Index m) {
    const Index buckets = m + 1;  // + the bucket of labels >= m
    if (groups_.m != m || !counts_.data()) {
      counts_ = uninitialised<DeviceVector<Index>>("fkm::kokkos::label_counts", buckets + 1);
      groups_.start = uninitialised<DeviceVector<Index>>("fkm::kokkos::cluster_start", buckets + 1);
      groups_.m = m;
    }
    if (Index(groups_.order.extent(0)) != n) groups_.order = uninitialised<DeviceVector<Index>>("fkm::kokkos::cluster_order", n);
    // Keys need (m + 1) * n < 2^63; beyond that (never in practice) count instead. No rows
    // (a distributed shard can have none) is counted too: nothing to sort, and no division by 0.
    if (method_ == Method::Keys && n > 0 && buckets < std::numeric_limits<Index>::max() / n)
      sort_keys(labels, n, m);
    else
      sort_counting(labels, n, m);
    return groups_;
  }

 private:
  void sort_counting(const DeviceVector<std::int32_t>& labels, Index n, Index m) {
    const Index buckets = m + 1;
    // Blocks of ~sqrt(n) points balance the per-block and per-label passes; the histogram is
    // capped at 2^24 entries (128 MiB) by making blocks larger when m is large.
    const Index block = std::max<Index>({256, Index(std::sqrt(double(n))), blocks_of(n * buckets, Index(1) << 24)});
    const Index nb = blocks_of(n, block);
    if (Index(hist_.extent(0)) != nb || Index(hist_.extent(1)) != buckets)
      hist_ = Kokkos::View<Index**, Kokkos::LayoutRight, MemSpace>("fkm::kokkos::label_histogram", nb, buckets);
    else
      Kokkos::deep_copy(hist_, Index(0));
    Kokkos::parallel_for("fkm::kokkos::count_labels", Range(0, nb), detail::CountLabels{labels, hist_, n, block, m});
    Kokkos::parallel_for("fkm::kokkos::label_offsets", Range(0, buckets), detail::OffsetsPerLabel{hist_, counts_});
    Kokkos::deep_copy(Kokkos::subview(counts_, buckets), Index(0));
    exclusive_scan(counts_, groups_.start);
    Kokkos::parallel_for("fkm::kokkos::scatter_by_label", Range(0, nb),
                         detail::Scatter{labels, hist_, groups_.start, groups_.order, n, block, m});
  }

 public:  // (NVCC: device lambdas only in public member functions)
  void sort_keys(const DeviceVector<std::int32_t>& labels, Index n, Index m) {
    if (Index(keys_.extent(0)) != n) keys_ = uninitialised<DeviceVector<Index>>("fkm::kokkos::label_keys", n);
    const auto keys = keys_;
    const auto counts = counts_;
    const auto order = groups_.order;
    Kokkos::deep_copy(counts, Index(0));
    Kokkos::parallel_for("fkm::kokkos::label_keys", Range(0, n), KOKKOS_LAMBDA(Index i) {
      const Index b = bucket_of(labels(i), m);
      keys(i) = b * n + i;
      Kokkos::atomic_add(&counts(b), Index(1));  // (atomic_increment is deprecated in Kokkos 4)
    });
    const auto sorted = sort_unique_keys(keys_, n, (m + 1) * n - 1);
    Kokkos::parallel_for("fkm::kokkos::keys_to_order", Range(0, n), KOKKOS_LAMBDA(Index p) { order(p) = sorted(p) % n; });
    exclusive_scan(counts, groups_.start);
  }

  /// The n keys of `keys` (= keys_, all in [0, largest]) in increasing order: in place, or on
  /// Kokkos-Cuda in whichever of keys_ / spare_keys_ CUB's double buffer left them (that one
  /// becomes keys_).
  DeviceVector<Index> sort_unique_keys(DeviceVector<Index> keys, Index n, Index largest) {
#if defined(KOKKOS_ENABLE_CUDA)
    if constexpr (std::is_same<ExecSpace, Kokkos::Cuda>::value) {
      if (Index(spare_keys_.extent(0)) != n) spare_keys_ = uninitialised<DeviceVector<Index>>("fkm::kokkos::spare_keys", n);
      int bits = 1;  // the keys are non-negative: sort their low `bits` bits as unsigned
      while (bits < 63 && (largest >> bits) != 0) ++bits;
      using Key = unsigned long long;
      static_assert(sizeof(Key) == sizeof(Index), "keys are 64-bit");
      cub::DoubleBuffer<Key> buffers(reinterpret_cast<Key*>(keys.data()), reinterpret_cast<Key*>(spare_keys_.data()));
      const cudaStream_t stream = ExecSpace().cuda_stream();
      std::size_t bytes = 0;
      cuda_check(cub::DeviceRadixSort::SortKeys(nullptr, bytes, buffers, n, 0, bits, stream), "size");
      if (sort_scratch_.extent(0) < bytes)
        sort_scratch_ = uninitialised<Kokkos::View<unsigned char*, MemSpace>>("fkm::kokkos::sort_scratch", bytes);
      cuda_check(cub::DeviceRadixSort::SortKeys(sort_scratch_.data(), bytes, buffers, n, 0, bits, stream), "run");
      if (buffers.selector == 0) return keys;
      std::swap(keys_, spare_keys_);  // the sorted keys are in the spare buffer: keep it as keys_
      return keys_;
    }
#endif
    (void)largest;
    Kokkos::sort(keys);
    return keys;
  }

#if defined(KOKKOS_ENABLE_CUDA)
  static void cuda_check(cudaError_t s, const char* what) {
    if (s != cudaSuccess)
      throw Error(ErrorCode::Internal, std::string("kokkos backend: CUB radix sort (") + what + "): " + cudaGetErrorString(s));
  }
#endif

 private:
  Method method_;
  Kokkos::View<Index**, Kokkos::LayoutRight, MemSpace> hist_;
  DeviceVector<Index> counts_, keys_, spare_keys_;
  Kokkos::View<unsigned char*, MemSpace> sort_scratch_;
  ClusterOrder groups_;
};

}  // namespace fkm::kokkos
