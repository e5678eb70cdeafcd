// Non-owning, dtype-tagged views over caller memory (RAFT/cuVS style).
// fkm never frees or keeps a view's memory beyond the call it is passed to.
#pragma once
#include <cstdint>

#include "fkm/half.hpp"

namespace fkm {

/// Element type of a view.
enum class DType { F16, BF16, F32, F64 };
/// Where a view's memory lives. Device views are accepted by GPU backends only.
enum class MemorySpace { Host, Device };

const char* to_string(DType t) noexcept;
std::size_t size_of(DType t) noexcept;

/// A row-major matrix: rows x cols elements, row i starting at data + i * row_stride elements.
struct MatrixView {
  const void* data = nullptr;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t row_stride = 0;  ///< in elements; >= cols
  DType dtype = DType::F32;
  MemorySpace space = MemorySpace::Host;
  int device = 0;  ///< device ordinal for MemorySpace::Device
};

/// A vector of n elements (sample weights): fp32 or fp64.
struct VectorView {
  const void* data = nullptr;
  std::int64_t size = 0;
  DType dtype = DType::F64;
  MemorySpace space = MemorySpace::Host;
  int device = 0;
};

namespace detail {
template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::F32; }
template <> constexpr DType dtype_of<double>() { return DType::F64; }
template <> constexpr DType dtype_of<half>() { return DType::F16; }
template <> constexpr DType dtype_of<bfloat16>() { return DType::BF16; }
}  // namespace detail

/// View of n x d host values (contiguous rows unless row_stride is given).
template <class T>
MatrixView host_view(const T* data, std::int64_t n, std::int64_t d, std::int64_t row_stride = -1) {
  return MatrixView{data, n, d, row_stride < 0 ? d : row_stride, detail::dtype_of<T>(), MemorySpace::Host, 0};
}

/// View of n x d values already on GPU `device` (CUDA or HIP pointer).
template <class T>
MatrixView device_view(const T* data, std::int64_t n, std::int64_t d, int device = 0,
                       std::int64_t row_stride = -1) {
  return MatrixView{data, n, d, row_stride < 0 ? d : row_stride, detail::dtype_of<T>(), MemorySpace::Device, device};
}

/// Untyped view (e.g. data read from a file), dtype given at run time.
inline MatrixView host_view(const void* data, std::int64_t n, std::int64_t d, DType dtype) {
  return MatrixView{data, n, d, d, dtype, MemorySpace::Host, 0};
}

template <class T>
VectorView host_vector(const T* data, std::int64_t n) {
  return VectorView{data, n, detail::dtype_of<T>(), MemorySpace::Host, 0};
}

}  // namespace fkm
