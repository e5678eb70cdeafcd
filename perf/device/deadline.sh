# Shared by the device scripts (sourced, not run): steps under one deadline, correctness first.
# The sourcing script sets OUT (logs), START (date +%s), BUDGET (seconds) and steps (" step ... "),
# or calls begin for all of them:
#   begin DEFAULT_BUDGET [STEP...]  OUT (default /tmp/fkm_out), LOGS=$OUT/logs (made), START now,
#                              BUDGET=${BUDGET_S:-DEFAULT_BUDGET}, steps (default: all), status=0
#   log MSG                    "== [elapsed] MSG" on stdout and in $OUT/summary.txt
#   left                       seconds the deadline leaves
#   limit WANT                 WANT, at most what the deadline leaves (>= 1)
#   has STEP                   whether STEP was asked for
#   enough NAME SECONDS        true when the deadline leaves SECONDS, else logs that NAME is skipped
#   run NAME LOGFILE WANT CMD  CMD under a timeout of limit WANT, output appended to LOGFILE, rc logged
begin() {
  OUT=${OUT:-/tmp/fkm_out}
  LOGS=$OUT/logs
  mkdir -p "$LOGS"
  START=$(date +%s)
  BUDGET=${BUDGET_S:-$1}
  shift
  steps=" ${*:-all} "
  status=0
}
log() { echo "== [$(($(date +%s) - START))s] $*" | tee -a "$OUT/summary.txt"; }
left() { echo $((START + BUDGET - $(date +%s))); }
limit() {
  local l
  l=$(left)
  [ "$1" -lt "$l" ] && l=$1
  [ "$l" -lt 1 ] && l=1
  echo "$l"
}
has() { [[ "$steps" == *" $1 "* ]]; }
enough() {
  [ "$(left)" -ge "$2" ] && return 0
  log "$1: skipped ($(left) s left)"
  return 1
}
run() {
  local name=$1 file=$2 want=$3
  shift 3
  echo "##### $name: $*" >> "$file"
  timeout "$(limit "$want")" "$@" >> "$file" 2>&1
  local rc=$?
  log "$name rc=$rc$([ $rc -eq 124 ] && echo ' (timed out)')"
  return $rc
}
