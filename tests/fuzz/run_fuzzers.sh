#!/usr/bin/env bash
# Runs every fuzz target for a bounded time, starting from the committed seed corpus, and fails
# on any finding (crash, sanitizer report, leak, timeout, out-of-memory).
#   usage: tests/fuzz/run_fuzzers.sh [BUILD_DIR=build/fuzz] [SECONDS_PER_TARGET=45]
# A finding is saved as BUILD_DIR/fuzz-artifacts/<target>-crash-<sha1>: copy it into
# tests/fuzz/regressions/<target>/ so the io tests replay it on every build (test_fuzz_regressions.cpp).
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/fuzz}
seconds=${2:-45}
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
status=0
total_execs=0
for target in npy_header npy_reader vecs_reader; do
  case $target in
    vecs_reader) seeds=tests/fuzz/corpus/vecs; dict="" ;;
    *) seeds=tests/fuzz/corpus/npy; dict="-dict=tests/fuzz/npy.dict" ;;
  esac
  # New inputs go to a scratch corpus, so the committed one stays small and reviewed.
  work="$build/fuzz-corpus/$target"
  mkdir -p "$work"
  log="$artifacts/$target.log"
  # -rss_limit_mb: a reader must never allocate more than its input justifies.
  "$build/tests/fuzz/fuzz_$target" "$work" "$seeds" "tests/fuzz/regressions/$target" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
      $dict -print_final_stats=1 -artifact_prefix="$artifacts/$target-" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  total_execs=$((total_execs + ${execs:-0}))
  if [ $rc -ne 0 ]; then
    echo "fuzz_$target: FINDING (exit $rc), see $log:"
    grep -E "ERROR|runtime error|SUMMARY|Test unit written" "$log" | head -20
    status=1
  else
    echo "fuzz_$target: ok, ${execs:-?} executions in ${seconds}s, corpus $(ls "$work" | wc -l) inputs"
  fi
done
echo "fuzzing: $total_execs executions in total"
exit $status
