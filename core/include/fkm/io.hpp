// File readers and writers: .npy (format versions 1, 2, 3) and .fvecs / .bvecs / .ivecs in,
// .npy out. Shared by the `fkm` program and by users of the library.
//
// Reading memory-maps the file: nothing is copied unless a conversion is needed (big-endian
// bytes, Fortran order, uint8 .bvecs widened to float32), and reading a range of rows touches
// only the pages of those rows. Every malformed file gives fkm::Error (Io for a damaged or
// unreadable file, InvalidData for a well-formed file fkm cannot use) naming the file, the
// header field and, where known, the row.
//
// Writing goes to a temporary file in the destination's folder that is renamed over the
// destination only when complete: on any error there is no output file and an existing one is
// untouched.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fkm/view.hpp"

namespace fkm::io {

/// Element types of the arrays fkm reads and writes. Bool and the integer types after it are
/// read from .npy only ('|b1', '|i1', '<i2', '<u4', '<i8', '<u8'; '<u2' is bfloat16, see ReadOptions).
enum class ElementType { F16, BF16, F32, F64, U8, I32, Bool, I8, I16, U32, I64, U64 };
const char* to_string(ElementType t) noexcept;  ///< "float16", "bfloat16", ..., "uint8", "int32", "bool", ...
std::size_t size_of(ElementType t) noexcept;

// ---- .npy header ------------------------------------------------------------------------------

/// A parsed .npy header (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html).
struct NpyHeader {
  int major_version = 1;             ///< 1, 2 or 3
  int minor_version = 0;
  std::string descr;                 ///< the dtype string as written, e.g. "<f4"
  char byte_order = '<';             ///< '<' little, '>' big, '|' not applicable (1-byte types)
  char kind = 'f';                   ///< numpy kind letter: 'f' float, 'i' int, 'u' uint, 'c', 'b', ...
  int item_size = 4;                 ///< bytes per element
  bool fortran_order = false;
  std::vector<std::int64_t> shape;   ///< () for a scalar
  std::size_t data_offset = 0;       ///< bytes from the start of the file to the first element
  std::int64_t element_count() const;  ///< product of shape (1 for a scalar)
};

/// Parses the header at the start of `bytes` (the first `size` bytes of a file). A pure function
/// of its input: checks the magic, the version, that the header fits in `size` bytes, the dict
/// syntax and its exact keys 'descr', 'fortran_order' and 'shape'. Does not check the data size
/// or whether fkm can use the dtype. Throws Error(Io) naming `source` and the field.
NpyHeader parse_npy_header(const void* bytes, std::size_t size, const std::string& source);

/// The bytes of a version 1.0 header (2.0 when longer than 65535 bytes) for a C-order array,
/// padded so the data starts at a multiple of 64 bytes, as numpy writes it.
std::string format_npy_header(const std::string& descr, const std::vector<std::int64_t>& shape);

// ---- reading ----------------------------------------------------------------------------------

enum class FileFormat { Npy, Fvecs, Bvecs, Ivecs };
/// From the file name's extension (.npy, .fvecs, .bvecs, .ivecs). Throws Error(InvalidData).
FileFormat format_of(const std::string& path);

struct ReadOptions {
  /// Read '<u2' .npy data as bfloat16 bit patterns. Also implied for files named `*.bf16.npy`.
  bool u2_as_bf16 = false;
};

/// An array stored in a file, memory-mapped. Shape is (rows, cols) for 2-D arrays and
/// (rows) with cols() == 1 for 1-D ones; .fvecs / .bvecs / .ivecs are always 2-D.
/// Copies share the mapping; the file stays mapped until the last copy (and every view taken
/// from it) is gone.
class ArrayFile {
 public:
  /// Maps the file and checks its structure: header, sizes, the first row's dimension for the
  /// *vecs formats, and that the file holds a whole number of rows. Per-row dimension headers
  /// of the *vecs formats are checked whenever those rows are read.
  static ArrayFile open(const std::string& path, const ReadOptions& options = {});
  /// The same checks on `size` bytes already in memory (a file's whole contents), read in
  /// place: the bytes must outlive the ArrayFile and every view taken from it. `name` picks the
  /// format by its extension, as for open(), and names the data in messages.
  static ArrayFile open_memory(const void* bytes, std::size_t size, const std::string& name,
                               const ReadOptions& options = {});

  const std::string& path() const;
  FileFormat format() const;
  ElementType element_type() const;  ///< as stored (bfloat16 when read as bf16)
  /// The stored type in the file's own words, e.g. "'<f4'" or "float32 (.fvecs)".
  std::string stored_type() const;
  const std::vector<std::int64_t>& shape() const;
  std::int64_t rows() const;
  std::int64_t cols() const;

  /// True when rows can be viewed in place: a little-endian, C-order floating-point array
  /// whose data is aligned (every .npy numpy writes with <f2 <f4 <f8 or bf16, and .fvecs).
  bool viewable() const;
  /// Host view of rows [begin, end) inside the mapping, with no copy; only the pages of those
  /// rows are touched. Needs viewable(); keep this ArrayFile alive while the view is used.
  MatrixView view_rows(std::int64_t begin, std::int64_t end) const;
  /// Rows [begin, end) converted to `out_type` and written row-major (cols() values a row) to
  /// `out`: byte order and layout are fixed, narrower floating types are widened exactly, wider
  /// floating types are rounded to nearest, and integers (bool as 0 / 1) are converted exactly:
  /// an integer that `out_type` cannot hold exactly (beyond 2^53 for float64, 2^24 for float32)
  /// is Error(InvalidData) naming its row and column. Touches only those rows' bytes.
  void read_rows(std::int64_t begin, std::int64_t end, ElementType out_type, void* out) const;

  struct Impl;  ///< implementation detail (core/src/io/array_file_impl.hpp)

 private:
  explicit ArrayFile(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

class DataBatch;

/// A data matrix ready for clustering: a view into the mapped file when possible, otherwise a
/// converted copy (big-endian or Fortran order keep their floating type; bool, 8- and 16-bit
/// integers and uint8 .bvecs become float32; 32- and 64-bit integers become float64, each value
/// exactly). .ivecs files are refused: they hold ids, not points.
class DataMatrix {
 public:
  DataMatrix(DataMatrix&&) = default;
  DataMatrix& operator=(DataMatrix&&) = default;
  DataMatrix(const DataMatrix&) = delete;  // the view may point into owned memory
  DataMatrix& operator=(const DataMatrix&) = delete;
  MatrixView view() const { return view_; }
  const ArrayFile& file() const { return file_; }
  bool mapped() const { return owned_.empty(); }  ///< false when converted to a copy

 private:
  friend DataMatrix load_matrix(ArrayFile file);
  friend DataBatch load_batch(ArrayFile file);
  DataMatrix(ArrayFile file, MatrixView view, std::vector<std::uint8_t> owned);
  /// The file's rows (shape[0]) of cols() values each, any number of dimensions: the element
  /// type checked, then viewed in place or converted.
  static DataMatrix from_rows(ArrayFile file);
  ArrayFile file_;
  std::vector<std::uint8_t> owned_;
  MatrixView view_;
};

/// A 2-D numeric array (data, centroids): fp16, bf16, fp32, fp64, bool or integer .npy, .fvecs
/// or .bvecs, converted as DataMatrix says. Throws Error(InvalidData) for other dtypes and
/// other numbers of dimensions, and for zero rows or columns.
DataMatrix load_matrix(const std::string& path, const ReadOptions& options = {});
/// The same for a file already open (e.g. ArrayFile::open_memory).
DataMatrix load_matrix(ArrayFile file);

/// A (B, N, D) batch of B independent data matrices (fkm::fit_batched), held as DataMatrix holds
/// one: a view into the mapped file when possible, otherwise a converted copy (big-endian or
/// Fortran order keep their floating type).
class DataBatch {
 public:
  BatchedMatrixView view() const;
  const ArrayFile& file() const { return flat_.file(); }
  bool mapped() const { return flat_.mapped(); }  ///< false when converted to a copy

 private:
  friend DataBatch load_batch(ArrayFile file);
  DataBatch(DataMatrix flat, std::int64_t rows, std::int64_t cols);
  DataMatrix flat_;  ///< B rows of N x D values each
  std::int64_t rows_ = 0, cols_ = 0;
};

/// A 3-D .npy array (problems, rows, columns) of any element type load_matrix reads, in C or
/// Fortran order. Throws Error(InvalidData) for other dtypes and other numbers of dimensions (a
/// 2-D array or a *vecs file is one problem: load_matrix), and for zero problems, rows or columns.
DataBatch load_batch(const std::string& path, const ReadOptions& options = {});
/// The same for a file already open (e.g. ArrayFile::open_memory).
DataBatch load_batch(ArrayFile file);

/// A 1-D array of any type the reader reads (float, bool, integer; e.g. sample weights),
/// converted exactly to fp64 (an integer beyond 2^53 is refused).
std::vector<double> load_vector(const std::string& path);

/// A 1-D array of '<i4' values (labels).
std::vector<std::int32_t> load_labels(const std::string& path);

// ---- writing ----------------------------------------------------------------------------------

/// A file written under a temporary name in the destination's folder and renamed over the
/// destination by commit(). Destroying it uncommitted removes the temporary file.
class OutputFile {
 public:
  /// Creates the temporary file now, so an unwritable destination fails before any work.
  explicit OutputFile(std::string path);
  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  OutputFile(const OutputFile&) = delete;
  ~OutputFile();

  const std::string& path() const { return path_; }
  /// The absolute name of the file commit() replaces or creates: path() with its folder and an
  /// existing symlink resolved (so two spellings of one destination have the same target()).
  /// An existing destination must be a regular file: a device, FIFO or socket is refused.
  const std::string& target() const { return target_; }
  /// The temporary file's name (e.g. for a signal handler that removes it on Ctrl-C).
  const std::string& temp_path() const { return temp_path_; }
  void write(const void* bytes, std::size_t size);
  /// Flushes, closes and renames the temporary file over the destination.
  void commit();

 private:
  std::string path_, target_, temp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

/// The .npy bytes (header and data) of a C-order little-endian array of `type`.
void write_npy(OutputFile& out, ElementType type, const std::vector<std::int64_t>& shape, const void* data);

/// Writes an array as a .npy file atomically (see OutputFile).
void save_npy(const std::string& path, ElementType type, const std::vector<std::int64_t>& shape, const void* data);

/// Labels as a 1-D '<i4' .npy.
void save_labels(const std::string& path, const std::vector<std::int32_t>& labels);

/// k x d fp64 centroids as '<f4' (type F32, rounded to nearest) or '<f8' (type F64) .npy.
void save_centroids(const std::string& path, const std::vector<double>& centroids, std::int64_t k, std::int64_t d,
                    ElementType type);

}  // namespace fkm::io
