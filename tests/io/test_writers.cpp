// Writers: .npy files that read back bit for bit, written atomically (no output on error,
// an existing file untouched until the new one is complete).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include "fkm/io.hpp"
#include "io_support.hpp"

using fkm::ErrorCode;
using fkm::io::ElementType;
using namespace fkm_io_test;

TEST_CASE("writers: labels and centroids read back exactly") {
  ScratchDir dir;
  const std::vector<std::int32_t> labels{0, 5, 2, 2, 1 << 20};
  fkm::io::save_labels(dir.path("l.npy"), labels);
  CHECK(fkm::io::load_labels(dir.path("l.npy")) == labels);
  const auto header = fkm::io::parse_npy_header(read_bytes(dir.path("l.npy")).data(), 128, "l.npy");
  CHECK(header.descr == "<i4");

  const std::vector<double> c{0.1, -2.5, 1e30, 3.0, 1.0 / 3.0, -0.0};
  fkm::io::save_centroids(dir.path("c8.npy"), c, 2, 3, ElementType::F64);
  fkm::io::save_centroids(dir.path("c4.npy"), c, 2, 3, ElementType::F32);
  const auto c8 = fkm::io::load_matrix(dir.path("c8.npy"));
  const auto c4 = fkm::io::load_matrix(dir.path("c4.npy"));
  CHECK(c8.view().dtype == fkm::DType::F64);
  CHECK(c4.view().dtype == fkm::DType::F32);
  std::vector<double> back8(6), back4(6);
  c8.file().read_rows(0, 2, ElementType::F64, back8.data());
  c4.file().read_rows(0, 2, ElementType::F64, back4.data());
  CHECK(back8 == c);
  for (int i = 0; i < 6; ++i) CHECK(back4[i] == double(float(c[i])));
  check_error([&] { fkm::io::save_centroids(dir.path("bad.npy"), c, 4, 3, ElementType::F32); }, ErrorCode::InvalidArgument,
              {"bad.npy", "4 x 3"});
  CHECK_FALSE(exists(dir.path("bad.npy")));
}

TEST_CASE("writers: every element type and a large header round-trip") {
  ScratchDir dir;
  const std::vector<std::uint8_t> u8{1, 2, 3, 250};
  fkm::io::save_npy(dir.path("u.npy"), ElementType::U8, {2, 2}, u8.data());
  const auto f = fkm::io::ArrayFile::open(dir.path("u.npy"));
  CHECK(f.element_type() == ElementType::U8);
  std::vector<std::int32_t> wide(4);
  f.read_rows(0, 2, ElementType::I32, wide.data());
  CHECK(wide == std::vector<std::int32_t>{1, 2, 3, 250});
  // 40 dimensions of size 1 and a zero: a long header, still aligned, no data.
  std::vector<std::int64_t> shape(40, 1);
  shape.back() = 0;
  fkm::io::save_npy(dir.path("z.npy"), ElementType::F32, shape, nullptr);
  CHECK(fkm::io::ArrayFile::open(dir.path("z.npy")).shape() == shape);
}

TEST_CASE("writers: nothing appears before commit, and an existing file is untouched") {
  ScratchDir dir;
  write_bytes(dir.path("out.npy"), "old contents");
  {
    fkm::io::OutputFile out(dir.path("out.npy"));
    out.write("new", 3);
    CHECK(read_bytes(dir.path("out.npy")) == "old contents");
    CHECK(dir.entries().size() == 2);  // out.npy and the hidden temporary file
  }  // destroyed without commit
  CHECK(read_bytes(dir.path("out.npy")) == "old contents");
  CHECK(dir.entries() == std::vector<std::string>{"out.npy"});
  {
    fkm::io::OutputFile out(dir.path("out.npy"));
    out.write("new", 3);
    out.commit();
  }
  CHECK(read_bytes(dir.path("out.npy")) == "new");
  CHECK(dir.entries() == std::vector<std::string>{"out.npy"});

  fkm::io::OutputFile fresh(dir.path("fresh.npy"));
  fresh.commit();
  struct stat st;
  REQUIRE(::stat(dir.path("fresh.npy").c_str(), &st) == 0);
  const mode_t mask = ::umask(0);
  ::umask(mask);
  CHECK((st.st_mode & 0777) == (0666 & ~mask));  // as a plain open() would create it
}

TEST_CASE("writers: unwritable destinations fail before anything is written") {
  ScratchDir dir;
  check_error([&] { fkm::io::OutputFile out(dir.path("no/such/dir/x.npy")); }, ErrorCode::Io,
              {"no/such/dir/x.npy", "cannot write", "No such file"});
  check_error([&] { fkm::io::OutputFile out(dir.path("")); }, ErrorCode::Io, {"directory"});
  check_error([&] { fkm::io::save_labels(dir.path("."), {1}); }, ErrorCode::Io, {"directory"});
  CHECK(dir.entries().empty());
}

TEST_CASE("writers: a destination that is not a regular file is refused; a symlink is written through") {
  ScratchDir dir;
  // Renaming over a FIFO or a device (think of /dev/null, as root) would destroy it.
  REQUIRE(::mkfifo(dir.path("fifo").c_str(), 0600) == 0);
  check_error([&] { fkm::io::OutputFile out(dir.path("fifo")); }, ErrorCode::Io, {"fifo", "not a regular file"});
  struct stat st;
  REQUIRE(::stat(dir.path("fifo").c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  CHECK(dir.entries() == std::vector<std::string>{"fifo"});

  // Through a symlink the target is replaced and the link stays (e.g. /dev/stdout -> a file).
  write_bytes(dir.path("real.npy"), "old");
  REQUIRE(::symlink("real.npy", dir.path("link.npy").c_str()) == 0);
  {
    fkm::io::OutputFile out(dir.path("link.npy"));
    CHECK(out.target() == fkm::io::OutputFile(dir.path("real.npy")).target());
    out.write("new", 3);
    out.commit();
  }
  REQUIRE(::lstat(dir.path("link.npy").c_str(), &st) == 0);
  CHECK(S_ISLNK(st.st_mode));
  CHECK(read_bytes(dir.path("real.npy")) == "new");
  // Spellings of one destination have one target(), absolute.
  const fkm::io::OutputFile a(dir.path("x.npy")), b(dir.path(".") + "/x.npy"), c(dir.path("") + "/x.npy");
  CHECK(a.target() == b.target());
  CHECK(a.target() == c.target());
  CHECK(a.target().front() == '/');
}