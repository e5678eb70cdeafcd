#!/bin/bash
# One device call for the Hopper FlashAssign (backends/cuda/assign_wgmma.cuh), on prebuilt
# binaries (built elsewhere with CUDA 13.0 for sm_90a, carried in PREBUILT): correctness first
# (the CUDA backend's checks and the behaviour suite on the wgmma kernel, the mma.sync kernel
# still checked with FKM_CUDA_WGMMA=0, precision = exact bit for bit equal on both kernels),
# memcheck, then the perf suite with both kernels in the same run beside flash-kmeans.
#   perf/device/wgmma.sh [steps...]   steps: test ab dist sanitize perf timing (default: all)
# PERF_ONLY=name,... limits the suite (perf/peers.py --only); PERF_ALSO=TAG:VAR=VALUE adds a
# variant (peers.py --also); PERF_MMA=0 leaves out the mma.sync variant. Everything runs under one
# deadline (BUDGET_S, default 570 s). Writes $OUT/summary.txt and $OUT/logs.tar.gz.
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-/tmp/fkm_out}
PREBUILT=${PREBUILT:-$SRC/.devsync/prebuilt}
PEERS=$SRC/.devsync/peers
LOGS=$OUT/logs
mkdir -p "$OUT" "$LOGS"
START=$(date +%s)
BUDGET=${BUDGET_S:-570}
steps=" ${*:-test ab dist sanitize perf timing} "
status=0
. "$(dirname "$0")/deadline.sh"  # log, left, limit, has, enough, run
export LD_LIBRARY_PATH="$PREBUILT/lib:${LD_LIBRARY_PATH:-}"
B=$PREBUILT/bin
SANITIZER=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader | tee -a "$OUT/summary.txt"

if has test; then
  T=$LOGS/tests.log
  # a hang (a barrier that never completes) must not eat the budget: a tiny run first
  run "selfcheck tiny (wgmma smoke)" "$T" 30 "$B/fkm_cuda_selfcheck" tiny
  rc=$?
  if [ $rc -eq 124 ]; then
    tail -20 "$T"
    log "smoke test hung: stopping"
    tar czf "$OUT/logs.tar.gz" -C "$OUT" logs
    exit 1
  fi
  run "selfcheck (wgmma)" "$T" 90 "$B/fkm_cuda_selfcheck" || status=1
  run "screen_check (exact vs fp64)" "$T" 120 "$B/fkm_cuda_screen_check" || status=1
  run "batched_check (batched == alone)" "$T" 90 "$B/fkm_cuda_batched_check" || status=1
  FKM_TEST_BACKENDS=cuda run "fkm_tests (behaviour suite, cuda)" "$T" 200 "$B/fkm_tests" || status=1
  grep -E "test cases|assertions" "$T" | tail -2 | tee -a "$OUT/summary.txt"
  FKM_CUDA_WGMMA=0 run "selfcheck (mma.sync kernel)" "$T" 90 "$B/fkm_cuda_selfcheck" || status=1
  FKM_CUDA_WGMMA=0 run "screen_check (mma.sync kernel)" "$T" 120 "$B/fkm_cuda_screen_check" || status=1
  grep -E "^FAIL|FAILED|failure" "$T" | head -20 | tee -a "$OUT/summary.txt"
fi

if has ab; then  # precision = exact is exact: both kernels must give the same bits
  A=$LOGS/ab.log
  python3 - > "$A" 2>&1 << 'EOF'
import numpy as np
r = np.random.default_rng(5)
for name, n, d, blobs, dt in (("f16", 200003, 128, 300, np.float16), ("f32", 50001, 200, 64, np.float32),
                              ("f16w", 30011, 300, 90, np.float16)):
    c = r.standard_normal((blobs, d)) * 2
    x = (c[r.integers(0, blobs, n)] + 0.5 * r.standard_normal((n, d))).astype(dt)
    np.save(f"/tmp/ab_{name}.npy", x)
EOF
  ab() {  # name data k extra...
    local name=$1 data=$2 k=$3
    shift 3
    for w in 1 0; do
      FKM_CUDA_WGMMA=$w timeout "$(limit 60)" "$B/fkm" fit "$data" --k "$k" --backend cuda --max-iter 8 --seed 3 \
        --centroids-out "/tmp/ab_${name}_c$w.npy" --labels-out "/tmp/ab_${name}_l$w.npy" "$@" >> "$A" 2>&1 || echo "fit rc=$? ($name, wgmma=$w)" >> "$A"
    done
    if cmp -s "/tmp/ab_${name}_c1.npy" "/tmp/ab_${name}_c0.npy" && cmp -s "/tmp/ab_${name}_l1.npy" "/tmp/ab_${name}_l0.npy"; then
      log "ab $name: wgmma == mma.sync, bit for bit"
    else
      log "ab $name: DIFFERENT"
      status=1
    fi
  }
  ab f16_exact /tmp/ab_f16.npy 777 --precision exact
  ab f16_exact_k100 /tmp/ab_f16.npy 100 --precision exact  # one centroid tile of 128
  ab f16_exact_d300 /tmp/ab_f16w.npy 129 --precision exact
  ab f32_exact /tmp/ab_f32.npy 333 --precision exact
  # fast: the two kernels sum in different orders; report how many labels differ
  for name in f16 f32; do
    for w in 1 0; do
      FKM_CUDA_WGMMA=$w timeout "$(limit 60)" "$B/fkm" fit "/tmp/ab_$name.npy" --k 500 --backend cuda --precision fast \
        --max-iter 1 --seed 3 --labels-out "/tmp/ab_fast_${name}_l$w.npy" >> "$A" 2>&1
    done
    python3 -c "import numpy as np; a=np.load('/tmp/ab_fast_${name}_l1.npy'); b=np.load('/tmp/ab_fast_${name}_l0.npy'); print('ab fast $name: labels differing after one iteration', int((a!=b).sum()), 'of', a.size)" | tee -a "$OUT/summary.txt"
  done
fi

if has dist; then  # the distributed CUDA path (prebuilt with FKM_ENABLE_MPI: fkm_distributed_tests, fkm_mpi_fit_test)
  D=$LOGS/dist.log
  mpirun_flags=(--allow-run-as-root --oversubscribe --bind-to none)
  FKM_TEST_BACKENDS=cuda run "distributed tests (in-process ranks, cuda; incl. a shard without rows)" "$D" 120 \
    "$B/fkm_distributed_tests" || status=1
  for np in 1 2 3 4; do  # processes sharing the one GPU, host-staged: the same bytes for every count
    run "mpirun -np $np fit cuda" "$D" 90 mpirun "${mpirun_flags[@]}" -np $np "$B/fkm_mpi_fit_test" fit cuda "/tmp/mpi_fit_np$np.bin" ||
      status=1
  done
  for np in 2 3 4; do
    if cmp -s /tmp/mpi_fit_np1.bin "/tmp/mpi_fit_np$np.bin"; then log "mpi fit cuda np$np == np1, byte for byte"
    else log "mpi fit cuda np$np: DIFFERENT from np1"; status=1; fi
  done
  run "mpirun -np 3, a NaN on the last process (cuda): every process must exit 2" "$D" 90 \
    mpirun "${mpirun_flags[@]}" -np 3 "$B/fkm_mpi_fit_test" exit2 cuda
  rc=$?
  [ $rc -eq 2 ] || { log "  expected exit status 2, got $rc"; status=1; }
fi

if has sanitize; then
  S=$LOGS/sanitize.log
  run "memcheck selfcheck tiny (wgmma)" "$S" 90 "$SANITIZER" --tool memcheck --error-exitcode 9 "$B/fkm_cuda_selfcheck" tiny || status=1
  run "memcheck screen_check tiny (wgmma)" "$S" 90 "$SANITIZER" --tool memcheck --error-exitcode 9 "$B/fkm_cuda_screen_check" tiny || status=1
  # shared-memory hazards of the wgmma kernel's counters and turns, and of the update
  run "racecheck selfcheck tiny (wgmma)" "$S" 150 "$SANITIZER" --tool racecheck --error-exitcode 9 "$B/fkm_cuda_selfcheck" tiny || status=1
  grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$S" | sort | uniq -c | tee -a "$OUT/summary.txt"
fi

if has perf && enough perf 60; then
  export PYTHONPATH="$PEERS:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
  FKM_PEERS_TIMING_LOG=$LOGS/batched_timing.log run "perf suite (fkm wgmma + mma.sync, flash-kmeans)" "$LOGS/perf.log" 600 \
    python3 "$SRC/perf/peers.py" --bench "$B/fkm_bench" --out "$OUT/peers.json" --no-torch \
    $([ "${PERF_MMA:-1}" = 1 ] && echo --also mma:FKM_CUDA_WGMMA=0) \
    ${PERF_ALSO:+--also "$PERF_ALSO"} ${PERF_ONLY:+--only "$PERF_ONLY"}
  sed -n '/^config/,$p' "$LOGS/perf.log" | tee -a "$OUT/summary.txt"
fi

if has timing && enough timing 30; then
  M=$LOGS/timing.log
  for cfg in "--n 1048576 --d 128 --k 1024 --dtype f16" "--n 1048576 --d 128 --k 16 --dtype f16"; do
    for p in exact fast; do
      FKM_CUDA_TIMING=1 run "timing $cfg $p" "$M" 40 "$B/fkm_bench" $cfg --precision $p --iters 10 --warmup 3
    done
  done
  for p in exact fast; do  # the batched path's phases (one fit_batched of 5 + 20 iterations)
    FKM_CUDA_TIMING=1 run "timing batched B32 N74256 K1000 $p" "$M" 40 "$B/fkm_batched_bench" --precision $p --once 1
  done
  grep -E "^#####|phase|count|ms_per_iter" "$M" | sed -E 's/"device_name".*//' | cut -c1-200 >> "$OUT/summary.txt"
fi

log "done in $(($(date +%s) - START)) s, status $status"
tar czf "$OUT/logs.tar.gz" -C "$OUT" logs && rm -rf "$LOGS"
exit $status
