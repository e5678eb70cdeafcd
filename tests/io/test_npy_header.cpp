// The .npy header parser: what numpy writes parses, every malformed header is an Error(Io)
// naming the file and the field, and no input makes it crash.
#include <catch2/catch.hpp>

#include <random>

#include "fkm/io.hpp"
#include "io_support.hpp"

using fkm::ErrorCode;
using fkm::io::parse_npy_header;
using namespace fkm_io_test;

namespace {
fkm::io::NpyHeader parse(const std::string& bytes) { return parse_npy_header(bytes.data(), bytes.size(), "h.npy"); }
void check_bad(const std::string& bytes, const std::vector<std::string>& needles) {
  std::vector<std::string> all = needles;
  all.push_back("h.npy");
  check_error([&] { parse(bytes); }, ErrorCode::Io, all);
}
}  // namespace

TEST_CASE("npy header: numpy's own headers parse, versions 1, 2 and 3") {
  for (int major : {1, 2, 3}) {
    const auto h = parse(npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", "", major));
    CHECK(h.major_version == major);
    CHECK(h.descr == "<f4");
    CHECK(h.byte_order == '<');
    CHECK(h.kind == 'f');
    CHECK(h.item_size == 4);
    CHECK_FALSE(h.fortran_order);
    CHECK(h.shape == std::vector<std::int64_t>{3, 4});
    CHECK(h.data_offset % 64 == 0);
    CHECK(h.element_count() == 12);
  }
}

TEST_CASE("npy header: accepted literal variants") {
  CHECK(parse(npy_raw("{\"descr\":\">f8\",\"shape\":(7,),\"fortran_order\":True}", "")).shape == std::vector<std::int64_t>{7});
  CHECK(parse(npy_raw("{'descr': '<i4', 'fortran_order': False, 'shape': (), }", "")).shape.empty());
  CHECK(parse(npy_raw("{'descr': '<f2', 'fortran_order': False, 'shape': (2L, 3L), }", "")).shape ==
        std::vector<std::int64_t>{2, 3});
  CHECK(parse(npy_raw("{'descr': '|u1', 'fortran_order': False, 'shape': ( 0 , 5 , ) }", "")).shape ==
        std::vector<std::int64_t>{0, 5});
  const auto be = parse(npy_raw("{'descr': '>f8', 'fortran_order': True, 'shape': (2, 2)}", ""));
  CHECK(be.byte_order == '>');
  CHECK(be.fortran_order);
}

TEST_CASE("npy header: format_npy_header is 64-byte aligned and parses back") {
  for (const auto& shape : std::vector<std::vector<std::int64_t>>{{5}, {3, 4}, {0, 7}, {2, 3, 4}}) {
    const std::string h = fkm::io::format_npy_header("<f8", shape);
    CHECK(h.size() % 64 == 0);
    CHECK(h.back() == '\n');
    const auto p = parse(h);
    CHECK(p.shape == shape);
    CHECK(p.descr == "<f8");
    CHECK(p.data_offset == h.size());
  }
}

TEST_CASE("npy header: malformed prefixes name the problem") {
  const std::string good = npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", "");
  check_bad("", {"empty file"});
  check_bad("\x93NUM", {"truncated"});
  check_bad(good.substr(0, 7), {"truncated"});
  check_bad(good.substr(0, 9), {"truncated", "1.0 prefix"});
  check_bad("PK\x03\x04 not numpy at all", {"wrong magic"});
  std::string v = good;
  v[6] = 4;
  check_bad(v, {"'version'", "4.0"});
  v = good;
  v[7] = 1;
  check_bad(v, {"'version'", "1.1"});
  check_bad(good.substr(0, 40), {"'header_len'", "beyond the end of the file"});
}

TEST_CASE("npy header: malformed dicts name the field") {
  auto bad = [](const std::string& dict, const std::vector<std::string>& needles) { check_bad(npy_raw(dict, ""), needles); };
  bad("{'descr': '<f4', 'fortran_order': False}", {"'shape'", "missing"});
  bad("{'fortran_order': False, 'shape': (1,)}", {"'descr'", "missing"});
  bad("{'descr': '<f4', 'shape': (1,)}", {"'fortran_order'", "missing"});
  bad("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", {"'descr'", "twice"});
  bad("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", {"unexpected key 'extra'"});
  bad("{'descr': '<f4', 'fortran_order': false, 'shape': (1,)}", {"'fortran_order'", "True or False"});
  bad("{'descr': '<f4', 'fortran_order': False, 'shape': [3, 4]}", {"'shape'", "tuple"});
  bad("{'descr': '<f4', 'fortran_order': False, 'shape': (3)}", {"'shape'", "(n,)"});
  bad("{'descr': '<f4', 'fortran_order': False, 'shape': (-3, 4)}", {"'shape'", "non-negative integer"});
  bad("{'descr': '<f4', 'fortran_order': False, 'shape': (03, 4)}", {"'shape'", "leading zero"});
  bad("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", {"'shape'", "64 bits"});
  bad("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", {"'shape'", "2^59"});
  bad("{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", {"'fortran_order'"});
  bad("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} junk", {"after the dict"});
  bad("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", {"'descr'", "structured"});
  bad("{'descr': 'f4', 'fortran_order': False, 'shape': (1,)}", {"'descr'", "byte-order"});
  bad("{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", {"expected ',' or '}'"});
  bad("'descr': '<f4'", {"expected '{'"});
  bad("{'descr': '<f4', 'fortran_order': False, 'shape': (1,", {"'shape'"});
}

TEST_CASE("npy header: truncations and byte flips never crash") {
  // A small fuzz pass (the libFuzzer target of the hardening work goes much further):
  // every prefix and many random corruptions either parse or throw fkm::Error.
  const std::string good = npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", std::string(48, '\0'));
  auto survives = [](const std::string& bytes) {
    try {
      parse_npy_header(bytes.data(), bytes.size(), "f.npy");
    } catch (const fkm::Error&) {
    }
  };
  for (std::size_t n = 0; n <= good.size(); ++n) survives(good.substr(0, n));
  std::mt19937 gen(7);
  for (int t = 0; t < 3000; ++t) {
    std::string s = good;
    const int flips = 1 + int(gen() % 4);
    for (int f = 0; f < flips; ++f) s[gen() % 80] = char(gen() & 0xff);
    survives(s.substr(0, gen() % (s.size() + 1)));
  }
  SUCCEED("no crash");
}
