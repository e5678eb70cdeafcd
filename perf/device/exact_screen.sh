#!/bin/bash
# One device call for the CUDA assignment path (precision = exact by the screen, extreme
# magnitudes): build, correctness, sanitizer, per-phase timing, the perf suite beside
# flash-kmeans. Run from the source root on the GPU machine:
#   perf/device/exact_screen.sh [steps...]
# steps: build test sanitize perf timing racecheck (default: all but racecheck, in that order).
# PERF_ONLY=name,... limits the perf suite to some configs (perf/peers.py --only).
# Carried inputs (git-ignored): .devsync/deps/prefix (perf/make_device_deps.sh: Catch2, CLI11,
# json for the tests) and .devsync/peers (the flash_kmeans package). Builds into
# /tmp/fkm_build_assign (BUILD=...; sm_90a only). Everything runs under one deadline (BUDGET_S,
# default 570 s, under the device tool's 600 s a command): each step gets at most what is left,
# correctness first (peers.py writes its JSON after every config, so a cut run keeps its rows;
# the summary's table shows which configs ran).
# Writes to $OUT (7 files): summary.txt build.log tests.log sanitize.log timing.log perf.log
# peers.json. Exit status 1 when a build, test or sanitizer step failed.
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-/tmp/fkm_out}
BUILD=${BUILD:-/tmp/fkm_build_assign}
DEPS=$SRC/.devsync/deps/prefix
PEERS=$SRC/.devsync/peers
mkdir -p "$OUT"
START=$(date +%s)
BUDGET=${BUDGET_S:-570}
steps=" ${*:-build test sanitize perf timing} "
status=0

. "$(dirname "$0")/deadline.sh"  # log, left, limit, has, enough, run

SANITIZER=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
NVCC=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)

if has build; then
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader | tee -a "$OUT/summary.txt"
  tests=OFF
  [ -d "$DEPS" ] && tests=ON
  [ "$tests" = OFF ] && log "no $DEPS: behaviour tests not built (perf/make_device_deps.sh makes it)"
  run "configure" "$OUT/build.log" 120 cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DFKM_ENABLE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a -DCMAKE_CUDA_COMPILER="$NVCC" -DFKM_BUILD_TESTS=$tests \
    -DFKM_BUILD_APPS=ON -DCMAKE_PREFIX_PATH="$DEPS" || { tail -30 "$OUT/build.log"; exit 1; }
  targets="fkm_cuda_selfcheck fkm_cuda_screen_check fkm_bench"
  [ "$tests" = ON ] && targets="$targets fkm_tests"
  run "build" "$OUT/build.log" 300 ninja -C "$BUILD" -j"${JOBS:-16}" $targets || { tail -40 "$OUT/build.log"; exit 1; }
fi

if has test; then
  T="$OUT/tests.log"
  # correctness first: the new passes against fp64, then the whole behaviour suite on CUDA
  run "screen_check (exact labels vs fp64: near-ties, magnitudes, far centroids)" "$T" 150 \
    "$BUILD/backends/cuda/fkm_cuda_screen_check" || status=1
  grep -E "^FAIL|failure\(s\)" "$T" | tail -20 | tee -a "$OUT/summary.txt"
  if [ -x "$BUILD/tests/fkm_tests" ]; then
    FKM_TEST_BACKENDS=cuda run "fkm_tests (behaviour suite, cuda)" "$T" 200 "$BUILD/tests/fkm_tests" || status=1
    grep -E "test cases|assertions|FAILED|failed" "$T" | tail -12 | tee -a "$OUT/summary.txt"
  fi
  run "selfcheck" "$T" 90 "$BUILD/backends/cuda/fkm_cuda_selfcheck" || status=1
  FKM_CUDA_FORCE_SIMT=1 run "selfcheck quick, SIMT fallback" "$T" 60 "$BUILD/backends/cuda/fkm_cuda_selfcheck" quick || status=1
  grep -E "^FAIL" "$T" | tail -20 | tee -a "$OUT/summary.txt"
fi

if has sanitize; then
  S="$OUT/sanitize.log"
  run "memcheck selfcheck tiny" "$S" 60 "$SANITIZER" --tool memcheck --error-exitcode 9 \
    "$BUILD/backends/cuda/fkm_cuda_selfcheck" tiny || status=1
  run "memcheck screen_check tiny" "$S" 60 "$SANITIZER" --tool memcheck --error-exitcode 9 \
    "$BUILD/backends/cuda/fkm_cuda_screen_check" tiny || status=1
fi
if has racecheck; then  # shared-memory hazards of the screen's passes
  run "racecheck screen_check tiny" "$OUT/sanitize.log" 120 "$SANITIZER" --tool racecheck --error-exitcode 9 \
    "$BUILD/backends/cuda/fkm_cuda_screen_check" tiny || status=1
fi
if has sanitize || has racecheck; then
  grep -E "ERROR SUMMARY|RACECHECK SUMMARY|Invalid|Race reported" "$OUT/sanitize.log" | sort | uniq -c | head -12 |
    tee -a "$OUT/summary.txt"
fi

if has perf; then
  export PYTHONPATH="$PEERS:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
  [ -d "$PEERS/flash_kmeans" ] || log "no $PEERS/flash_kmeans: flash-kmeans will report an import error"
  run "perf suite (fkm exact + fast, flash-kmeans)" "$OUT/perf.log" 600 \
    python3 "$SRC/perf/peers.py" --bench "$BUILD/perf/fkm_bench" --out "$OUT/peers.json" --no-torch \
    ${PERF_ONLY:+--only "$PERF_ONLY"}
  [ -f "$OUT/peers.json" ] && python3 "$SRC/perf/table.py" "$OUT/peers.json" | tee -a "$OUT/summary.txt"
fi

if has timing; then  # per-phase device times and how many rows each pass of the screen left
  M="$OUT/timing.log"
  for cfg in "--n 1048576 --d 128 --k 1024 --dtype f16" "--n 1048576 --d 128 --k 16 --dtype f16" \
             "--n 1048576 --d 768 --k 1024 --dtype f32"; do
    for p in exact fast; do
      FKM_CUDA_TIMING=1 run "timing $cfg $p" "$M" 40 "$BUILD/perf/fkm_bench" $cfg --precision $p --iters 10 --warmup 3
    done
  done
  grep -E "^==|^\{|count|phase assign" "$M" | sed -E 's/"device_name".*//' | tail -60 > "$M.summary"
  grep -E "count|ms_per_iter" "$M" | sed -E 's/.*"ms_per_iter": ([0-9.]+), "ms_assign": ([0-9.]+).*/  ms\/iter \1, assign \2/' \
    | tee -a "$OUT/summary.txt"
  cat "$M.summary" >> "$M"
  rm -f "$M.summary"
fi

log "done in $(($(date +%s) - START)) s, status $status"
exit $status
