# liveness_lib.sh: helpers for the tests of worker lifetimes and faults (sourced after
# lib.sh, not run): bounded waits on background jobs, journal progress, and workers
# started by hand as on another host (over loopback TCP).

# wait_bounded SECONDS PID: waits for a background job of this shell, killing it if
# it outlives SECONDS; returns its status.
wait_bounded() {
    ( sleep "$1"; kill -9 "$2" ) >/dev/null 2>&1 &
    local guard=$!
    wait "$2"
    local st=$?
    pkill -P "$guard" 2>/dev/null; kill "$guard" 2>/dev/null
    return $st
}
# journal_at_least OUT N: OUT/journal.jsonl has N lines (the header counts).
journal_at_least() { [ -f "$1/journal.jsonl" ] && [ "$(wc -l <"$1/journal.jsonl")" -ge "$2" ]; }
# remote_worker LOG [VAR=value...]: a worker as on another host (not started by
# analyze), connecting to $ep, 100 ms per tensor unless the environment says
# otherwise; its pid in $last_worker and added to $WORKERS (killed at exit).
WORKERS=""
remote_worker() {
    local log=$1; shift
    env SWAN_TEST_WORKER_DELAY_MS=100 "$@" "$SWAN_BIN" worker -j 1 --connect "$ep" >"$log" 2>&1 &
    last_worker=$!
    WORKERS="$WORKERS $last_worker"
}
cleanup_workers() { for w in $WORKERS; do kill -9 "$w" 2>/dev/null; done; rm -rf "$T"; }
