# Workers without the model (swan worker --stream, or a --model-dir holding none of
# the model's files): every tensor's bytes come from the coordinator in chunks under
# a 1 MiB credit window (the demo model's larger tensors are several MiB, so they
# take many chunks and the window fills), FP8 weights with their scale grids too.
# The manifest equals a local run's apart from timing, and every journaled raw
# result, data_hash included, is bit-identical.
. "$(dirname "$0")/lib.sh"
need_python
demo_model
mkdir -p "$T/empty"
GEN="$(dirname "$0")/../tools/make_formats_fixture.py"

# The journal's records without the seconds a tensor took: raw metrics and data_hash.
results_of() {
    "$PY" - "$1" <<'PYEOF'
import json, sys
for line in open(sys.argv[1]).read().splitlines()[1:]:
    r = json.loads(line)
    r.pop("seconds", None); r.pop("crc", None)
    print(json.dumps(r, sort_keys=True))
PYEOF
}
same_results() { diff <(results_of "$1" | sort) <(results_of "$2" | sort) >/dev/null; }

# run_streamed MODEL OUT WORKER_FLAGS...: analyze MODEL with no local worker and one
# streaming worker on loopback (with CURVE keys when COORD_FLAGS holds the
# coordinator's); status in $st, logs in OUT.err / OUT.wlog.
COORD_FLAGS=()
run_streamed() {
    local model=$1 out=$2; shift 2
    local port ep wpid
    port=$(free_port)
    ep="tcp://127.0.0.1:$port"
    "$SWAN_BIN" worker -j 1 --connect "$ep" "$@" >"$out.wlog" 2>&1 &
    wpid=$!
    run_bounded 60 "$SWAN_BIN" analyze "$model" -o "$out" -j 0 -q --listen "$ep" "${COORD_FLAGS[@]}" \
        2>"$out.err"
    st=$?
    wait_for 10 bash -c "! kill -0 $wpid 2>/dev/null"
    wst=$?
    kill -9 "$wpid" 2>/dev/null
}

# 1. --stream, with a 1 MiB window: the files are readable here, but not read.
run_streamed "$T/model" "$T/s1" --stream --stream-window 1
check "--stream: the job finished (status $st)" [ $st -eq 0 ]
check "--stream: manifest identical to the local run" same_manifests "$T/s1/manifest.json" "$T/ref/manifest.json"
check "--stream: raw results and data_hash identical" same_results "$T/s1/journal.jsonl" "$T/ref/journal.jsonl"
check "--stream: the coordinator streamed the bytes" grep -q "streamed .* MB of tensor bytes in [0-9]* chunks" "$T/s1.err"
chunks=$(sed -n 's/.* in \([0-9]*\) chunks.*/\1/p' "$T/s1.err")
check "--stream: many chunks of at most 256 KiB (got ${chunks:-none})" [ "${chunks:-0}" -ge 200 ]
check "--stream: the worker left on SHUTDOWN" [ $wst -eq 0 ]

# 2. A --model-dir without the files: streaming is chosen by itself (over CURVE, as
#    between hosts: the chunks' second frame goes through the encryption too).
make_keys "$T/keys" w1 || { fail "swan keygen"; finish; }
worker_curve "$T/keys" w1
COORD_FLAGS=("${COORD_CURVE[@]}")
run_streamed "$T/model" "$T/s2" --model-dir "$T/empty" "${WORKER_CURVE[@]}"
COORD_FLAGS=()
check "empty --model-dir: the job finished (status $st)" [ $st -eq 0 ]
check "empty --model-dir: manifest identical" same_manifests "$T/s2/manifest.json" "$T/ref/manifest.json"
check "empty --model-dir: raw results identical" same_results "$T/s2/journal.jsonl" "$T/ref/journal.jsonl"
check "empty --model-dir: the link was encrypted" grep -q "CURVE, allowed keys only" "$T/s2.err"
check "empty --model-dir: logged as streaming" grep -q "has no copy of the model: its tensor bytes are streamed" "$T/s2.err"

# 3. FP8 weights (block, per-row and per-tensor scales): data and scales streamed.
if "$PY" "$GEN" fp8 "$T/fp8" "$T/bf16" >/dev/null; then
    "$SWAN_BIN" analyze "$T/fp8" -o "$T/fp8-ref" -j 1 -q 2>"$T/fp8-ref.err"
    check "fp8: local run" [ $? -eq 0 ]
    run_streamed "$T/fp8" "$T/s3" --model-dir "$T/empty" --stream-window 1
    check "fp8 streamed: the job finished (status $st)" [ $st -eq 0 ]
    check "fp8 streamed: manifest identical" same_manifests "$T/s3/manifest.json" "$T/fp8-ref/manifest.json"
    check "fp8 streamed: raw results identical" same_results "$T/s3/journal.jsonl" "$T/fp8-ref/journal.jsonl"
else
    fail "fixture generator (fp8)"
fi
# 4. The model's shards shrink while they are streamed (a re-download, a user rewriting
#    the model): the coordinator must not die of SIGBUS on its mapping. It stops the run
#    naming the file, writes no manifest, and keeps what was journaled before.
cp -r "$T/model" "$T/shrink"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
SWAN_TEST_WORKER_DELAY_MS=300 "$SWAN_BIN" worker -j 1 --connect "$ep" --stream --stream-window 1 \
    >"$T/s4.wlog" 2>&1 &
wpid=$!
"$SWAN_BIN" analyze "$T/shrink" -o "$T/s4" -j 0 -q --listen "$ep" 2>"$T/s4.err" &
apid=$!
. "$(dirname "$0")/liveness_lib.sh"
wait_for 60 journal_at_least "$T/s4" 3
for f in "$T"/shrink/*.safetensors; do truncate -s $(($(stat -c %s "$f") * 6 / 10)) "$f"; done
wait_for 60 bash -c "! kill -0 $apid 2>/dev/null"
wait $apid
st=$?
kill -9 "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null
check "shrunk shard: the run failed cleanly (status $st, not a signal)" [ $st -eq 1 ]
check "shrunk shard: the shard is named" grep -q "shrink/model-0000[12]-of-00002.safetensors.*while it was being streamed" "$T/s4.err"
check "shrunk shard: no manifest" [ ! -e "$T/s4/manifest.json" ]
check "shrunk shard: the journal kept its results" journal_at_least "$T/s4" 3

for f in "$T"/s1.err "$T"/s1.wlog "$T"/s4.err; do echo "--- $f"; cat "$f"; done
finish
