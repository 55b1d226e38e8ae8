# Worker lifetimes and faults over loopback TCP (no root needed; the network-namespace
# version with several hosts is test_multihost_netns.sh):
#  1. a HELLO carrying a local worker's pid gets that peer dropped, and kills nothing;
#  2. garbage at the port: the log about it stays short (rate-limited);
#  3. Ctrl-C of the coordinator stops only its local workers; remote workers keep
#     running and rejoin the same command run again; the manifest is a local run's;
#  4. every worker stopped past --worker-timeout and then resumed: the job finishes
#     promptly (it used to hang forever);
#  5. a host that cannot read a tensor is dropped and its task done elsewhere; a tensor
#     that fails on 3 different workers fails the job (exit 1, one line naming the
#     tensor and each worker's reason, journal kept), and --keep-failed writes the
#     manifest with it at 16 bits, reason analysis_failed; with fewer workers than
#     that, failing on all of them is enough: the job never hangs.
. "$(dirname "$0")/lib.sh"
need_python
PEER=${SWAN_HOSTILE_PEER:?}
demo_model
port=$((21000 + $$ % 20000))
ep="tcp://127.0.0.1:$port"
progress_at_least() { [ -f "$1/journal.jsonl" ] && [ "$(wc -l <"$1/journal.jsonl")" -ge "$2" ]; }
# remote_worker LOG [env...]: a worker as on another host (not started by analyze)
remote_worker() {
    local log=$1; shift
    env SWAN_TEST_WORKER_DELAY_MS=100 "$@" "$SWAN_BIN" worker --connect "$ep" >"$log" 2>&1 &
    last_worker=$!
}
# wait_bounded SECONDS PID: waits for a background job of this shell, killing it if it
# outlives SECONDS; returns its status.
wait_bounded() {
    ( sleep "$1"; kill -9 "$2" ) >/dev/null 2>&1 &
    local guard=$!
    wait "$2"
    local st=$?
    pkill -P "$guard" 2>/dev/null; kill "$guard" 2>/dev/null
    return $st
}
WORKERS=""
cleanup_workers() { for w in $WORKERS; do kill -9 "$w" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup_workers EXIT

# 1. A peer claims a local worker's pid, takes a task and goes silent.
SWAN_TEST_WORKER_DELAY_MS=200 "$SWAN_BIN" analyze "$T/model" -o "$T/pid" -j 1 -q --listen "$ep" \
    --worker-timeout 2 2>"$T/err-pid" &
pid=$!
wait_for 20 bash -c "[ -n \"\$(pgrep -f -- '--parent $pid\$')\" ]"
victim=$(workers_of $pid | head -n 1)
run_bounded 30 "$PEER" "$ep" --pid-hello "$victim" >"$T/peer-pid.out" 2>&1
check "the peer claiming pid $victim got a task" grep -q "took a task" "$T/peer-pid.out"
check "the local worker whose pid it claimed is still running" kill -0 "$victim"
wait_bounded 120 $pid
check "pid claim: the run finished normally" [ $? -eq 0 ]
check "pid claim: the silent peer was dropped" grep -q "was silent for" "$T/err-pid"
check "pid claim: no worker was killed" bash -c "! grep -q 'killed by signal' '$T/err-pid'"
check "pid claim: manifest identical to an undisturbed run" same_manifests "$T/pid/manifest.json" "$T/ref/manifest.json"

# 2. 400 connections sending garbage: a handful of log lines, not 400.
SWAN_TEST_WORKER_DELAY_MS=100 "$SWAN_BIN" analyze "$T/model" -o "$T/garbage" -j 1 -q --listen "$ep" \
    2>"$T/err-garbage" &
pid=$!
sleep 0.5
run_bounded 60 "$PEER" "$ep" --garbage 400 >/dev/null 2>&1
wait_bounded 120 $pid
check "garbage: the run finished normally" [ $? -eq 0 ]
lines=$(wc -l <"$T/err-garbage")
check "garbage: the log stayed short ($lines lines for 400 bad frames)" [ "$lines" -le 30 ]
check "garbage: the log says lines were suppressed" grep -q "suppressed" "$T/err-garbage"
check "garbage: manifest identical to an undisturbed run" same_manifests "$T/garbage/manifest.json" "$T/ref/manifest.json"

# 3. Ctrl-C of a coordinator with remote workers only; the workers stay and rejoin.
remote_worker "$T/w1.log"; w1=$last_worker
remote_worker "$T/w2.log"; w2=$last_worker
WORKERS="$w1 $w2"
coordinate() {
    SWAN_TEST_WORKER_DELAY_MS=100 "$SWAN_BIN" analyze "$T/model" -o "$T/cc" -j 0 -q --listen "$ep" \
        --worker-timeout 3 "$@" 2>>"$T/err-cc" &
    coord=$!
}
coordinate
if wait_for 60 progress_at_least "$T/cc" 5; then kill -INT $coord; fi
wait $coord
check "Ctrl-C: the coordinator exited 130 (got $?)" [ $? -eq 130 ]
sleep 1.5
check "Ctrl-C: both remote workers are still running" kill -0 $w1 $w2
t0=$(date +%s)
coordinate
wait_bounded 90 $coord
check "Ctrl-C: the same command again finished (status $?)" [ $? -eq 0 ]
check "Ctrl-C: it resumed from the journal" grep -q "resuming:" "$T/err-cc"
check "Ctrl-C: manifest identical to an undisturbed run" same_manifests "$T/cc/manifest.json" "$T/ref/manifest.json"
check "Ctrl-C: the remote workers left when the job was done" wait_for 10 bash -c "! kill -0 $w1 2>/dev/null && ! kill -0 $w2 2>/dev/null"

# 4. Every worker stopped past the timeout, then resumed.
remote_worker "$T/w3.log"; w3=$last_worker
remote_worker "$T/w4.log"; w4=$last_worker
WORKERS="$w3 $w4"
SWAN_TEST_WORKER_DELAY_MS=100 "$SWAN_BIN" analyze "$T/model" -o "$T/stop" -j 0 -q --listen "$ep" \
    --worker-timeout 2 2>"$T/err-stop" &
coord=$!
if wait_for 60 progress_at_least "$T/stop" 5; then
    kill -STOP $w3 $w4
    sleep 4
    kill -CONT $w3 $w4
fi
t0=$(date +%s)
wait_bounded 60 $coord
status=$?
took=$(($(date +%s) - t0))
check "all stopped: the run finished (status $status) ${took}s after the workers resumed" [ $status -eq 0 ]
check "all stopped: the workers were dropped, then used again" bash -c "grep -q 'was silent for' '$T/err-stop' && grep -q 'is back\|reconnected\|joined' '$T/err-stop'"
check "all stopped: manifest identical to an undisturbed run" same_manifests "$T/stop/manifest.json" "$T/ref/manifest.json"

# 5a. One host cannot read most tensors: it is dropped, the others do its work.
remote_worker "$T/bad.log" SWAN_TEST_WORKER_FAIL=layers; bad=$last_worker
WORKERS="$bad"
sleep 0.3
SWAN_TEST_WORKER_DELAY_MS=50 "$SWAN_BIN" analyze "$T/model" -o "$T/badhost" -j 1 -q --listen "$ep" \
    --worker-timeout 5 2>"$T/err-badhost" &
coord=$!
wait_bounded 120 $coord
check "bad host: the run succeeded without it (status $?)" [ $? -eq 0 ]
check "bad host: its failure was logged" grep -q "could not analyze" "$T/err-badhost"
check "bad host: manifest identical to an undisturbed run" same_manifests "$T/badhost/manifest.json" "$T/ref/manifest.json"
kill $bad 2>/dev/null

# 5b. One tensor fails everywhere; three remote workers.
victim_tensor=model.layers.3.mlp.down_proj.weight
WORKERS=""
for i in 1 2 3; do
    remote_worker "$T/f$i.log" SWAN_TEST_WORKER_FAIL=$victim_tensor
    WORKERS="$WORKERS $last_worker"
done
run3() {
    SWAN_TEST_WORKER_DELAY_MS=20 "$SWAN_BIN" analyze "$T/model" -o "$T/fail3" -j 0 -q --listen "$ep" \
        --worker-timeout 5 "$@" 2>"$T/err-fail3" &
    coord=$!
    wait_bounded 120 $coord
}
run3
check "3 failures: exit status 1 (got $?)" [ $? -eq 1 ]
line=$(grep "tensor '$victim_tensor' failed:" "$T/err-fail3")
nworkers=$(printf '%s' "$line" | grep -o "worker [^ ]*/[0-9]*:" | sort -u | wc -l)
check "3 failures: one line names the tensor and 3 different workers' reasons ($nworkers)" [ "$nworkers" -eq 3 ]
check "3 failures: only that tensor failed" [ "$(grep -c "failed:" "$T/err-fail3")" -eq 1 ]
check "3 failures: no manifest" [ ! -e "$T/fail3/manifest.json" ]
analyzed=$("$PY" -c 'import json,sys; m=json.load(open(sys.argv[1])); print(sum("raw" in t for sh in m["shards"].values() for t in sh["tensors"].values()))' "$T/ref/manifest.json")
journaled=$(($(wc -l <"$T/fail3/journal.jsonl") - 1))
check "3 failures: every other tensor is in the journal ($journaled of $analyzed)" [ "$journaled" -eq $((analyzed - 1)) ]
run3 --keep-failed
check "--keep-failed: exit status still 1 (got $?)" [ $? -eq 1 ]
check "--keep-failed: the rerun only retried the failed tensor" grep -q "resuming:" "$T/err-fail3"
check "--keep-failed: manifest has the tensor at 16 bits, reason analysis_failed, all else as a normal run" \
    "$PY" - "$T/fail3/manifest.json" "$T/ref/manifest.json" "$victim_tensor" <<'PYEOF'
import json, sys
got, ref, name = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
def tensors(m):
    return {n: t for sh in m["shards"].values() for n, t in sh["tensors"].items()}
g, r = tensors(got), tensors(ref)
assert g.keys() == r.keys()
assert g[name]["decision"]["bits"] == 16 and g[name]["decision"]["reason"] == "analysis_failed", g[name]
for n in r:
    if n != name:
        assert g[n]["decision"] == r[n]["decision"], n
PYEOF
for w in $WORKERS; do kill "$w" 2>/dev/null; done

# 5c. Fewer workers than 3, all failing it: given up on after both, never a hang.
SWAN_TEST_WORKER_FAIL=$victim_tensor run_bounded 120 "$SWAN_BIN" analyze "$T/model" -o "$T/fail2" -j 2 -q \
    2>"$T/err-fail2"
check "2 local workers: exit status 1 (got $?)" [ $? -eq 1 ]
check "2 local workers: given up after failing on both" grep -q "failed on every worker available" "$T/err-fail2"
check "2 local workers: the last line says what to do" bash -c "tail -n 1 '$T/err-fail2' | grep -q 'could not be analyzed'"
finish
