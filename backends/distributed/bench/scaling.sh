#!/usr/bin/env bash
# Scaling table of docs/clusters.md: builds fkm with MPI (Release) and runs fkm_mpi_bench for
# 1, 2, 4, ... processes splitting the machine's cores, plus one process with all cores.
#   backends/distributed/bench/scaling.sh BUILD_DIR N D K ITERS PEAK_GFLOPS MEM_GBPS
set -euo pipefail
build=$1 n=$2 d=$3 k=$4 iters=$5 peak=$6 bw=$7
src=$(cd "$(dirname "$0")/../../.." && pwd)
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFKM_ENABLE_MPI=ON -DFKM_BUILD_TESTS=OFF > /dev/null
cmake --build "$build" --target fkm_mpi_bench > /dev/null
cores=$(nproc)
export OMP_WAIT_POLICY=PASSIVE OMP_PROC_BIND=false
flags="--allow-run-as-root --oversubscribe --bind-to none"
for np in 1 2 4 8 16 32 64; do
  [ "$np" -le "$cores" ] || break
  mpirun $flags -np "$np" "$build/backends/distributed/fkm_mpi_bench" "$n" "$d" "$k" "$iters" cpu $((cores / np)) "$peak" "$bw"
done
