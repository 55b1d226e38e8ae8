# A worker that dies or hangs costs time, not results: its task is re-queued, a
# replacement is started, and the manifest equals that of an undisturbed run.
. "$(dirname "$0")/lib.sh"
need_python
demo_model
has_progress() { [ -f "$1/journal.jsonl" ] && [ "$(wc -l <"$1/journal.jsonl")" -ge 4 ]; }

# 1. kill -9 a busy worker.
start_slow_run "$T/killed" "$T/err-kill" -j 2
if wait_for 30 has_progress "$T/killed"; then
    victim=$(workers_of $pid | head -n 1)
    kill -9 "$victim"
fi
wait $pid
check "killed worker: run still succeeds" [ $? -eq 0 ]
check "killed worker: the loss is reported" grep -q "killed by signal 9" "$T/err-kill"
check "killed worker: manifest identical to an undisturbed run" same_manifests "$T/killed/manifest.json" "$T/ref/manifest.json"

# 2. a worker that hangs (SIGSTOP): dropped after --worker-timeout, task re-queued.
start_slow_run "$T/hung" "$T/err-hang" -j 2 --worker-timeout 2
if wait_for 30 has_progress "$T/hung"; then
    victim=$(workers_of $pid | head -n 1)
    kill -STOP "$victim"
fi
wait $pid
check "hung worker: run still succeeds" [ $? -eq 0 ]
check "hung worker: reported as silent" grep -q "was silent for" "$T/err-hang"
check "hung worker: manifest identical to an undisturbed run" same_manifests "$T/hung/manifest.json" "$T/ref/manifest.json"
kill -9 "$victim" 2>/dev/null

# 3. every worker keeps dying: the run gives up with a clear error, no manifest.
"$SWAN_BIN" analyze "$T/model" -o "$T/doomed" -j 1 -q 2>"$T/err-doomed" &
pid=$!
for i in $(seq 1 100); do
    for w in $(workers_of $pid); do kill -9 "$w" 2>/dev/null; done
    kill -0 $pid 2>/dev/null || break
    sleep 0.05
done
wait $pid
status=$?
check "workers that always die: exit status 1 (got $status)" [ $status -eq 1 ]
check "workers that always die: no manifest" [ ! -e "$T/doomed/manifest.json" ]
check "workers that always die: one clear final line" grep -q "swan analyze: .*\(workers\|lost\)" "$T/err-doomed"
# 4. A shard truncated after validation (a disk or copy gone wrong mid-run): the
#    tensors that can no longer be read fail the run with a clear error (status 1, no
#    manifest); whatever was finished before stays in the journal.
#    Tensors are slowed to 0.4 s each so the truncation lands well before the last
#    shard's tensors are read, even on a loaded machine.
cp -r "$T/model" "$T/shrinking"
SWAN_TEST_WORKER_DELAY_MS=400 "$SWAN_BIN" analyze "$T/shrinking" -o "$T/trunc" -j 2 -q 2>"$T/err-trunc" &
pid=$!
if wait_for 30 has_progress "$T/trunc"; then
    last=$(ls "$T/shrinking"/*.safetensors | tail -n 1)
    "$PY" -c 'import os,sys; f=sys.argv[1]; os.truncate(f, os.path.getsize(f) // 2)' "$last"
fi
wait $pid
status=$?
check "truncated shard: exit status 1 (got $status)" [ $status -eq 1 ]
check "truncated shard: no manifest" [ ! -e "$T/trunc/manifest.json" ]
check "truncated shard: the last line says what failed" bash -c "tail -n 1 '$T/err-trunc' | grep -q 'swan analyze: .*\(could not be analyzed\|died or hung\|workers died\)'"
check "truncated shard: finished results kept in the journal" [ "$(wc -l <"$T/trunc/journal.jsonl")" -ge 4 ]
finish
