#!/bin/bash
# Where the time of one Lloyd iteration goes, fkm beside flash-kmeans on the same data
# (N = 1M, D = 128, K = 1024, fp16 unless PROFILE_SHAPE says otherwise): Nsight Compute's
# per-kernel durations for one timed iteration of each, then its throughput, pipe and stall
# sections for each one's assign kernel, then each assign kernel's executed instructions by opcode and
# its top stall sites (SASS).   perf/device/profile.sh [steps]   steps: durations sections opcodes
# (default: all). Prebuilt fkm_bench in PREBUILT/bin, flash-kmeans on
# PYTHONPATH (.devsync/peers). Writes $OUT/logs/profile_*.txt.
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PREBUILT=${PREBUILT:-$SRC/.devsync/prebuilt}
. "$(dirname "$0")/deadline.sh"
begin 240 ${*:-durations sections opcodes}
NCU=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
read -r N D K DT <<< "${PROFILE_SHAPE:-1048576 128 1024 f16}"
export PYTHONPATH="$SRC/.devsync/peers:${PYTHONPATH:-}"
cat > /tmp/flash_one.py << PY
import torch, sys
from flash_kmeans import batch_kmeans_Euclid
g = torch.Generator(device="cuda").manual_seed(1)
x = torch.randn(1, $N, $D, device="cuda", generator=g).to(torch.float16 if "$DT" == "f16" else torch.float32)
c0 = x[:, :: $N // $K][:, :$K].clone()
batch_kmeans_Euclid(x, $K, max_iters=3, tol=0.0, init_centroids=c0.clone())  # compile + autotune
torch.cuda.synchronize()
torch.cuda.profiler.start()
batch_kmeans_Euclid(x, $K, max_iters=1, tol=0.0, init_centroids=c0.clone())
torch.cuda.synchronize()
torch.cuda.profiler.stop()
PY
BENCH=("$PREBUILT/bin/fkm_bench" --n "$N" --d "$D" --k "$K" --dtype "$DT" --precision fast --iters 1 --warmup 3)
KT=$LOGS/profile_kernels.txt
has durations && run "ncu kernel durations, fkm fast" "$KT" 90 "$NCU" --profile-from-start off --metrics gpu__time_duration.sum "${BENCH[@]}"
has durations && run "ncu kernel durations, flash-kmeans" "$KT" 90 "$NCU" --profile-from-start off --metrics gpu__time_duration.sum python3 /tmp/flash_one.py
SECTIONS=(--section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis --section WarpStateStats
          --section SchedulerStats --section Occupancy --section LaunchStats --section InstructionStats)
AT=$LOGS/profile_assign.txt
has sections && run "ncu sections, fkm assign kernel" "$AT" 90 "$NCU" --profile-from-start off -k regex:assign "${SECTIONS[@]}" --launch-count 1 "${BENCH[@]}"
has sections && run "ncu sections, flash-kmeans assign kernel" "$AT" 90 "$NCU" --profile-from-start off -k regex:assign "${SECTIONS[@]}" --launch-count 1 \
  python3 /tmp/flash_one.py
OT=$LOGS/profile_opcodes.txt
OPC=(--metrics sass__inst_executed_per_opcode --print-metric-instances values --section SourceCounters --print-details all)
has opcodes && run "ncu opcodes, fkm assign kernel" "$OT" 90 "$NCU" --profile-from-start off -k regex:assign "${OPC[@]}" --launch-count 1 "${BENCH[@]}"
has opcodes && run "ncu opcodes, flash-kmeans assign kernel" "$OT" 90 "$NCU" --profile-from-start off -k regex:assign "${OPC[@]}" --launch-count 1 \
  python3 /tmp/flash_one.py
log "profile done"
