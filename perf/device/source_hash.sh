#!/bin/bash
# Prints a short hash of the sources fkm's executables are built from (not docs/, not perf
# scripts or results), so that executables built elsewhere can be matched to a tree:
#   perf/device/source_hash.sh [SOURCE_ROOT]
set -euo pipefail
cd "${1:-$(dirname "$0")/../..}"
find CMakeLists.txt CMakePresets.json cmake core backends apps tests examples perf/CMakeLists.txt perf/fkm_bench.cu \
  perf/cpu_bench.cpp perf/npy_io.hpp -type f ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
