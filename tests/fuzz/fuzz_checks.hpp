// What each fuzz target does with one input, shared by the libFuzzer targets (fuzz_*.cpp) and
// by the Catch2 test that replays the seed corpus and every saved crash (tests/io/
// test_fuzz_regressions.cpp), so a crash found once is tested on every CI run, sanitized or not.
//
// Contract checked: on any bytes the readers either succeed with a consistent result or throw
// fkm::Error; they never read outside the input, never crash, never throw anything else.
// Sanitizers catch the memory errors; the checks below catch wrong-but-quiet results.
#pragma once
#include <cstddef>
#include <cstdint>

namespace fkm_fuzz {

/// parse_npy_header on the bytes.
void check_npy_header(const std::uint8_t* data, std::size_t size);
/// The bytes as a whole .npy file: open, load_matrix, read_rows (as stored and converted).
void check_npy_reader(const std::uint8_t* data, std::size_t size);
/// data[0] picks .fvecs / .bvecs / .ivecs; the remaining bytes are the file.
void check_vecs_reader(const std::uint8_t* data, std::size_t size);

}  // namespace fkm_fuzz
