// libFuzzer entry point: see fuzz_checks.hpp for what is checked.
#include "fuzz_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fkm_fuzz::check_vecs_reader(data, size);
  return 0;
}
