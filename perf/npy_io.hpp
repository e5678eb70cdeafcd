// Minimal .npy reading and writing for the perf programs: 2-D little-endian float32 arrays in
// C order in, 1-D int32 arrays out. (The library's own .npy support belongs to core/io.)
#pragma once
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fkm_perf {

struct NpyMatrix {
  std::int64_t rows = 0, cols = 0;
  std::vector<float> values;
};

inline NpyMatrix read_npy_f32(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  char magic[6];
  unsigned char version[2];
  in.read(magic, 6);
  in.read(reinterpret_cast<char*>(version), 2);
  if (!in || std::string(magic, 6) != "\x93NUMPY") throw std::runtime_error(path + ": not a .npy file");
  std::uint32_t header_len = 0;
  if (version[0] == 1) {
    unsigned char b[2];
    in.read(reinterpret_cast<char*>(b), 2);
    header_len = b[0] | (b[1] << 8);
  } else {
    unsigned char b[4];
    in.read(reinterpret_cast<char*>(b), 4);
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (std::uint32_t(b[3]) << 24);
  }
  std::string header(header_len, ' ');
  in.read(&header[0], header_len);
  if (header.find("'<f4'") == std::string::npos) throw std::runtime_error(path + ": dtype must be <f4");
  if (header.find("'fortran_order': False") == std::string::npos) throw std::runtime_error(path + ": must be C order");
  const auto open = header.find('('), close = header.find(')');
  if (open == std::string::npos || close == std::string::npos) throw std::runtime_error(path + ": no shape");
  NpyMatrix m;
  if (std::sscanf(header.substr(open, close - open + 1).c_str(), "(%lld, %lld)", reinterpret_cast<long long*>(&m.rows),
                  reinterpret_cast<long long*>(&m.cols)) != 2)
    throw std::runtime_error(path + ": shape must be 2-D");
  m.values.resize(m.rows * m.cols);
  in.read(reinterpret_cast<char*>(m.values.data()), std::streamsize(m.values.size() * sizeof(float)));
  if (!in) throw std::runtime_error(path + ": truncated");
  return m;
}

inline void write_npy_i32(const std::string& path, const std::vector<std::int32_t>& v) {
  std::string header = "{'descr': '<i4', 'fortran_order': False, 'shape': (" + std::to_string(v.size()) + ",), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write("\x93NUMPY\x01\x00", 8);
    const unsigned char len[2] = {static_cast<unsigned char>(header.size() & 0xff),
                                  static_cast<unsigned char>(header.size() >> 8)};
    out.write(reinterpret_cast<const char*>(len), 2);
    out.write(header.data(), std::streamsize(header.size()));
    out.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(std::int32_t)));
    if (!out) throw std::runtime_error(tmp + ": write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error(path + ": rename failed");
}

}  // namespace fkm_perf
