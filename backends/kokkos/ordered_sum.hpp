// Deterministic reductions. Kokkos' parallel_reduce combines partial results in an order that
// depends on the execution space and its thread count; fkm promises bitwise identical results
// run to run, so floating-point totals are summed in a fixed association instead: blocks of
// kSumBlock consecutive terms left to right, then those block sums the same way, until one
// value is left. The bits are the same on every execution space and thread count.
// (Integer counts and index maxima are exact in any order and use parallel_reduce.)
#pragma once
#include "kokkos_types.hpp"

namespace fkm::kokkos {

constexpr Index kSumBlock = 1024;

inline Index blocks_of(Index n, Index block) { return (n + block - 1) / block; }

/// out(b) = sum of value(i) over block b of [0, n), left to right.
template <class Value>
struct BlockSums {
  Value value;
  Index n;
  DeviceVector<double> out;
  KOKKOS_INLINE_FUNCTION void operator()(Index b) const {
    const Index i0 = b * kSumBlock, i1 = i0 + kSumBlock < n ? i0 + kSumBlock : n;
    double s = 0;
    for (Index i = i0; i < i1; ++i) s += value(i);
    out(b) = s;
  }
};

struct ViewValue {
  DeviceVector<double> v;
  KOKKOS_INLINE_FUNCTION double operator()(Index i) const { return v(i); }
};

/// sum_{i < n} value(i) in the fixed association above. value: a device-callable i -> double.
template <class Value>
double ordered_sum(Index n, const Value& value) {
  if (n <= 0) return 0.0;
  const Index nb = blocks_of(n, kSumBlock);
  auto partial = uninitialised<DeviceVector<double>>("fkm::kokkos::partial_sums", nb);
  Kokkos::parallel_for("fkm::kokkos::ordered_sum", Range(0, nb), BlockSums<Value>{value, n, partial});
  if (nb > 1) return ordered_sum(nb, ViewValue{partial});
  double total = 0;
  Kokkos::deep_copy(total, Kokkos::subview(partial, 0));
  return total;
}

/// offsets(i) = sum_{l < i} counts(i) (integers: exact in any order); returns the total.
struct ExclusiveScan {
  DeviceVector<Index> counts, offsets;
  KOKKOS_INLINE_FUNCTION void operator()(Index i, Index& running, bool final) const {
    if (final) offsets(i) = running;
    running += counts(i);
  }
};
inline Index exclusive_scan(const DeviceVector<Index>& counts, const DeviceVector<Index>& offsets) {
  const Index n = Index(counts.extent(0));
  if (n == 0) return 0;
  Kokkos::parallel_scan("fkm::kokkos::exclusive_scan", Range(0, n), ExclusiveScan{counts, offsets});
  Index last_offset = 0, last_count = 0;
  Kokkos::deep_copy(last_offset, Kokkos::subview(offsets, n - 1));
  Kokkos::deep_copy(last_count, Kokkos::subview(counts, n - 1));
  return last_offset + last_count;
}

/// A device vector with the contents of a host array.
template <class T>
DeviceVector<T> to_device(const char* label, const T* host, Index n) {
  auto out = uninitialised<DeviceVector<T>>(label, n);
  Kokkos::deep_copy(out, Kokkos::View<const T*, Kokkos::HostSpace>(host, n));
  return out;
}

/// A K x D device matrix with the contents of a row-major host array.
template <class T>
DeviceMatrix<T> to_device(const char* label, const T* host, Index rows, Index cols) {
  auto out = uninitialised<DeviceMatrix<T>>(label, rows, cols);
  Kokkos::deep_copy(out, Kokkos::View<const T**, Kokkos::LayoutRight, Kokkos::HostSpace>(host, rows, cols));
  return out;
}

}  // namespace fkm::kokkos
