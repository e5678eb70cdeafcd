#!/bin/bash
# Checks the guard in front of the Hopper kernels (wgmma_compiled_for in
# backends/cuda/wgmma_launch.hpp) on a build WITHOUT sm_90a code (CMAKE_CUDA_ARCHITECTURES=90):
# there the wgmma kernel bodies compile to nothing, so a fit that launched them would return
# garbage. The probe must say no: the CUDA backend's checks and the behaviour suite pass, and
# FKM_CUDA_WGMMA=1 (the default) times the same as FKM_CUDA_WGMMA=0 (both mma.sync).
#   PREBUILT90=DIR perf/device/arch_fallback.sh   (DIR/bin: fkm_tests fkm_cuda_selfcheck fkm_bench)
set -u
B=${PREBUILT90:?}/bin
. "$(dirname "$0")/deadline.sh"
begin 200
F=$LOGS/arch_fallback.log
run "sm_90 build: selfcheck tiny" "$F" 30 "$B/fkm_cuda_selfcheck" tiny || status=1
run "sm_90 build: selfcheck" "$F" 90 "$B/fkm_cuda_selfcheck" || status=1
FKM_TEST_BACKENDS=cuda run "sm_90 build: fkm_tests (behaviour suite, cuda)" "$F" 200 "$B/fkm_tests" || status=1
grep -E "test cases|assertions" "$F" | tail -1 | tee -a "$OUT/summary.txt"
for w in 1 0; do
  FKM_CUDA_WGMMA=$w run "sm_90 build: bench N1M K1024 fast, FKM_CUDA_WGMMA=$w" "$F" 40 \
    "$B/fkm_bench" --n 1048576 --d 128 --k 1024 --dtype f16 --precision fast --iters 10 --warmup 3
  grep -o '"ms_per_iter":[^,]*' "$F" | tail -1 | sed "s/^/  FKM_CUDA_WGMMA=$w /" | tee -a "$OUT/summary.txt"
done
log "arch fallback done, status $status"
exit $status
