# Several hosts, and everything that goes wrong with them at once: a coordinator host
# (this namespace, no local workers) and three worker hosts (network namespaces). The
# workers start first and wait. The coordinator is interrupted with Ctrl-C part-way:
# the remote workers keep running. The same command is run again and they rejoin it;
# during that run one worker is SIGKILLed, another SIGSTOPped past --worker-timeout
# and then continued, and the third host's link is taken down and up again. The third
# host has no copy of the model: its tensor bytes are streamed to it over its link
# (--stream), across the outage too. The job completes and the manifest equals a
# single-machine run's (timing aside).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"
need_python
netns_need
netns_hosts 3
demo_model
for h in 1 2 3; do
    if [ $h -eq 3 ]; then
        netns_worker $h "$T/w$h.log" SWAN_TEST_WORKER_DELAY_MS=400 -- --stream --stream-window 1
    else
        netns_worker $h "$T/w$h.log" SWAN_TEST_WORKER_DELAY_MS=400
    fi
    eval "w$h=\$last_worker"
done
coordinate() {
    SWAN_TEST_WORKER_DELAY_MS=400 "$SWAN_BIN" analyze "$T/model" -o "$T/out" -j 0 -q \
        --listen "tcp://*:$NETNS_PORT" "${COORD_CURVE[@]}" --worker-timeout 2 2>>"$T/err" &
    coord=$!
    NETNS_PIDS="$NETNS_PIDS $coord"
}

# 1. Ctrl-C of the coordinator: remote workers stay.
coordinate
if wait_for 60 journal_at_least "$T/out" 4; then kill -INT $coord; else fail "no progress from the remote workers within 60 s"; fi
wait_bounded 30 $coord
check "Ctrl-C: the coordinator exited 130 (got $?)" [ $? -eq 130 ]
sleep 1
check "Ctrl-C: the three remote workers are still running" kill -0 $w1 $w2 $w3
done_before=$(($(wc -l <"$T/out/journal.jsonl") - 1))

# 2. The same command again; the workers rejoin; then kill, stop, unplug.
coordinate
if wait_for 60 journal_at_least "$T/out" $((done_before + 4)); then
    pass "the remote workers rejoined the restarted coordinator"
    kill -9 $w1
    kill -STOP $w2
    sleep 3.5
    kill -CONT $w2
    netns_link 3 down
    sleep 3.5
    netns_link 3 up
else
    fail "the remote workers did not rejoin the restarted coordinator"
fi
wait_bounded 120 $coord
status=$?
check "the restarted job completed (status $status)" [ $status -eq 0 ]
check "it resumed from the journal" grep -q "resuming: $done_before of" "$T/err"
check "the stopped and the unplugged workers were dropped" [ "$(grep -c 'was silent for' "$T/err")" -ge 2 ]
check "manifest identical to a single-machine run" same_manifests "$T/out/manifest.json" "$T/ref/manifest.json"
check "host 3 had its tensor bytes streamed" grep -q "has no copy of the model: its tensor bytes are streamed" "$T/err"
check "the coordinator streamed bytes to it" grep -q "streamed .* MB of tensor bytes in [0-9]* chunks" "$T/err"
check "OUT/workers.json lists the three hosts" "$PY" -c '
import json, sys; w = json.load(open(sys.argv[1]))
assert len([h for h in w["hosts"] if not h["local"]]) >= 1 and w["tensors_done"] == w["tensors_total"], w' "$T/out/workers.json"
check "the surviving workers exited when the job was done" \
    wait_for 10 bash -c "! kill -0 $w2 2>/dev/null && ! kill -0 $w3 2>/dev/null"
echo "--- coordinator log:"; cat "$T/err"
finish
