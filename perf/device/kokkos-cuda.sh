#!/bin/bash
# One device round for the Kokkos backend on Kokkos-Cuda (issue 7): build fkm with the CUDA and
# Kokkos backends against a Kokkos 4 built with its CUDA backend for Hopper, run the behaviour
# suite and the Kokkos tests with the Kokkos backend on the GPU, then time the perf suite's
# n1m_k1024 and n8m_k1024 (fp16, D = 128) with the Kokkos backend (both of its GPU assignment
# schedules) beside the CUDA backend.
#   OUT=... BUDGET_S=... FKM_DEVSYNC=... perf/device/kokkos-cuda.sh [steps...]
# steps: build test perf (default: all, in that order).
# Inputs (git-ignored, carried in $FKM_DEVSYNC):
#   deps/prefix                      Catch2, CLI11, nlohmann_json (perf/make_device_deps.sh)
#   kokkos-cuda-extra/kokkos-4.6.01-cuda-hopper.tar.xz   Kokkos 4.6.01 (cmake/kokkos-4.6.01-cuda13.patch
#       applied) installed with Kokkos_ENABLE_CUDA, Kokkos_ARCH_HOPPER90,
#       Kokkos_ENABLE_COMPILE_AS_CMAKE_LANGUAGE (built with nvcc 13.0 on the development machine;
#       docs/backends.md has the recipe); relocatable, unpacked to /tmp
#   kokkos-cuda-extra/kokkos-4.6.01-cuda13-src.tar.gz   the same patched source: built here (-j16)
#       only if the carried install cannot be used (KOKKOS_FROM_SOURCE=1 forces it)
#   kokkos-cuda-extra/prebuilt.tar.xz   optional: the test and bench executables built on the
#       development machine (nvcc 13.0, sm_90a) from this very tree. Used, to save device time,
#       only when its SOURCE_HASH equals the hash of this tree's sources and they start here;
#       otherwise (or with PREBUILT=0) everything is built here.
# Everything runs under one deadline (BUDGET_S, default 570 s); each step gets at most what is left.
# Writes to $OUT: summary.txt build.log tests.log perf.log bench.jsonl ratio.txt ratio.json rates.json
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-/tmp/kokkos-cuda-out}
DEVSYNC=${FKM_DEVSYNC:-$SRC/.devsync}
BUILD=${BUILD:-/tmp/kokkos-cuda-build}
DEPS=$DEVSYNC/deps/prefix
EXTRA=$DEVSYNC/kokkos-cuda-extra
KOKKOS=/tmp/kokkos-cuda-kokkos-carried
NVCC=/usr/local/cuda/bin/nvcc
mkdir -p "$OUT"
START=$(date +%s)
BUDGET=${BUDGET_S:-570}
steps=" ${*:-build test perf} "
status=0

. "$(dirname "$0")/deadline.sh"  # log, left, limit, has, enough, run
# Seconds kept for the perf step while the tests run (a short budget still times the configs).
RESERVE=0
[[ "$steps" == *" perf "* ]] && [ "$BUDGET" -lt 200 ] && RESERVE=${PERF_RESERVE:-25}
# test_limit WANT: like limit, less the perf reserve (>= 5)
test_limit() {
  local l=$(( $(left) - RESERVE ))
  [ "$1" -lt "$l" ] && l=$1
  [ "$l" -lt 5 ] && l=5
  echo "$l"
}

build_kokkos_from_source() {
  local ksrc=/tmp/kokkos-cuda-kokkos-src kbuild=/tmp/kokkos-cuda-kokkos-build
  rm -rf "$ksrc" "$kbuild" && mkdir -p "$ksrc"
  tar -C "$ksrc" -xzf "$EXTRA/kokkos-4.6.01-cuda13-src.tar.gz" || return 1
  KOKKOS=/tmp/kokkos-cuda-kokkos-install
  run "kokkos configure (from source)" "$OUT/build.log" 90 cmake -S "$ksrc/kokkos" -B "$kbuild" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$KOKKOS" -DCMAKE_CXX_COMPILER=g++ -DCMAKE_CUDA_COMPILER="$NVCC" \
    -DKokkos_ENABLE_CUDA=ON -DKokkos_ENABLE_SERIAL=ON -DKokkos_ARCH_HOPPER90=ON \
    -DKokkos_ENABLE_COMPILE_AS_CMAKE_LANGUAGE=ON -DKokkos_ENABLE_TESTS=OFF -DKokkos_ENABLE_EXAMPLES=OFF \
    -DCMAKE_CXX_STANDARD=17 -DBUILD_SHARED_LIBS=OFF || return 1
  run "kokkos build+install (from source)" "$OUT/build.log" 240 cmake --build "$kbuild" --target install -j16 || return 1
}

configure_fkm() {
  rm -rf "$BUILD"
  run "configure fkm (cuda + kokkos, Kokkos at $KOKKOS)" "$OUT/build.log" 120 cmake -S "$SRC" -B "$BUILD" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DFKM_ENABLE_CUDA=ON -DFKM_ENABLE_KOKKOS=ON -DCMAKE_CUDA_ARCHITECTURES=90a \
    -DCMAKE_CUDA_COMPILER="$NVCC" -DFKM_BUILD_TESTS=ON -DFKM_BUILD_APPS=ON \
    -DCMAKE_PREFIX_PATH="$DEPS;$KOKKOS" -DKokkos_ROOT="$KOKKOS"
}

# The hash of what the executables are built from (perf/device/source_hash.sh; also run when
# prebuilt.tar.xz is made).
HASH=$(bash "$SRC/perf/device/source_hash.sh" "$SRC")
TARGETS="fkm_tests fkm_kokkos_tests fkm_thread_tests fkm_bench fkm_cli"
BINS="tests/fkm_tests backends/kokkos/tests/fkm_kokkos_tests tests/fkm_thread_tests perf/fkm_bench apps/fkm/fkm"
use_prebuilt() {
  [ "${PREBUILT:-1}" = 1 ] && [ -f "$EXTRA/prebuilt.tar.xz" ] || return 1
  rm -rf "$BUILD" && mkdir -p "$BUILD" && tar -C "$BUILD" -xJf "$EXTRA/prebuilt.tar.xz" || return 1
  local want
  want=$(cat "$BUILD/SOURCE_HASH" 2>/dev/null)
  if [ "$want" != "$HASH" ]; then
    log "prebuilt executables are of sources $want, this tree is $HASH: building here"
    return 1
  fi
  for b in $BINS; do [ -x "$BUILD/$b" ] || return 1; done
  if ! timeout 30 "$BUILD/apps/fkm/fkm" info > /dev/null 2>> "$OUT/build.log"; then
    log "prebuilt executables do not start here: building here"
    return 1
  fi
  log "prebuilt executables (sources $HASH, $(cat "$BUILD/BUILT_WITH" 2>/dev/null)) start here: using them"
}

if has build; then
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader | tee -a "$OUT/summary.txt"
  log "sources $HASH, budget ${BUDGET}s"
fi
if has build && ! use_prebuilt; then
  rm -rf "$KOKKOS" && mkdir -p "$KOKKOS" && tar -C "$KOKKOS" -xJf "$EXTRA/kokkos-4.6.01-cuda-hopper.tar.xz" 2>> "$OUT/build.log"
  if [ "${KOKKOS_FROM_SOURCE:-0}" = 1 ] || [ ! -f "$KOKKOS/lib/cmake/Kokkos/KokkosConfig.cmake" ]; then
    log "Kokkos from source (carried install absent or KOKKOS_FROM_SOURCE=1)"
    build_kokkos_from_source || { tail -40 "$OUT/build.log"; exit 1; }
  fi
  if ! configure_fkm; then
    log "configure failed with $KOKKOS: building Kokkos here from the carried source"
    build_kokkos_from_source && configure_fkm || { tail -40 "$OUT/build.log"; exit 1; }
  fi
  if ! run "build ($TARGETS)" "$OUT/build.log" 420 ninja -C "$BUILD" -j"${JOBS:-16}" $TARGETS; then
    if grep -qE "libkokkos|GLIBCXX|undefined reference.*Kokkos" "$OUT/build.log" && [ "$KOKKOS" = /tmp/kokkos-cuda-kokkos-carried ]; then
      log "link against the carried Kokkos failed: building Kokkos here from the carried source"
      build_kokkos_from_source && configure_fkm &&
        run "build again ($TARGETS)" "$OUT/build.log" 420 ninja -C "$BUILD" -j"${JOBS:-16}" $TARGETS || { tail -40 "$OUT/build.log"; exit 1; }
    else
      grep -E "error|Error" "$OUT/build.log" | head -30 | tee -a "$OUT/summary.txt"
      exit 1
    fi
  fi
fi

if has test; then
  T="$OUT/tests.log"
  run "fkm info" "$T" 30 "$BUILD/apps/fkm/fkm" info
  grep -iE "kokkos|cuda" "$T" | grep -v '^#####' | head -8 | tee -a "$OUT/summary.txt"
  # The Kokkos-specific checks (every dtype, metric, strided rows, K = 1, K = N, determinism...)
  run "fkm_kokkos_tests (Kokkos vs reference, on Kokkos-Cuda)" "$T" "$(test_limit 200)" "$BUILD/backends/kokkos/tests/fkm_kokkos_tests" || status=1
  grep -E "test cases|assertions" "$T" | tail -2 | tee -a "$OUT/summary.txt"
  # The shared behaviour suite with the Kokkos backend only (the reference is always the oracle)
  FKM_TEST_BACKENDS=kokkos run "fkm_tests (behaviour suite, FKM_TEST_BACKENDS=kokkos)" "$T" "$(test_limit 300)" "$BUILD/tests/fkm_tests" || status=1
  grep -E "test cases|assertions" "$T" | tail -2 | tee -a "$OUT/summary.txt"
  FKM_TEST_BACKENDS=kokkos run "fkm_thread_tests (concurrency, kokkos)" "$T" "$(test_limit 90)" "$BUILD/tests/fkm_thread_tests" || status=1
  grep -E "test cases|assertions" "$T" | tail -2 | tee -a "$OUT/summary.txt"
  grep -E "FAILED|failed|REQUIRE|CHECK\(" "$T" | head -30 >> "$OUT/summary.txt"
fi

if has perf; then
  P="$OUT/perf.log"
  export PYTHONPATH="$DEVSYNC/peers${PYTHONPATH:+:$PYTHONPATH}"
  # Rates measured by an earlier round on this device kind may be carried ($EXTRA/rates.json) to
  # save device time; the summary says which.
  if [ -s "$EXTRA/rates.json" ]; then
    cp "$EXTRA/rates.json" "$OUT/rates.json"
    log "rates carried from an earlier round: $(cat "$OUT/rates.json")"
  else
    timeout "$(limit 90)" python3 "$SRC/perf/gpu_rates.py" > "$OUT/rates.json" 2>> "$P"
  fi
  if [ -s "$OUT/rates.json" ]; then
    F16=$(python3 -c "import json;print(json.load(open('$OUT/rates.json'))['f16_tflops'])")
    F32=$(python3 -c "import json;print(json.load(open('$OUT/rates.json'))['f32_tflops'])")
    BW=$(python3 -c "import json;print(json.load(open('$OUT/rates.json'))['copy_gbps'])")
    log "rates: fp16 tensor $F16 TFLOP/s, fp32 $F32 TFLOP/s, copy $BW GB/s"
  else  # nominal H200 SXM figures, said so in the summary
    F16=989 F32=67 BW=4800
    echo '{"f16_tflops": 989, "f32_tflops": 67, "copy_gbps": 4800, "source": "nominal H200 SXM datasheet (torch not available)"}' > "$OUT/rates.json"
    log "rates: torch unavailable, nominal H200 SXM datasheet figures: fp16 tensor $F16, fp32 $F32 TFLOP/s, $BW GB/s"
  fi
  : > "$OUT/bench.jsonl"
  # name N: the perf suite's configs (perf/peers.py): D = 128, K = 1024, fp16 data on the device.
  # The CUDA backend's floor uses the fp16 tensor rate; the Kokkos kernel is fp32 SIMT (FMA):
  # its floor uses the fp32 rate. Both: N*D*2 bytes / bandwidth as the memory floor.
  # kokkos/scratch (with SCRATCH_TOO=1): the Kokkos backend's other GPU schedule (FKM_KOKKOS_ASSIGN=scratch).
  for cfg in "n1m_k1024 1048576" "n8m_k1024 8388608"; do
    set -- $cfg
    for be in cuda kokkos ${SCRATCH_TOO:+kokkos/scratch}; do
      rate=$F16 name=$1 schedule=
      [ "$be" != cuda ] && rate=$F32
      [ "$be" = kokkos/scratch ] && name="$1/scratch" schedule=scratch
      FKM_KOKKOS_ASSIGN=$schedule run "bench $name ${be%%/*}" "$P" 150 "$BUILD/perf/fkm_bench" --backend "${be%%/*}" \
        --name "$name" --n "$2" --d 128 --k 1024 --dtype f16 --iters "${ITERS:-10}" --warmup 3 --matrix-tflops "$rate" \
        --hbm-gbps "$BW" || status=1
      grep '^{' "$P" | tail -1 >> "$OUT/bench.jsonl"
      tail -1 "$OUT/bench.jsonl" | python3 -c "import json,sys; r=json.load(sys.stdin); print('   %s %s: %.3f ms/iter (assign %.3f), floor %.3f' % (r['name'], r['backend'], r['ms_per_iter'], r['ms_assign'], r['floor_ms']))" | tee -a "$OUT/summary.txt"
    done
  done
  sort -u "$OUT/bench.jsonl" -o "$OUT/bench.jsonl"
  python3 "$SRC/perf/backend_ratio.py" "$OUT/bench.jsonl" --json "$OUT/ratio.json" | tee "$OUT/ratio.txt" | tee -a "$OUT/summary.txt"
fi

log "done in $(( $(date +%s) - START ))s, status $status"
exit $status
