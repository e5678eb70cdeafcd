#!/bin/bash
# One device call on binaries built on the development machine (it has CUDA 13.0's nvcc): the
# CUDA checks, racecheck/memcheck of fits that take the staged fold, old / new side by side, the
# K = 16 phase timers, then the suite beside flash-kmeans, and optionally perf/device/profile.sh.
# Inputs (git-ignored, carried): .devsync/bins.tar.xz holding prebuilt/bin (fkm, fkm_bench,
# fkm_batched_bench, fkm_tests, fkm_cuda_{selfcheck,screen_check,batched_check}) and oldbin (fkm,
# fkm_bench of the build to compare with); .devsync/peers (flash_kmeans). Pack them with
#   tar -C .devsync -cJf .devsync/bins.tar.xz prebuilt oldbin    (~10 MB; the carry limit is 64 MiB)
# and run with carry [".devsync/bins.tar.xz", ".devsync/peers"]:
#   [DEADLINE=585] [SKIP_TESTS=1] [SKIP_AB=1] [AB_CONFIGS=...] [TORCH="--tmp /tmp/x"] [PERF_ONLY=a,b]
#   [PROFILE="durations sections opcodes"] [PROFILE_SHAPE="N D K dt"] perf/device/prebuilt_round.sh
# Everything lands under $OUT/mine, and all of it as $OUT/flat/all.tar.gz (deep folders and many
# files may not come back one by one).
set -u
SRC=$PWD
OUT=${OUT:-/tmp/fkm_out}
M=$OUT/mine; mkdir -p "$M"
START=$(date +%s)
DEADLINE=${DEADLINE:-585}
el() { echo "[$(($(date +%s) - START))s] $*" | tee -a "$M/summary.txt"; }
left() { echo $((START + DEADLINE - $(date +%s))); }
tar -C $SRC/.devsync -xJf $SRC/.devsync/bins.tar.xz
B=$SRC/.devsync/prebuilt/bin
O=$SRC/.devsync/oldbin
chmod +x $B/* $O/* 2>/dev/null
mkdir -p /tmp/newset; ln -sfn $B /tmp/newset/bin
T=$M/tests.log
t() { local name=$1 lim=$2; shift 2; local l=$(left); [ $l -lt 5 ] && { el "$name skipped"; return; }; [ $lim -gt $l ] && lim=$l
  echo "##### $name" >> "$T"; timeout $lim "$@" >> "$T" 2>&1; el "$name rc=$?"; }
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader | tee -a "$M/summary.txt"
if [ "${SKIP_TESTS:-0}" != 1 ]; then
t "selfcheck tiny" 30 $B/fkm_cuda_selfcheck tiny
t "selfcheck" 90 $B/fkm_cuda_selfcheck
t "screen_check" 120 $B/fkm_cuda_screen_check
t "batched_check" 60 $B/fkm_cuda_batched_check
FKM_TEST_BACKENDS=cuda t "fkm_tests cuda" 150 $B/fkm_tests
grep -E "test cases|assertions" "$T" | tail -2 | tee -a "$M/summary.txt"
FKM_CUDA_WGMMA=0 t "selfcheck mma.sync" 60 $B/fkm_cuda_selfcheck
python3 -c "
import numpy as np
r=np.random.default_rng(3)
np.save('/tmp/rc1.npy', (r.standard_normal((36875, 33))).astype(np.float32))
np.save('/tmp/rc2.npy', (r.standard_normal((69639, 65))).astype(np.float16))
"
S=/usr/local/cuda/bin/compute-sanitizer
t "racecheck staged fold k1" 90 $S --tool racecheck --error-exitcode 9 $B/fkm fit /tmp/rc1.npy --k 1 --backend cuda --max-iter 3 --seed 1
t "racecheck staged fold k2" 90 $S --tool racecheck --error-exitcode 9 $B/fkm fit /tmp/rc2.npy --k 2 --backend cuda --max-iter 3 --seed 1
t "memcheck staged fold k2" 90 $S --tool memcheck --error-exitcode 9 $B/fkm fit /tmp/rc2.npy --k 2 --backend cuda --max-iter 3 --seed 1
t "memcheck selfcheck tiny" 60 $S --tool memcheck --error-exitcode 9 $B/fkm_cuda_selfcheck tiny
grep -E "^FAIL|FAILED|failure|mismatch|ERROR SUMMARY|RACECHECK SUMMARY" "$T" | sort | uniq -c | head -20 | tee -a "$M/summary.txt"
fi
if [ "${SKIP_AB:-0}" != 1 ]; then
el "ab start"
OLD=$O PREBUILT=/tmp/newset BUDGET_S=${AB_BUDGET:-60} AB_REPS=3 \
  AB_CONFIGS="${AB_CONFIGS:-1048576 128 16 f16 fast,1048576 128 16 f16 exact,8388608 128 1024 f16 fast}" \
  OUT=$OUT/ab bash "$SRC/perf/device/ab_binaries.sh" > "$M/ab_stdout.log" 2>&1
cat "$OUT/ab/summary.txt" >> "$M/summary.txt" 2>/dev/null
for v in old new; do bin=$O/fkm_bench; [ $v = new ] && bin=$B/fkm_bench
  FKM_CUDA_TIMING=1 t "timing $v K16 fast" 30 $bin --n 1048576 --d 128 --k 16 --dtype f16 --precision fast --iters 10 --warmup 3
done
grep -E "^#####|phase" "$T" | tail -30 >> "$M/summary.txt"
fi
el "suite"
export PYTHONPATH="$SRC/.devsync/peers:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
l=$(left); FKM_PEERS_TIMING_LOG=$M/batched_timing.log timeout $((l - 5)) python3 "$SRC/perf/peers.py" --bench $B/fkm_bench --out "$M/peers.json" ${TORCH:---no-torch} ${PERF_ONLY:+--only "$PERF_ONLY"} > "$M/perf.log" 2>&1
el "suite rc=$?"
sed -n '/^config/,$p' "$M/perf.log" | tee -a "$M/summary.txt"
if [ -n "${PROFILE:-}" ]; then
  OUT=$M/prof PREBUILT=/tmp/newset BUDGET_S=$(( $(left) - 5 )) PROFILE_SHAPE="${PROFILE_SHAPE:-1048576 128 16 f16}" bash "$SRC/perf/device/profile.sh" $PROFILE > "$M/prof_stdout.log" 2>&1
  el "profile rc=$?"
fi
el done
tar -C "$OUT" -czf /tmp/all.tar.gz mine ab 2>/dev/null; mkdir -p "$OUT/flat"; cp /tmp/all.tar.gz "$OUT/flat/"
