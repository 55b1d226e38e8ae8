# Whole-cluster outages (three worker hosts as network namespaces, see netns.sh):
#  1. every worker stopped (SIGSTOP) past --worker-timeout, then continued: they are
#     used again at once and the job finishes promptly (it used to hang forever);
#  2. every link down for 15 s with the default 120 s --worker-timeout: the workers
#     reconnect, their old tasks are re-queued at once instead of waiting out the
#     timeout, and the job finishes promptly.
# Both manifests equal a single-machine run's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"
need_python
netns_need
netns_hosts 3
demo_model
start_workers() {
    for h in 1 2 3; do
        netns_worker $h "$T/w$h-$1.log" SWAN_TEST_WORKER_DELAY_MS=300
        eval "w$h=\$last_worker"
    done
}
coordinate() { # coordinate OUT [flags]
    local out=$1; shift
    SWAN_TEST_WORKER_DELAY_MS=300 "$SWAN_BIN" analyze "$T/model" -o "$out" -j 0 -q \
        --listen "tcp://*:$NETNS_PORT" "${COORD_CURVE[@]}" "$@" 2>"$out.err" &
    coord=$!
    NETNS_PIDS="$NETNS_PIDS $coord"
}

# 1. All workers stopped past the timeout.
start_workers stop
coordinate "$T/stop" --worker-timeout 2
if wait_for 60 journal_at_least "$T/stop" 4; then
    kill -STOP $w1 $w2 $w3
    sleep 4
    kill -CONT $w1 $w2 $w3
else
    fail "no progress within 60 s"
fi
t0=$(date +%s)
wait_bounded 90 $coord
status=$?
took=$(($(date +%s) - t0))
check "all stopped: finished (status $status) ${took} s after the workers continued" [ $status -eq 0 -a $took -le 30 ]
check "all stopped: the workers had been dropped" grep -q "was silent for" "$T/stop.err"
check "all stopped: manifest identical to a single-machine run" same_manifests "$T/stop/manifest.json" "$T/ref/manifest.json"
wait_for 10 bash -c "! kill -0 $w1 2>/dev/null"

# 2. All links down for 15 s, default timeout.
start_workers links
coordinate "$T/links"
if wait_for 60 journal_at_least "$T/links" 4; then
    for h in 1 2 3; do netns_link $h down; done
    sleep 15
    for h in 1 2 3; do netns_link $h up; done
else
    fail "no progress within 60 s"
fi
t0=$(date +%s)
wait_bounded 120 $coord
status=$?
took=$(($(date +%s) - t0))
check "links down 15 s: finished (status $status) ${took} s after the links came back (timeout 120 s)" \
    [ $status -eq 0 -a $took -le 40 ]
check "links down 15 s: the workers reconnected" grep -q "reconnected" "$T/links.err"
check "links down 15 s: manifest identical to a single-machine run" same_manifests "$T/links/manifest.json" "$T/ref/manifest.json"
echo "--- coordinator logs:"; cat "$T/stop.err" "$T/links.err"
finish
