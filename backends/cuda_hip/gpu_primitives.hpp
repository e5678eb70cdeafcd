// The device-wide primitives of the CUDA and HIP backends: stable radix sort of (key, value)
// pairs, exclusive prefix sum, and selection of the flagged indices. CUB on CUDA, rocPRIM on
// HIP (Debian has rocPRIM but no hipCUB). Each follows the two-call protocol of both
// libraries: with temp == nullptr it only sets `bytes`, otherwise it runs with `bytes` of temp.
#pragma once
#include <cstddef>
#include <cstdint>

#include "gpu_runtime.hpp"

#if defined(__HIP__)
#include <rocprim/device/device_radix_sort.hpp>
#include <rocprim/device/device_scan.hpp>
#include <rocprim/device/device_select.hpp>
#include <rocprim/iterator/counting_iterator.hpp>
#else
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>
#include <cub/device/device_select.cuh>
#include <thrust/iterator/counting_iterator.h>
#endif

namespace fkm::gpu {

/// Stable ascending sort of n (key, value) pairs by key bits [begin_bit, end_bit).
template <class K, class V>
Status sort_pairs(void* temp, std::size_t& bytes, const K* keys_in, K* keys_out, const V* values_in, V* values_out,
                  std::int64_t n, int begin_bit = 0, int end_bit = int(sizeof(K) * 8)) {
#if defined(__HIP__)
  return rocprim::radix_sort_pairs(temp, bytes, keys_in, keys_out, values_in, values_out, std::size_t(n),
                                   unsigned(begin_bit), unsigned(end_bit));
#else
  return cub::DeviceRadixSort::SortPairs(temp, bytes, keys_in, keys_out, values_in, values_out, n, begin_bit, end_bit);
#endif
}

/// Stable descending sort of n (key, value) pairs.
template <class K, class V>
Status sort_pairs_descending(void* temp, std::size_t& bytes, const K* keys_in, K* keys_out, const V* values_in,
                             V* values_out, std::int64_t n) {
#if defined(__HIP__)
  return rocprim::radix_sort_pairs_desc(temp, bytes, keys_in, keys_out, values_in, values_out, std::size_t(n));
#else
  return cub::DeviceRadixSort::SortPairsDescending(temp, bytes, keys_in, keys_out, values_in, values_out, n);
#endif
}

/// out[i] = in[0] + ... + in[i - 1] (out[0] = 0), summed in T.
template <class T, class U>
Status exclusive_sum(void* temp, std::size_t& bytes, const T* in, U* out, std::int64_t n) {
#if defined(__HIP__)
  return rocprim::exclusive_scan(temp, bytes, in, out, T(0), std::size_t(n), rocprim::plus<T>());
#else
  return cub::DeviceScan::ExclusiveSum(temp, bytes, in, out, n);
#endif
}

/// The indices i < n with flags[i] != 0, ascending, into `out`; their number into *count.
template <class F>
Status select_flagged_indices(void* temp, std::size_t& bytes, const F* flags, std::int64_t* out, std::int64_t* count,
                              std::int64_t n) {
#if defined(__HIP__)
  return rocprim::select(temp, bytes, rocprim::counting_iterator<std::int64_t>(0), flags, out, count, std::size_t(n));
#else
  return cub::DeviceSelect::Flagged(temp, bytes, thrust::counting_iterator<std::int64_t>(0), flags, out, count, n);
#endif
}

}  // namespace fkm::gpu
