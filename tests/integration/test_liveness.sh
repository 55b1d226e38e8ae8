# Worker lifetimes and faults over loopback TCP (no root needed; the network-namespace
# version with several hosts is test_multihost_netns.sh):
#  1. a HELLO carrying a local worker's pid gets that peer dropped, and kills nothing;
#  2. garbage at the port: the log about it stays short (rate-limited);
#  3. Ctrl-C of the coordinator stops only its local workers; remote workers keep
#     running and rejoin the same command run again; the manifest is a local run's;
#  4. every worker stopped past --worker-timeout and then resumed: the job finishes
#     promptly (it used to hang forever);
#     (failures and backup copies: test_worker_failures.sh)
. "$(dirname "$0")/lib.sh"
need_python
PEER=${SWAN_HOSTILE_PEER:?}
demo_model
port=$((21000 + $$ % 20000))
ep="tcp://127.0.0.1:$port"
. "$(dirname "$0")/liveness_lib.sh"
trap cleanup_workers EXIT
progress_at_least() { journal_at_least "$@"; }

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

# 2. 400 connections sending garbage: a handful of log lines, not 400. The local
#    worker is held (SIGSTOP, far below --worker-timeout) while the garbage arrives, so
#    the run cannot end before it, however slow a loaded machine makes the peer.
SWAN_TEST_WORKER_DELAY_MS=100 "$SWAN_BIN" analyze "$T/model" -o "$T/garbage" -j 1 -q --listen "$ep" \
    2>"$T/err-garbage" &
pid=$!
wait_for 20 bash -c "[ -n \"\$(pgrep -f -- '--parent $pid\$')\" ] && grep -q 'listening for workers' '$T/err-garbage'"
held=$(workers_of $pid)
kill -STOP $held 2>/dev/null
run_bounded 60 "$PEER" "$ep" --garbage 400 >/dev/null 2>&1
kill -CONT $held 2>/dev/null
wait_bounded 120 $pid
check "garbage: the run finished normally" [ $? -eq 0 ]
lines=$(wc -l <"$T/err-garbage")
check "garbage: the log stayed short ($lines lines for 400 bad frames)" [ "$lines" -le 30 ]
check "garbage: the log says lines were suppressed" grep -q "suppressed" "$T/err-garbage"
check "garbage: manifest identical to an undisturbed run" same_manifests "$T/garbage/manifest.json" "$T/ref/manifest.json"

# 3. Ctrl-C of a coordinator with remote workers only; the workers stay and rejoin.
remote_worker "$T/w1.log"; w1=$last_worker
remote_worker "$T/w2.log"; w2=$last_worker
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

finish
