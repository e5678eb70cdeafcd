#!/bin/bash
# One device call for the CUDA backend's batched fit (backends/cuda/cuda_batched.cuh), ordered
# for a short budget, correctness first, and each step skipped when the deadline leaves it too
# little time (the summary says so):
#   1. fkm_cuda_batched_check: batched vs each problem alone, bit for bit (fast and exact, every
#      dtype x metric, empties, tol, n_init, device views, a failing problem)
#   2. fkm_tests [batched] on CUDA (the shared batched tests: equivalence, oracle, api, validation)
#   3. B32 N74256 K1000 D128 fp16, exact and fast: fit_batched batched vs the default loop
#      (FKM_CUDA_BATCHED=loop) in one process, ms/iter, ratio, floor, bitwise identical
#   4. the whole behaviour suite on CUDA (the shared kernels were refactored: unbatched too)
#   5. per-phase times of the batched path (FKM_CUDA_TIMING=1)
#   6. compute-sanitizer memcheck of a tiny batched fit
#   7. flash-kmeans on the same shape (perf/batched_peer.py; its own data, the same generator as
#      perf/peers.py), beside the ms/iter of step 3
# Run from the source root on the GPU machine:
#   OUT=... BUDGET_S=... FKM_DEVSYNC=... perf/device/cuda-batched.sh
# Uses the binaries of $FKM_DEVSYNC/cuda-batched-extra/prebuilt.tar.gz (fkm_tests,
# fkm_cuda_batched_check, fkm_batched_bench: sm_90a, stripped, built from the commit named in it)
# when they start here and FORCE_BUILD is unset; else builds them into /tmp/cuda-batched-build.
# Writes $OUT/summary.txt (every number), tests.log, perf.log. Exit 1 when a check failed.
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
status=0

. "$(dirname "$0")/deadline.sh"  # log, left, limit, has, enough, run

SANITIZER=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
NVCC=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
TESTS=$BUILD/tests/fkm_tests
CHECK=$BUILD/backends/cuda/fkm_cuda_batched_check
BENCH=$BUILD/perf/fkm_batched_bench
PRE=$DEVSYNC/cuda-batched-extra/prebuilt.tar.gz
T=$OUT/tests.log
P=$OUT/perf.log

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee -a "$OUT/summary.txt"
prebuilt=no
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
if [ "$prebuilt" = no ]; then
  run "configure" "$OUT/build.log" 120 cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DFKM_ENABLE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a -DCMAKE_CUDA_COMPILER="$NVCC" -DFKM_BUILD_TESTS=ON \
    -DFKM_BUILD_APPS=ON -DCMAKE_PREFIX_PATH="$DEPS" || { tail -30 "$OUT/build.log"; exit 1; }
  run "build" "$OUT/build.log" 400 ninja -C "$BUILD" -j"${JOBS:-16}" fkm_tests fkm_cuda_batched_check fkm_batched_bench \
    || { tail -40 "$OUT/build.log"; exit 1; }
fi

# 1-2: correctness of the batched path
if enough "fkm_cuda_batched_check" 10; then
  run "fkm_cuda_batched_check (batched == each problem alone, bit for bit)" "$T" 90 "$CHECK" || status=1
  grep -E "^FAIL|failure\(s\)" "$T" | tail -20 | tee -a "$OUT/summary.txt"
fi
if enough "fkm_tests [batched]" 10; then
  mark=$(wc -l < "$T")
  FKM_TEST_BACKENDS=cuda run "fkm_tests [batched] (cuda)" "$T" 60 "$TESTS" "[batched]" || status=1
  tail -n +"$mark" "$T" | grep -E "test cases|FAILED" | tail -4 | tee -a "$OUT/summary.txt"
fi

# 3: batched vs the default loop at the perf config
B=32 N=74256 D=128 K=1000
for precision in exact fast; do
  if enough "bench $precision" 15; then
    run "fit_batched B$B N$N K$K D$D fp16 $precision: batched vs loop" "$P" 60 \
      "$BENCH" --batch $B --n $N --d $D --k $K --dtype f16 --precision $precision --iters 10 \
      --json "$OUT/batched_$precision.json" || status=1
    cat "$OUT/batched_$precision.json" 2>/dev/null | tee -a "$OUT/summary.txt"
  fi
done

# 4: the whole behaviour suite on CUDA
if enough "fkm_tests (behaviour suite, cuda)" 50; then
  mark=$(wc -l < "$T")
  FKM_TEST_BACKENDS=cuda run "fkm_tests (behaviour suite, cuda)" "$T" 150 "$TESTS" || status=1
  tail -n +"$mark" "$T" | grep -E "test cases|FAILED" | tail -4 | tee -a "$OUT/summary.txt"
fi

# 5: where the batched iterations go (one fit of 15 iterations)
for precision in exact fast; do
  if enough "phases $precision" 10; then
    echo "phases, $precision (15 iterations):" | tee -a "$OUT/summary.txt"
    FKM_CUDA_TIMING=1 timeout "$(limit 30)" "$BENCH" --batch $B --n $N --d $D --k $K --dtype f16 --precision $precision \
      --iters 10 --once 1 2>&1 | grep "batched" | tee -a "$OUT/summary.txt"
  fi
done

# 6: memcheck
if enough "memcheck" 30; then
  run "memcheck: fkm_cuda_batched_check tiny" "$T" 120 "$SANITIZER" --tool memcheck --error-exitcode 9 "$CHECK" tiny \
    || status=1
  grep -E "ERROR SUMMARY|failure\(s\)" "$T" | tail -2 | tee -a "$OUT/summary.txt"
fi

# 7: flash-kmeans on the same shape
if enough "flash-kmeans" 25; then
  echo "##### flash-kmeans" >> "$P"
  PYTHONPATH="$PEERS${PYTHONPATH:+:$PYTHONPATH}" timeout "$(limit 120)" python3 "$SRC/perf/batched_peer.py" $B $N $D $K \
    /tmp/cuda-batched-b32.bin > "$OUT/batched_flash.json" 2>> "$P"
  log "flash-kmeans rc=$?"
  cat "$OUT/batched_flash.json" | tee -a "$OUT/summary.txt"
fi

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
log "done in $(( $(date +%s) - START )) s, status $status"
exit $status
