#!/bin/bash
# One device call for out-of-core (streamed) fits: build, the streaming tests and the whole
# behaviour suite on CUDA, the CUDA self-check, compute-sanitizer memcheck of a tiny streamed
# fit, then perf: streamed vs resident fits on N x 128 fp16 with the transfer floor beside them,
# and the resident fkm_bench configs the new update touches. Run from the source root:
#   perf/device/streaming.sh [steps...]
# steps (default: build stest sbench sanitize, in this order): build, stest (streaming tests),
# sbench (streamed vs resident perf: page-locked in place and staged), sanitize (memcheck of a
# tiny streamed fit); also available: suite (whole behaviour suite on CUDA, self-check, CLI
# flags), rbench (resident fkm_bench configs the new update touches). Round 1 ran all six.
# Env: OUT (logs, default /tmp/fkm_stream_out), BUDGET_S (deadline, default 570 s), FKM_DEVSYNC
# (carried .devsync: deps/prefix has Catch2, CLI11, json), BUILD (default /tmp/streaming-build),
# STREAM_N (rows of the perf data, default 33554432 = 32M), STREAM_KS (default 4096,64,16).
# Writes to $OUT: summary.txt build.log tests.log sanitize.log perf.log stream_bench.json.
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-/tmp/fkm_stream_out}
BUILD=${BUILD:-/tmp/streaming-build}
DEVSYNC=${FKM_DEVSYNC:-$SRC/.devsync}
DEPS=$DEVSYNC/deps/prefix
mkdir -p "$OUT"
START=$(date +%s)
BUDGET=${BUDGET_S:-570}
steps=" ${*:-build stest sbench sanitize} "
status=0

. "$(dirname "$0")/deadline.sh"  # log, left, limit, has, enough, run

SANITIZER=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
NVCC=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)

if has build; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$OUT/summary.txt"
  free -g | head -2 | tee -a "$OUT/summary.txt"
  run "configure" "$OUT/build.log" 120 cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DFKM_ENABLE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a -DCMAKE_CUDA_COMPILER="$NVCC" -DFKM_BUILD_TESTS=ON \
    -DFKM_BUILD_APPS=ON -DCMAKE_PREFIX_PATH="$DEPS" || { tail -30 "$OUT/build.log"; exit 1; }
  targets="fkm_tests fkm_stream_bench fkm_cli fkm_cli_tests"
  has suite && targets="$targets fkm_cuda_selfcheck"
  has rbench && targets="$targets fkm_bench"
  run "build" "$OUT/build.log" 330 ninja -C "$BUILD" -j"${JOBS:-16}" $targets || { tail -40 "$OUT/build.log"; exit 1; }
fi

if has stest; then
  T="$OUT/tests.log"
  FKM_TEST_BACKENDS=cuda run "fkm_tests [streaming] (streamed vs resident, cuda)" "$T" 150 "$BUILD/tests/fkm_tests" \
    "[streaming]" || status=1
  grep -E "test cases|assertions|FAILED|failed" "$T" | tail -6 | tee -a "$OUT/summary.txt"
  run "cli tests (device memory flags; streamed fit of a memory-mapped file on cuda)" "$T" 40 \
    "$BUILD/tests/cli/fkm_cli_tests" "device memory*" || status=1
  grep -E "test cases|assertions|FAILED|failed|transfer" "$T" | tail -4 | tee -a "$OUT/summary.txt"
fi

if has sbench; then
  P="$OUT/perf.log"
  # the transfer-bound K first (in place and staged), then the paper's K = 4096
  run "stream bench N=${STREAM_N:-33554432} D=128 fp16 K=${STREAM_KS:-64} cap 4G" "$P" 120 \
    "$BUILD/perf/fkm_stream_bench" --n "${STREAM_N:-33554432}" --d 128 --ks "${STREAM_KS:-64}" --cap 4G \
    --iters 5 --also-staged 1 --json "$OUT/stream_bench.json" || status=1
  grep -E "^K=|pinned|device|generated" "$P" | tee -a "$OUT/summary.txt"
  if [ "$(left)" -gt 40 ]; then
    run "stream bench N=${STREAM_N:-33554432} D=128 fp16 K=4096 cap 4G" "$P" 60 \
      "$BUILD/perf/fkm_stream_bench" --n "${STREAM_N:-33554432}" --d 128 --ks 4096 --cap 4G \
      --iters 3 --json "$OUT/stream_bench_k4096.json" || status=1
    grep -E "^K=4096" "$P" | tail -1 | tee -a "$OUT/summary.txt"
  fi
fi

if has suite; then
  T="$OUT/tests.log"
  FKM_TEST_BACKENDS=cuda run "fkm_tests (whole behaviour suite, cuda)" "$T" 200 "$BUILD/tests/fkm_tests" || status=1
  grep -E "test cases|assertions|FAILED|failed" "$T" | tail -6 | tee -a "$OUT/summary.txt"
  run "selfcheck" "$T" 90 "$BUILD/backends/cuda/fkm_cuda_selfcheck" || status=1
  grep -E "^FAIL|failure\(s\)" "$T" | tail -10 | tee -a "$OUT/summary.txt"
fi

if has sanitize; then
  S="$OUT/sanitize.log"
  FKM_TEST_BACKENDS=cuda run "memcheck tiny streamed fit" "$S" 150 "$SANITIZER" --tool memcheck --error-exitcode 9 \
    "$BUILD/tests/fkm_tests" "streaming: tiny streamed fit" || status=1
  FKM_CUDA_STREAM_STAGING=1 FKM_TEST_BACKENDS=cuda run "memcheck tiny streamed fit, staged" "$S" 150 "$SANITIZER" \
    --tool memcheck --error-exitcode 9 "$BUILD/tests/fkm_tests" "streaming: tiny streamed fit" || status=1
  grep -E "ERROR SUMMARY|Invalid|test cases|assertions" "$S" | sort | uniq -c | head -12 | tee -a "$OUT/summary.txt"
fi

if has rbench; then
  P="$OUT/perf.log"
  # the resident update changed (per-cluster group order): resident configs it touches
  for cfg in "--n 33554432 --d 128 --k 4096" "--n 1048576 --d 128 --k 65536" "--n 1048576 --d 128 --k 1024"; do
    run "fkm_bench resident $cfg" "$P" 60 "$BUILD/perf/fkm_bench" $cfg --dtype f16 --iters 10 --warmup 3 || status=1
  done
  grep -E "ms_per_iter" "$P" | tee -a "$OUT/summary.txt"
fi

log "done in $(($(date +%s) - START)) s, status $status"
exit $status
