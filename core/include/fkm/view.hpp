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

/// B independent row-major matrices of the same shape (a (B, N, D) array, fkm::fit_batched):
/// row i of problem b starts at data + b * batch_stride + i * row_stride elements. A batch_stride
/// of 0 repeats one matrix for every problem (the data are only read, so problems may overlap).
struct BatchedMatrixView {
  const void* data = nullptr;
  std::int64_t problems = 0;      ///< B
  std::int64_t rows = 0;          ///< N, per problem
  std::int64_t cols = 0;          ///< D
  std::int64_t row_stride = 0;    ///< in elements; >= cols
  std::int64_t batch_stride = 0;  ///< in elements, from problem b to b + 1; >= 0
  DType dtype = DType::F32;
  MemorySpace space = MemorySpace::Host;
  int device = 0;  ///< device ordinal for MemorySpace::Device

  /// Problem b (0 <= b < problems) as a matrix view; an empty view stays empty.
  MatrixView problem(std::int64_t b) const {
    const void* p = data == nullptr ? nullptr
                                    : static_cast<const char*>(data) + b * batch_stride * std::int64_t(size_of(dtype));
    return MatrixView{p, rows, cols, row_stride, dtype, space, device};
  }
};

/// B vectors of n elements (per-problem sample weights, (B, N)): fp32 or fp64. Problem b's
/// vector starts at data + b * batch_stride elements; 0 repeats one vector for every problem.
struct BatchedVectorView {
  const void* data = nullptr;
  std::int64_t problems = 0;
  std::int64_t size = 0;  ///< elements per problem
  std::int64_t batch_stride = 0;
  DType dtype = DType::F64;
  MemorySpace space = MemorySpace::Host;
  int device = 0;

  /// Problem b's vector; the empty view (no weights) gives the empty VectorView.
  VectorView problem(std::int64_t b) const {
    if (data == nullptr && size == 0) return VectorView{};
    const void* p = data == nullptr ? nullptr
                                    : static_cast<const char*>(data) + b * batch_stride * std::int64_t(size_of(dtype));
    return VectorView{p, size, dtype, space, device};
  }
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

/// View of `problems` host matrices of n x d values (contiguous unless strides are given:
/// row_stride defaults to d, batch_stride to n * row_stride).
template <class T>
BatchedMatrixView host_batched_view(const T* data, std::int64_t problems, std::int64_t n, std::int64_t d,
                                    std::int64_t row_stride = -1, std::int64_t batch_stride = -1) {
  const std::int64_t rs = row_stride < 0 ? d : row_stride;
  return BatchedMatrixView{data, problems, n, d, rs, batch_stride < 0 ? n * rs : batch_stride,
                           detail::dtype_of<T>(), MemorySpace::Host, 0};
}

/// The same for values already on GPU `device` (CUDA or HIP pointer).
template <class T>
BatchedMatrixView device_batched_view(const T* data, std::int64_t problems, std::int64_t n, std::int64_t d, int device = 0,
                                      std::int64_t row_stride = -1, std::int64_t batch_stride = -1) {
  BatchedMatrixView v = host_batched_view(data, problems, n, d, row_stride, batch_stride);
  v.space = MemorySpace::Device;
  v.device = device;
  return v;
}

/// Untyped contiguous batch (e.g. read from a file), dtype given at run time.
inline BatchedMatrixView host_batched_view(const void* data, std::int64_t problems, std::int64_t n, std::int64_t d,
                                           DType dtype) {
  return BatchedMatrixView{data, problems, n, d, d, n * d, dtype, MemorySpace::Host, 0};
}

/// View of `problems` host vectors of n values (batch_stride defaults to n; 0 repeats one vector).
template <class T>
BatchedVectorView host_batched_vector(const T* data, std::int64_t problems, std::int64_t n, std::int64_t batch_stride = -1) {
  return BatchedVectorView{data, problems, n, batch_stride < 0 ? n : batch_stride, detail::dtype_of<T>(),
                           MemorySpace::Host, 0};
}

}  // namespace fkm
