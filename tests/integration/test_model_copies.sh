# Workers with their own copy of the model (swan worker --model-dir): a copy at
# another path gives the same manifest; a copy whose tensor data differs (same
# headers: what two fine-tunes of one architecture look like) or that lacks a shard
# is refused before any task, with the first differing file named by both the
# worker (exit 2) and the coordinator, and the job still ends with the right manifest.
. "$(dirname "$0")/lib.sh"
need_python
demo_model
port=$(free_port)
ep="tcp://127.0.0.1:$port"
cp -r "$T/model" "$T/copy"
cp -r "$T/model" "$T/finetune"
last=$(cd "$T/model" && ls *.safetensors | tail -n 1)
"$PY" - "$T/finetune/$last" <<'PYEOF'
import struct, sys
f = sys.argv[1]
b = bytearray(open(f, "rb").read())
n = struct.unpack("<Q", b[:8])[0]
for i in range(8 + n, len(b)):   # every data byte changes, the header stays
    b[i] ^= 0x01
open(f, "wb").write(b)
PYEOF
cp -r "$T/model" "$T/partial"
rm "$T/partial/$last"

# 1. A copy at another path: same manifest as the reference run.
"$SWAN_BIN" worker -j 1 --connect "$ep" --model-dir "$T/copy" >"$T/w-copy.log" 2>&1 &
wc=$!
run_bounded 120 "$SWAN_BIN" analyze "$T/model" -o "$T/out1" -j 0 -q --listen "$ep" 2>"$T/err1"
st=$?
check "a worker with its own copy did the job (status $st)" [ $st -eq 0 ]
check "manifest identical to the single-machine run" same_manifests "$T/out1/manifest.json" "$T/ref/manifest.json"
check "the worker left on SHUTDOWN" wait_for 10 bash -c "! kill -0 $wc 2>/dev/null"

# 2. A different fine-tune and a copy missing a shard: refused, never used; a good
#    local worker does the job.
port=$(free_port)
ep="tcp://127.0.0.1:$port"
"$SWAN_BIN" worker -j 1 --connect "$ep" --model-dir "$T/finetune" >"$T/w-ft.log" 2>&1 &
wf=$!
"$SWAN_BIN" worker -j 1 --connect "$ep" --model-dir "$T/partial" >"$T/w-part.log" 2>&1 &
wp=$!
SWAN_TEST_WORKER_DELAY_MS=50 run_bounded 120 "$SWAN_BIN" analyze "$T/model" -o "$T/out2" -j 1 -q \
    --listen "$ep" 2>"$T/err2"
st=$?
check "the job finished with the good worker (status $st)" [ $st -eq 0 ]
check "manifest identical to the single-machine run" same_manifests "$T/out2/manifest.json" "$T/ref/manifest.json"
wait $wf; sf=$?
wait $wp; sp=$?
check "the fine-tune's worker exited 2 (got $sf)" [ $sf -eq 2 ]
check "... saying which file differs" grep -q "its copy of $last differs: tensor data differs" "$T/w-ft.log"
check "the coordinator named the file too" grep -q "was refused: its copy of $last differs: tensor data differs" "$T/err2"
check "the partial copy's worker exited 2 (got $sp)" [ $sp -eq 2 ]
check "... saying which file is missing" grep -q "its copy of $last differs: missing" "$T/w-part.log"
echo "--- coordinator log:"; cat "$T/err2"; echo "--- fine-tune worker:"; cat "$T/w-ft.log"
finish
