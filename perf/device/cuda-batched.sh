#!/bin/bash
# One device call for the CUDA backend's batched fit (backends/cuda/cuda_batched.cuh): build,
# the batched tests and the whole behaviour suite on CUDA, compute-sanitizer memcheck of a tiny
# batched fit, then B32 N74256 K1000 D128 fp16 (exact and fast): fit_batched batched vs the
# default loop (FKM_CUDA_BATCHED=loop) in one process, and flash-kmeans on the same data.
# Run from the source root on the GPU machine:
#   OUT=... BUDGET_S=... FKM_DEVSYNC=... perf/device/cuda-batched.sh [steps...]
# steps: build test sanitize perf (default: all, in that order). Uses the binaries of
# $FKM_DEVSYNC/cuda-batched-extra/prebuilt.tar.gz (fkm_tests, fkm_cuda_batched_check,
# fkm_batched_bench built for sm_90a from the commit named in it, stripped: saves the build's
# minutes of a short budget) when they start on this machine and FORCE_BUILD is unset; else
# builds them into /tmp/cuda-batched-build (sm_90a only). Writes $OUT/summary.txt, one log per
# step and $OUT/batched_*.json. Exit status 1 when a build, test or sanitizer step failed.
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-/tmp/cuda-batched-out}
BUILD=${BUILD:-/tmp/cuda-batched-build}
DEVSYNC=${FKM_DEVSYNC:-$SRC/.devsync}
DEPS=$DEVSYNC/deps/prefix
PEERS=$DEVSYNC/peers
mkdir -p "$OUT"
START=$(date +%s)
BUDGET=${BUDGET_S:-570}
steps=" ${*:-build test sanitize perf} "
status=0

log() { echo "== $*" | tee -a "$OUT/summary.txt"; }
left() { echo $((START + BUDGET - $(date +%s))); }
limit() {
  local l
  l=$(left)
  [ "$1" -lt "$l" ] && l=$1
  [ "$l" -lt 1 ] && l=1
  echo "$l"
}
has() { [[ "$steps" == *" $1 "* ]]; }
# run NAME LOGFILE WANT CMD...: CMD under a timeout (at most what the deadline leaves), output appended to LOGFILE
run() {
  local name=$1 file=$2 want=$3
  shift 3
  echo "##### $name: $*" >> "$file"
  timeout "$(limit "$want")" "$@" >> "$file" 2>&1
  local rc=$?
  log "$name rc=$rc$([ $rc -eq 124 ] && echo ' (timed out)')"
  return $rc
}

SANITIZER=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
NVCC=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
TESTS=$BUILD/tests/fkm_tests
CHECK=$BUILD/backends/cuda/fkm_cuda_batched_check
BENCH=$BUILD/perf/fkm_batched_bench
PRE=$DEVSYNC/cuda-batched-extra/prebuilt.tar.gz
prebuilt=no

if has build; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$OUT/summary.txt"
  if [ -f "$PRE" ] && [ -z "${FORCE_BUILD:-}" ]; then
    mkdir -p "$BUILD/pre" && tar xzf "$PRE" -C "$BUILD/pre"
    # the three link the same libraries: one that starts shows they load here
    if "$BUILD/pre/fkm_tests" --help > /dev/null 2>&1 && [ -x "$BUILD/pre/fkm_cuda_batched_check" ] &&
        [ -x "$BUILD/pre/fkm_batched_bench" ]; then
      prebuilt=yes
      TESTS=$BUILD/pre/fkm_tests CHECK=$BUILD/pre/fkm_cuda_batched_check BENCH=$BUILD/pre/fkm_batched_bench
      log "prebuilt binaries of commit $(cat "$BUILD/pre/commit") (no build)"
    else
      log "prebuilt binaries do not start here: building"
    fi
  fi
fi
if has build && [ "$prebuilt" = no ]; then
  run "configure" "$OUT/build.log" 120 cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DFKM_ENABLE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a -DCMAKE_CUDA_COMPILER="$NVCC" -DFKM_BUILD_TESTS=ON \
    -DFKM_BUILD_APPS=ON -DCMAKE_PREFIX_PATH="$DEPS" || { tail -30 "$OUT/build.log"; exit 1; }
  run "build" "$OUT/build.log" 360 ninja -C "$BUILD" -j"${JOBS:-16}" fkm_tests fkm_cuda_batched_check fkm_batched_bench \
    || { tail -40 "$OUT/build.log"; exit 1; }
fi

if has test; then
  T="$OUT/tests.log"
  # the batched path first: fast and exact, every dtype x metric, empties, tol, device views...
  run "fkm_cuda_batched_check (batched == each problem alone, bit for bit)" "$T" 150 "$CHECK" || status=1
  grep -E "^FAIL|failure\(s\)" "$T" | tail -20 | tee -a "$OUT/summary.txt"
  # ... the shared batched tests (every shape, dtype, init, metric; n_init = 2), then other kernels
  FKM_TEST_BACKENDS=cuda run "fkm_tests [batched] (cuda)" "$T" 120 "$TESTS" "[batched]" || status=1
  grep -E "test cases|assertions|FAILED|failed" "$T" | tail -6 | tee -a "$OUT/summary.txt"
  FKM_TEST_BACKENDS=cuda FKM_CUDA_SCREEN=rescore run "fkm_tests [batched], every row re-scored" "$T" 90 \
    "$TESTS" "[batched]" || status=1
  FKM_TEST_BACKENDS=cuda FKM_CUDA_FORCE_SIMT=1 run "fkm_tests [batched], SIMT kernels" "$T" 90 \
    "$TESTS" "[batched]" || status=1
  grep -E "test cases|assertions|FAILED" "$T" | tail -6 | tee -a "$OUT/summary.txt"
  # the whole behaviour suite on CUDA (the shared kernels were refactored: unbatched too)
  FKM_TEST_BACKENDS=cuda run "fkm_tests (behaviour suite, cuda)" "$T" 200 "$TESTS" || status=1
  grep -E "test cases|assertions|FAILED" "$T" | tail -4 | tee -a "$OUT/summary.txt"
fi

if has sanitize; then
  S="$OUT/sanitize.log"
  run "memcheck: fkm_cuda_batched_check tiny" "$S" 150 "$SANITIZER" --tool memcheck --error-exitcode 9 "$CHECK" tiny || status=1
  grep -E "ERROR SUMMARY|failure" "$S" | tail -4 | tee -a "$OUT/summary.txt"
fi

if has perf; then
  P="$OUT/perf.log"
  B=32 N=74256 D=128 K=1000
  DATA=/tmp/cuda-batched-b32.bin
  echo "##### flash-kmeans (writes the data)" >> "$P"
  if PYTHONPATH="$PEERS${PYTHONPATH:+:$PYTHONPATH}" timeout "$(limit 150)" python3 "$SRC/perf/batched_peer.py" $B $N $D $K "$DATA" \
      > "$OUT/batched_flash.json" 2>> "$P"; then
    cat "$OUT/batched_flash.json" | tee -a "$OUT/summary.txt"
    data_arg="--data $DATA"
  else
    log "flash-kmeans did not run (see perf.log); fkm uses its own generated data"
    data_arg=""
  fi
  for precision in exact fast; do
    run "fit_batched B$B N$N K$K D$D fp16 $precision: batched vs loop" "$P" 150 \
      "$BENCH" --batch $B --n $N --d $D --k $K --dtype f16 --precision $precision \
      $data_arg --iters 20 --json "$OUT/batched_$precision.json" || status=1
    cat "$OUT/batched_$precision.json" 2>/dev/null | tee -a "$OUT/summary.txt"
    # where the batched iterations go (one fit of 25 iterations, per-phase device times)
    echo "##### phases, $precision" >> "$OUT/phases.log"
    FKM_CUDA_TIMING=1 timeout "$(limit 60)" "$BENCH" --batch $B --n $N --d $D --k $K --dtype f16 --precision $precision \
      $data_arg --iters 20 --once 1 2>&1 | grep "batched" >> "$OUT/phases.log"
  done
  cat "$OUT/phases.log" | tee -a "$OUT/summary.txt"
  python3 - "$OUT" <<'PY' | tee -a "$OUT/summary.txt"
import json, os, sys
out = sys.argv[1]
def load(name):
    try:
        return json.load(open(os.path.join(out, name)))
    except Exception:
        return None
flash = load("batched_flash.json") or {}
fl = flash.get("ms_per_iter")
print(f"{'B32 N74256 K1000 D128 f16':28s} {'floor':>7s} {'batched':>8s} {'loop':>8s} {'loop/bat':>8s} {'flash':>7s} {'flash/bat':>9s} {'bat/floor':>9s} same")
for p in ("exact", "fast"):
    r = load(f"batched_{p}.json")
    if not r:
        print(f"{p:28s} (no result)")
        continue
    b, l, f = r["ms_per_iter_batched"], r["ms_per_iter_loop"], r["floor_ms"]
    fs = f"{fl:7.3f}" if fl else "    n/a"
    fr = f"{fl / b:9.2f}" if fl else "      n/a"
    print(f"{p:28s} {f:7.3f} {b:8.3f} {l:8.3f} {l / b:8.2f} {fs} {fr} {b / f:9.2f} {r['identical']}")
PY
fi

log "done in $(( $(date +%s) - START )) s, status $status"
exit $status
