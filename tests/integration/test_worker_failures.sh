# Worker faults over loopback TCP (workers started by hand, as on other hosts):
#  1. a host that cannot read tensors is dropped and its tasks done elsewhere;
#  2. a tensor that fails on 3 different workers fails the job (exit 1, one line
#     naming the tensor and each worker's reason, journal kept), and --keep-failed
#     writes the manifest with it at 16 bits, reason analysis_failed;
#  3. with fewer workers than that, failing on all of them is enough: never a hang;
#  4. a very slow host holding tasks at the end: an idle worker runs backup copies and
#     the job ends long before the slow host would have (first result wins).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/liveness_lib.sh"
need_python
trap cleanup_workers EXIT
demo_model
port=$((23000 + $$ % 20000))
ep="tcp://127.0.0.1:$port"

# 1. One host cannot read most tensors: it is dropped, the others do its work.
remote_worker "$T/bad.log" SWAN_TEST_WORKER_FAIL=layers; bad=$last_worker
sleep 0.3
SWAN_TEST_WORKER_DELAY_MS=50 "$SWAN_BIN" analyze "$T/model" -o "$T/badhost" -j 1 -q --listen "$ep" \
    --worker-timeout 5 2>"$T/err-badhost" &
coord=$!
wait_bounded 120 $coord
check "bad host: the run succeeded without it (status $?)" [ $? -eq 0 ]
check "bad host: its failure was logged" grep -q "could not analyze" "$T/err-badhost"
check "bad host: manifest identical to an undisturbed run" same_manifests "$T/badhost/manifest.json" "$T/ref/manifest.json"
kill $bad 2>/dev/null

# 2. One tensor fails everywhere; three remote workers.
victim_tensor=model.layers.3.mlp.down_proj.weight
failing=""
for i in 1 2 3; do
    remote_worker "$T/f$i.log" SWAN_TEST_WORKER_FAIL=$victim_tensor
    failing="$failing $last_worker"
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
for w in $failing; do kill "$w" 2>/dev/null; done

# 3. Fewer workers than 3, all failing it: given up on after both, never a hang.
SWAN_TEST_WORKER_FAIL=$victim_tensor run_bounded 120 "$SWAN_BIN" analyze "$T/model" -o "$T/fail2" -j 2 -q \
    2>"$T/err-fail2"
check "2 local workers: exit status 1 (got $?)" [ $? -eq 1 ]
check "2 local workers: given up after failing on both" grep -q "failed on every worker available" "$T/err-fail2"
check "2 local workers: the last line says what to do" bash -c "tail -n 1 '$T/err-fail2' | grep -q 'could not be analyzed'"

# 4. Backup copies: a remote worker that needs 30 s per tensor, and one fast local one.
remote_worker "$T/slow.log" SWAN_TEST_WORKER_DELAY_MS=30000; slow=$last_worker
sleep 0.3
t0=$(date +%s)
"$SWAN_BIN" analyze "$T/model" -o "$T/backup" -j 1 -q --listen "$ep" 2>"$T/err-backup" &
coord=$!
wait_bounded 60 $coord
status=$?
took=$(($(date +%s) - t0))
check "backup: the job finished (status $status) in ${took} s, before the slow host's 30 s" [ $status -eq 0 -a $took -lt 25 ]
check "backup: workers.json counts the backup copies" "$PY" -c '
import json, sys; w = json.load(open(sys.argv[1])); assert w["backup_copies"] >= 1, w' "$T/backup/workers.json"
check "backup: manifest identical to an undisturbed run" same_manifests "$T/backup/manifest.json" "$T/ref/manifest.json"
check "backup: the slow worker was told to leave and stopped at once" wait_for 5 bash -c "! kill -0 $slow 2>/dev/null"
finish
