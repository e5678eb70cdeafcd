#!/bin/bash
# On the development machine (no GPU): builds the executables perf/device/kokkos-cuda.sh runs,
# from this tree, and packs them with the hash of their sources into
# .devsync/kokkos-cuda-extra/prebuilt.tar.xz, so that a device round spends its time running
# them instead of compiling (the round script checks the hash and builds itself on a mismatch).
#   KOKKOS_ROOT=<Kokkos-Cuda install> perf/device/kokkos-cuda-prebuild.sh
# Builds in /work/builds/kokkos-cuda-cuda under the shared build lock, -j2.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-/work/builds/kokkos-cuda-cuda}
EXTRA=${EXTRA:-/work/main/.devsync/kokkos-cuda-extra}
: "${KOKKOS_ROOT:?set KOKKOS_ROOT to the Kokkos-Cuda install}"
export CCACHE_BASEDIR=/work
cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFKM_ENABLE_CUDA=ON -DFKM_ENABLE_KOKKOS=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90a -DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc -DFKM_BUILD_TESTS=ON -DFKM_BUILD_APPS=ON \
  -DCMAKE_PREFIX_PATH="$SRC/../../deps/prefix;/work/main/.devsync/deps/prefix;$KOKKOS_ROOT" -DKokkos_ROOT="$KOKKOS_ROOT" \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache > /dev/null
# (test discovery after linking needs libcuda.so.1, absent here: its errors are not build errors)
flock /tmp/fkm_build.lock ninja -C "$BUILD" -j2 fkm_tests fkm_kokkos_tests fkm_thread_tests fkm_bench fkm_cli
BINS="tests/fkm_tests backends/kokkos/tests/fkm_kokkos_tests tests/fkm_thread_tests perf/fkm_bench apps/fkm/fkm"
bash "$SRC/perf/device/source_hash.sh" "$SRC" > "$BUILD/SOURCE_HASH"
echo "nvcc $(/usr/local/cuda/bin/nvcc --version | grep -o 'V[0-9.]*'), $(g++ --version | head -1), $(date -u +%FT%TZ)" > "$BUILD/BUILT_WITH"
tar -C "$BUILD" -cJf "$EXTRA/prebuilt.tar.xz" SOURCE_HASH BUILT_WITH $BINS
echo "packed $(cat "$BUILD/SOURCE_HASH"): $(du -h "$EXTRA/prebuilt.tar.xz" | cut -f1)"
