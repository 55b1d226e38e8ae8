# Hostile or broken peers on the network: garbage bytes, a wrong protocol version,
# extra frames, a 65 MiB frame, coordinator-only messages, results for tasks the peer
# does not hold, results with the wrong tensors, FETCHes it may not make (without
# streaming, another task, past the tensor, a flood of them whose chunks it never
# takes in), and a peer that takes a task and goes
# silent. The coordinator logs each in one line, never crashes, re-queues what the
# bad peers held, and writes the same manifest as an undisturbed run.
. "$(dirname "$0")/lib.sh"
need_python
PEER=${SWAN_HOSTILE_PEER:?}
demo_model
port=$((20000 + $$ % 20000))
SWAN_TEST_WORKER_DELAY_MS=200 "$SWAN_BIN" analyze "$T/model" -o "$T/out" -j 1 -q \
    --listen "tcp://127.0.0.1:$port" --worker-timeout 3 2>"$T/err" &
pid=$!
sleep 0.5
run_bounded 60 "$PEER" "tcp://127.0.0.1:$port" >"$T/peer.out" 2>&1
check "hostile peer ran its script" grep -q "hostile_peer: done" "$T/peer.out"
wait $pid
status=$?
check "coordinator finished normally (status $status)" [ $status -eq 0 ]
check "malformed bytes were reported" grep -q "malformed message" "$T/err"
check "a result for a task not held was reported" grep -q "inconsistent result" "$T/err"
check "the silent peer was dropped" grep -q "was silent for" "$T/err"
check "bad fetches dropped their senders (4)" [ "$(grep -c "sent a bad fetch and was dropped" "$T/err")" -eq 4 ]
check "... a fetch without streaming" grep -q "asked for tensor bytes without saying it streams" "$T/err"
check "... a fetch for a task not held" grep -q "asked for bytes of task [0-9]*, which it does not hold" "$T/err"
check "... a fetch past the tensor" grep -q "asked for bytes [0-9]*+16 of a [0-9]*-byte part" "$T/err"
check "... a flood of fetches never taken in (credit counted by the coordinator)" \
    grep -q "asked for more than 128 chunks it has not taken in" "$T/err"
check "manifest identical to an undisturbed run" same_manifests "$T/out/manifest.json" "$T/ref/manifest.json"
echo "--- coordinator log:"; cat "$T/err"
finish
