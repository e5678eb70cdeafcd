// The .npy header: a strict parser (a pure function over bytes, so it can be fuzzed on its own)
// and the formatter the writers use.
//
// Layout: "\x93NUMPY", major, minor, header length (uint16 LE for 1.0, uint32 LE for 2.0 and
// 3.0), then a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// padded with spaces and ending in '\n'. We accept exactly the literal syntax numpy writes and
// reads back (strings, True/False, tuples of non-negative integers), nothing Python-general.
#include <cctype>
#include <cstring>
#include <limits>
#include <string>

#include "fkm/error.hpp"
#include "fkm/io.hpp"

namespace fkm::io {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;
constexpr std::size_t kMaxDims = 64;  // numpy 2 allows 64 dimensions

/// A few bytes of `s` from `pos`, printable, for error messages.
std::string excerpt(const std::string& s, std::size_t pos) {
  std::string out;
  for (std::size_t i = pos; i < s.size() && i < pos + 24; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\n') break;
    if (c >= 0x20 && c < 0x7f) {
      out += char(c);
    } else {
      static const char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out.empty() ? std::string("end of header") : "'" + out + "'";
}

/// Recursive-descent reader of the header dict. Every error names the source and the field.
class DictParser {
 public:
  DictParser(std::string text, const std::string& source) : s_(std::move(text)), source_(source) {}

  void parse(NpyHeader& h) {
    bool have_descr = false, have_fortran = false, have_shape = false;
    skip_ws();
    expect('{', "the header dict", "'{'");
    for (;;) {
      skip_ws();
      if (peek() == '}') break;
      const std::string key = parse_string("the header dict", "a quoted key");
      skip_ws();
      expect(':', "key '" + key + "'", "':'");
      skip_ws();
      if (key == "descr") {
        if (have_descr) fail("field 'descr'", "appears twice");
        if (peek() == '[') fail("field 'descr'", "is a structured (record) dtype; fkm reads plain numeric arrays");
        h.descr = parse_string("field 'descr'", "a quoted dtype string such as '<f4'");
        have_descr = true;
      } else if (key == "fortran_order") {
        if (have_fortran) fail("field 'fortran_order'", "appears twice");
        h.fortran_order = parse_bool("field 'fortran_order'");
        have_fortran = true;
      } else if (key == "shape") {
        if (have_shape) fail("field 'shape'", "appears twice");
        h.shape = parse_shape();
        have_shape = true;
      } else {
        fail("the header dict", "has the unexpected key '" + key + "' (expected 'descr', 'fortran_order', 'shape')");
      }
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') break;
      fail("the header dict", "expected ',' or '}' but found " + excerpt(s_, pos_));
    }
    ++pos_;  // '}'
    skip_ws();
    if (pos_ != s_.size()) fail("the header", "has unexpected text after the dict: " + excerpt(s_, pos_));
    if (!have_descr) fail("field 'descr'", "is missing");
    if (!have_fortran) fail("field 'fortran_order'", "is missing");
    if (!have_shape) fail("field 'shape'", "is missing");
  }

 private:
  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw Error(ErrorCode::Io, source_ + ": .npy header " + field + " " + what);
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  void expect(char c, const std::string& field, const char* wanted) {
    if (peek() != c || pos_ >= s_.size()) fail(field, std::string("expected ") + wanted + " but found " + excerpt(s_, pos_));
    ++pos_;
  }
  std::string parse_string(const std::string& field, const char* wanted) {
    const char quote = peek();
    if (pos_ >= s_.size() || (quote != '\'' && quote != '"'))
      fail(field, std::string("expected ") + wanted + " but found " + excerpt(s_, pos_));
    const std::size_t start = ++pos_;
    while (pos_ < s_.size() && s_[pos_] != quote) {
      if (s_[pos_] == '\\') fail(field, "has an escape sequence, which no numeric dtype needs");
      if (s_[pos_] == '\n') break;
      ++pos_;
    }
    if (pos_ >= s_.size() || s_[pos_] != quote) fail(field, "has an unterminated string");
    return s_.substr(start, pos_++ - start);
  }
  bool parse_bool(const std::string& field) {
    if (s_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (s_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail(field, "expected True or False but found " + excerpt(s_, pos_));
  }
  std::int64_t parse_dim() {
    const std::size_t start = pos_;
    std::int64_t v = 0;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
      const int digit = s_[pos_] - '0';
      if (v > (std::numeric_limits<std::int64_t>::max() - digit) / 10) fail("field 'shape'", "has a dimension too large for 64 bits");
      v = v * 10 + digit;
      ++pos_;
    }
    if (pos_ == start) fail("field 'shape'", "expected a non-negative integer but found " + excerpt(s_, start));
    if (pos_ - start > 1 && s_[start] == '0') fail("field 'shape'", "has a dimension with a leading zero: " + excerpt(s_, start));
    if (peek() == 'L') ++pos_;  // Python 2 long literal, found in files numpy wrote under Python 2
    return v;
  }
  std::vector<std::int64_t> parse_shape() {
    expect('(', "field 'shape'", "a tuple such as (10, 4)");
    std::vector<std::int64_t> shape;
    bool trailing_comma = false;
    for (;;) {
      skip_ws();
      if (peek() == ')') break;
      if (shape.size() == kMaxDims) fail("field 'shape'", "has more than " + std::to_string(kMaxDims) + " dimensions");
      shape.push_back(parse_dim());
      trailing_comma = false;
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        trailing_comma = true;
        continue;
      }
      if (peek() != ')') fail("field 'shape'", "expected ',' or ')' but found " + excerpt(s_, pos_));
    }
    ++pos_;
    // (3) is the integer 3 in Python, not a tuple: numpy writes (3,).
    if (shape.size() == 1 && !trailing_comma) fail("field 'shape'", "is '(n)', which is not a tuple; a 1-D shape is written '(n,)'");
    return shape;
  }

  std::string s_;
  const std::string& source_;
  std::size_t pos_ = 0;
};

/// Splits descr ("<f4") into byte order, kind and item size; leaves item_size 0 when the
/// descr is not of that simple form (e.g. datetime '<M8[ns]'), which readers then refuse.
void decode_descr(NpyHeader& h, const std::string& source) {
  const std::string& d = h.descr;
  if (d.size() < 2 || std::strchr("<>|=", d[0]) == nullptr)
    throw Error(ErrorCode::Io, source + ": .npy header field 'descr' '" + d +
                                   "' does not start with a byte-order character ('<', '>' or '|')");
  h.byte_order = d[0];
  h.kind = d[1];
  int size = 0;
  std::size_t i = 2;
  for (; i < d.size() && std::isdigit(static_cast<unsigned char>(d[i])) && size < 1000000; ++i) size = size * 10 + (d[i] - '0');
  h.item_size = (i == d.size()) ? size : 0;
}

}  // namespace

std::int64_t NpyHeader::element_count() const {
  std::int64_t n = 1;
  for (std::int64_t s : shape) n *= s;  // parse_npy_header bounds the product
  return n;
}

NpyHeader parse_npy_header(const void* data, std::size_t size, const std::string& source) {
  const auto* b = static_cast<const unsigned char*>(data);
  if (size == 0) throw Error(ErrorCode::Io, source + ": empty file (0 bytes), not a .npy file");
  if (std::memcmp(b, kMagic, size < kMagicSize ? size : kMagicSize) != 0) {
    // Say what the file is when it is one of the usual mix-ups.
    std::string what;
    if (size >= 2 && b[0] == 0x1f && b[1] == 0x8b) what = ": it is gzip-compressed (gunzip it first)";
    if (size >= 4 && std::memcmp(b, "PK\x03\x04", 4) == 0)
      what = ": it is a zip archive (a .npz file?); save the one array with numpy.save(name, numpy.load(file)[key])";
    if (size >= 2 && b[0] == 0x80 && b[1] >= 2 && b[1] <= 5) what = ": it looks like a Python pickle; save the array with numpy.save";
    throw Error(ErrorCode::Io, source + ": not a .npy file: wrong magic string (a .npy file starts with \\x93NUMPY)" + what);
  }
  if (size < 8)
    throw Error(ErrorCode::Io, source + ": truncated .npy header: the file has " + std::to_string(size) +
                                   " bytes, the magic string and version need 8");
  NpyHeader h;
  h.major_version = b[6];
  h.minor_version = b[7];
  if (h.major_version < 1 || h.major_version > 3 || h.minor_version != 0)
    throw Error(ErrorCode::Io, source + ": .npy header field 'version' is " + std::to_string(h.major_version) + "." +
                                   std::to_string(h.minor_version) + "; fkm reads versions 1.0, 2.0 and 3.0");
  const std::size_t prefix = h.major_version == 1 ? 10 : 12;
  if (size < prefix)
    throw Error(ErrorCode::Io, source + ": truncated .npy header: the file has " + std::to_string(size) +
                                   " bytes, the version " + std::to_string(h.major_version) + ".0 prefix needs " +
                                   std::to_string(prefix));
  std::uint64_t header_len = std::uint64_t(b[8]) | std::uint64_t(b[9]) << 8;
  if (h.major_version > 1) header_len |= std::uint64_t(b[10]) << 16 | std::uint64_t(b[11]) << 24;
  if (header_len > size - prefix)
    throw Error(ErrorCode::Io, source + ": .npy header field 'header_len' (" + std::to_string(header_len) +
                                   " bytes) goes beyond the end of the file (" + std::to_string(size) + " bytes)");
  h.data_offset = prefix + std::size_t(header_len);

  DictParser(std::string(reinterpret_cast<const char*>(b + prefix), std::size_t(header_len)), source).parse(h);
  decode_descr(h, source);
  // Bound the product of the non-zero dimensions, so that every product of dimensions and
  // every byte size fkm computes from them fits in 64 bits, even for an empty array: a reader
  // computes the columns of (0, 2^32, 2^32) as 2^32 x 2^32 (a fuzzer finding).
  std::int64_t count = 1;
  for (std::int64_t s : h.shape) {
    if (s == 0) continue;
    if (count > (std::int64_t(1) << 59) / s)
      throw Error(ErrorCode::Io, source + ": .npy header field 'shape' describes more than 2^59 elements "
                                     "(counting its non-zero dimensions)");
    count *= s;
  }
  return h;
}

std::string format_npy_header(const std::string& descr, const std::vector<std::int64_t>& shape) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i) dict += (i ? ", " : "") + std::to_string(shape[i]);
  dict += shape.size() == 1 ? ",), }" : "), }";
  for (std::size_t prefix : {std::size_t(10), std::size_t(12)}) {
    const std::size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;  // +1 for the '\n'
    const std::size_t header_len = total - prefix;
    if (prefix == 10 && header_len > 0xffff) continue;  // needs version 2.0
    std::string out(kMagic, kMagicSize);
    out += char(prefix == 10 ? 1 : 2);
    out += char(0);
    for (std::size_t i = 0; i < prefix - 8; ++i) out += char((header_len >> (8 * i)) & 0xff);
    out += dict;
    out.append(total - out.size() - 1, ' ');
    out += '\n';
    return out;
  }
  return {};  // unreachable: version 2.0 fits any header we format
}

}  // namespace fkm::io
