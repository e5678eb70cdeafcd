#!/bin/bash
# One device call: build, test, sanitize, benchmark. Run from the source root on the GPU machine.
#   perf/run_device.sh [build] [test] [sanitize] [perf] [perf-only=NAME,...] [prebuilt=DIR]
# prebuilt=DIR: use binaries built elsewhere (same CUDA 13.0) instead of building here.
# Inputs beside the source (git-ignored, carried): ../deps/prefix (perf/make_device_deps.sh),
# ../peers (flash_kmeans package). Logs and JSON go to $OUT.
set -u
OUT=${OUT:-/tmp/fkm_out}
mkdir -p "$OUT"
steps="$*"
has() { [[ " $steps " == *" $1 "* ]]; }
only=$(echo "$steps" | tr ' ' '\n' | sed -n 's/^perf-only=//p')
SRC=$PWD
prebuilt=$(echo "$steps" | tr ' ' '\n' | sed -n 's/^prebuilt=//p')
BUILD=${prebuilt:-/tmp/fkm_build}
[ -n "$prebuilt" ] && export LD_LIBRARY_PATH="$BUILD/lib:${LD_LIBRARY_PATH:-}"
status=0
log() { echo "== $*" | tee -a "$OUT/summary.txt"; }

if has devbuild; then  # a from-source build in the background (niced), checked at the end
  ( tests=OFF; [ -d "$SRC/tests" ] && [ -d "$SRC/../deps/prefix" ] && tests=ON
    nice -n 19 cmake -S "$SRC" -B /tmp/fkm_devbuild -G Ninja -DCMAKE_BUILD_TYPE=Release -DFKM_ENABLE_CUDA=ON \
      -DFKM_BUILD_TESTS=$tests -DCMAKE_PREFIX_PATH="$SRC/../deps/prefix" > "$OUT/devbuild.log.build" 2>&1 &&
    nice -n 19 ninja -C /tmp/fkm_devbuild -j8 >> "$OUT/devbuild.log.build" 2>&1; echo "devbuild rc=$?" >> "$OUT/devbuild.log.build" ) &
  devbuild_pid=$!
fi
if has build; then
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv | tee -a "$OUT/summary.txt"
  tests=OFF
  [ -d "$SRC/tests" ] && [ -d "$SRC/../deps/prefix" ] && tests=ON
  cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFKM_ENABLE_CUDA=ON -DFKM_BUILD_TESTS=$tests \
    -DCMAKE_PREFIX_PATH="$SRC/../deps/prefix" > "$OUT/devbuild.log.build" 2>&1 &&
  ninja -C "$BUILD" -j16 >> "$OUT/devbuild.log.build" 2>&1
  rc=$?; log "build rc=$rc (tests=$tests)"; [ $rc -ne 0 ] && { tail -40 "$OUT/devbuild.log.build"; exit 1; }
fi
if has test; then
  if [ -n "$prebuilt" ]; then  # ctest files hold the build machine's paths: run the suite directly
    FKM_TEST_BACKENDS=cuda timeout 120 "$BUILD/tests/fkm_tests" > "$OUT/tests.log.fkm_tests" 2>&1; rc=$?
    log "fkm_tests (cuda) rc=$rc"; grep -E "test cases|assertions|FAILED|failed" "$OUT/tests.log.fkm_tests" | tail -25
  else
    (cd "$BUILD" && timeout 400 ctest --output-on-failure -j4 > "$OUT/tests.log.ctest" 2>&1); rc=$?
    log "ctest rc=$rc"; grep -E "tests passed|tests failed|Failed|\*\*\*" "$OUT/tests.log.ctest" | tail -25
  fi
  [ $rc -ne 0 ] && status=1
  timeout 60 "$BUILD/backends/cuda/fkm_cuda_selfcheck" > "$OUT/tests.log.selfcheck" 2>&1; rc=$?
  log "selfcheck rc=$rc"; tail -15 "$OUT/tests.log.selfcheck"
  FKM_CUDA_FORCE_SIMT=1 timeout 30 "$BUILD/backends/cuda/fkm_cuda_selfcheck" quick > "$OUT/tests.log.simt" 2>&1; rc=$?
  log "selfcheck simt fallback rc=$rc"; tail -5 "$OUT/tests.log.simt"
fi
if has sanitize; then
  timeout 50 compute-sanitizer --tool memcheck --error-exitcode 9 "$BUILD/backends/cuda/fkm_cuda_selfcheck" tiny > "$OUT/sanitize.log.memcheck" 2>&1
  rc=$?; log "memcheck rc=$rc"; tail -6 "$OUT/sanitize.log.memcheck"
  timeout 50 compute-sanitizer --tool racecheck --error-exitcode 9 "$BUILD/backends/cuda/fkm_cuda_selfcheck" tiny > "$OUT/sanitize.log.racecheck" 2>&1
  rc=$?; log "racecheck rc=$rc"; tail -6 "$OUT/sanitize.log.racecheck"
fi
if has perf; then
  export PYTHONPATH="$SRC/../peers:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
  timeout ${PERF_TIMEOUT:-520} python3 "$SRC/perf/peers.py" --bench "$BUILD/perf/fkm_bench" --out "$OUT/peers.json" ${only:+--only $only} \
    2>&1 | tee "$OUT/perf.log" | grep -v '^{'
  log "perf rc=${PIPESTATUS[0]}"
fi
if has devbuild; then
  wait $devbuild_pid
  log "$(tail -1 "$OUT/devbuild.log.build")"
  [ -x /tmp/fkm_devbuild/tests/fkm_tests ] && { FKM_TEST_BACKENDS=cuda timeout 100 /tmp/fkm_devbuild/tests/fkm_tests > "$OUT/devbuild.log.tests" 2>&1; log "devbuild fkm_tests rc=$?"; tail -2 "$OUT/devbuild.log.tests"; }
fi
if has timing; then  # per-phase breakdown of two configs (extra syncs: not the reported timings)
  for k in 16 1024; do
    FKM_CUDA_TIMING=1 "$BUILD/perf/fkm_bench" --n 1048576 --d 128 --k $k --iters 10 --warmup 3 >> "$OUT/timing.log" 2>&1
  done
  log "timing"; grep "phase" "$OUT/timing.log"
fi
if has perf && [ -f "$OUT/peers.json" ]; then
  python3 "$SRC/perf/plot.py" "$OUT/peers.json" "$OUT/performance_h100.png" && log "plot ok"
fi
# at most 8 files come back: fold the logs
for group in tests sanitize devbuild; do
  ls "$OUT"/$group.log.* > /dev/null 2>&1 && { for f in "$OUT"/$group.log.*; do echo "##### $f"; cat "$f"; done > "$OUT/$group.log"; rm -f "$OUT"/$group.log.*; }
done
cat "$OUT/summary.txt"
exit $status
