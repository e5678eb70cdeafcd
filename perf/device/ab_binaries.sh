#!/bin/bash
# Side-by-side of two builds of fkm on the device, in one call: OLD (a directory with fkm and
# fkm_bench) against the prebuilt set (PREBUILT/bin). Same fits give the same bits (labels and
# centroids, fast and exact); then fkm_bench alternates old / new on each config and prints
# the median ms per iteration of each and old / new (> 1: the new build is faster).
#   OLD=DIR perf/device/ab_binaries.sh
# AB_CONFIGS="N D K DTYPE PRECISION,..." replaces the configs; AB_REPS (default 2) sets the
# alternating runs of each build.
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PREBUILT=${PREBUILT:-$SRC/.devsync/prebuilt}
OLD=${OLD:?}
NEW=$PREBUILT/bin
. "$(dirname "$0")/deadline.sh"
begin 200
L=$LOGS/ab_binaries.log
python3 - >> "$L" 2>&1 << 'PY'
import numpy as np
r = np.random.default_rng(9)
for name, n, d, blobs, dt in (("h", 100003, 128, 200, np.float16), ("f", 30011, 200, 64, np.float32)):
    c = r.standard_normal((blobs, d)) * 2
    np.save(f"/tmp/abb_{name}.npy", (c[r.integers(0, blobs, n)] + 0.5 * r.standard_normal((n, d))).astype(dt))
PY
for data in h f; do
  for p in fast exact; do
    for v in old new; do
      bin=$OLD/fkm; [ $v = new ] && bin=$NEW/fkm
      timeout "$(limit 60)" "$bin" fit "/tmp/abb_$data.npy" --k 777 --backend cuda --precision $p --max-iter 6 --seed 5 \
        --centroids-out "/tmp/abb_${data}_${p}_c_$v.npy" --labels-out "/tmp/abb_${data}_${p}_l_$v.npy" >> "$L" 2>&1
    done
    if cmp -s "/tmp/abb_${data}_${p}_c_old.npy" "/tmp/abb_${data}_${p}_c_new.npy" &&
       cmp -s "/tmp/abb_${data}_${p}_l_old.npy" "/tmp/abb_${data}_${p}_l_new.npy"; then
      log "old == new bit for bit ($data, $p)"
    else
      log "old != new ($data, $p)"; status=1
    fi
  done
done
ms() { grep -o '"ms_per_iter": [0-9.]*' | tail -1 | awk '{print $2}'; }
configs=("1048576 128 1024 f16 fast" "1048576 128 1024 f16 exact" "8388608 128 1024 f16 fast" "1048576 128 65536 f16 fast"
         "1048576 128 16 f16 fast" "1048576 768 1024 f32 fast" "1048576 768 1024 f32 exact")
[ -n "${AB_CONFIGS:-}" ] && IFS=',' read -r -a configs <<< "$AB_CONFIGS"
for cfg in "${configs[@]}"; do
  read -r n d k dt p <<< "$cfg"
  enough "ab $cfg" 15 || break
  o=(); w=()
  for rep in $(seq "${AB_REPS:-2}"); do
    o+=("$(timeout "$(limit 60)" "$OLD/fkm_bench" --n $n --d $d --k $k --dtype $dt --precision $p --iters 10 --warmup 3 | ms)")
    w+=("$(timeout "$(limit 60)" "$NEW/fkm_bench" --n $n --d $d --k $k --dtype $dt --precision $p --iters 10 --warmup 3 | ms)")
  done
  python3 -c "
import statistics as s, sys
o=[float(v) for v in sys.argv[1].split()]; w=[float(v) for v in sys.argv[2].split()]
print('ab N=%s D=%s K=%s %s %s: old %s ms, new %s ms, old/new %.3f' % (*sys.argv[3:8], o, w, s.median(o)/s.median(w)))" \
    "${o[*]}" "${w[*]}" $n $d $k $dt $p | tee -a "$OUT/summary.txt"
done
log "ab binaries done, status $status"
exit $status
