# swan quantize with workers of other hosts (docs/protocol.md "Quantizing"): no local
# workers (-j 0), a hostile peer first takes tasks and sends bad QCHUNKs (another
# task, a tensor not in its task, a gap, a duplicate, too many bytes) and then every
# byte as zeros with a RESULT whose hashes are not those bytes'; each is dropped with
# one line naming the problem and its task re-queued. Then a real `swan worker` over
# tcp (CURVE keys, streaming the tensor bytes: no model files read on its side)
# quantizes everything: the folder equals, byte for byte, the one local workers wrote
# (-j 1 and -j 2, also equal), so no wrong byte survived.
. "$(dirname "$0")/lib.sh"
need_shared
need_python
PEER=${SWAN_HOSTILE_PEER:?}
SRC="$SWAN_SHARED/fixtures/fx-moe-f16-sharded"

"$SWAN_BIN" quantize "$SRC" -o "$T/j1" --bits 4 -j 1 2>/dev/null || { fail "local -j 1 run failed"; finish; }
"$SWAN_BIN" quantize "$SRC" -o "$T/j2" --bits 4 -j 2 2>/dev/null || { fail "local -j 2 run failed"; finish; }
check "local workers: -j 1 and -j 2 byte-identical" diff -r "$T/j1" "$T/j2"

make_keys "$T/keys" w1 || { fail "swan keygen"; finish; }
worker_curve "$T/keys" w1
port=$(free_port)
"$SWAN_BIN" quantize "$SRC" -o "$T/remote" --bits 4 -j 0 --listen "tcp://127.0.0.1:$port" \
    --worker-timeout 5 "${COORD_CURVE[@]}" 2>"$T/err" &
pid=$!
sleep 0.5
# The hostile peer speaks CURVE with an allowed key: it gets past authentication.
run_bounded 60 "$PEER" "tcp://127.0.0.1:$port" --curve "$T/keys/coordinator.pub" "$T/keys/w1.key" \
    --quantize >"$T/peer.out" 2>&1
check "hostile peer ran its cases" grep -q "hostile_peer: done (0 cases" "$T/peer.out"
run_bounded 90 "$SWAN_BIN" worker --connect "tcp://127.0.0.1:$port" --stream "${WORKER_CURVE[@]}" \
    >"$T/w.out" 2>&1
wst=$?
wait $pid
st=$?
check "coordinator finished normally (status $st)" [ $st -eq 0 ]
check "the remote worker left on SHUTDOWN (status $wst)" [ $wst -eq 0 ]
check "bad chunks dropped their senders (5)" [ "$(grep -c "sent a bad quantized chunk and was dropped" "$T/err")" -eq 5 ]
check "... bytes of a task not held" grep -q "sent quantized bytes of task [0-9]*, which it is not computing" "$T/err"
check "... bytes of a tensor not in the task" grep -q "sent quantized bytes of tensor [0-9]*, not in its task" "$T/err"
check "... a gap" grep -q "where byte 0 was due (a gap)" "$T/err"
check "... a duplicate" grep -q "(an overlap or a duplicate)" "$T/err"
check "... too many bytes" grep -q "(too many bytes)" "$T/err"
check "... hashes that are not the bytes'" grep -q "inconsistent result and was dropped (result for '.*': the hash of its weight differs from the bytes it sent)" "$T/err"
check "the remote worker streamed the tensors" grep -q "has no copy of the model: its tensor bytes are streamed" "$T/err"
check "remote (tcp, CURVE, streamed) byte-identical to local workers" diff -r "$T/j1" "$T/remote"

# A tensor a worker cannot quantize (a NaN): tried on the workers there are, then the run
# fails naming it and why (exit 1), nothing complete written.
mkdir -p "$T/nan"
"$PY" - "$T/nan" <<'PYEOF'
import json, random, struct, sys
rnd = random.Random(1)
vals = [struct.unpack("<I", struct.pack("<f", rnd.gauss(0, 1)))[0] >> 16 for _ in range(64 * 128)]
vals[3 * 128 + 5] = 0x7FC0  # a NaN in row 3
data = struct.pack("<%dH" % len(vals), *vals)
hdr = json.dumps({"model.layers.0.mlp.down_proj.weight":
                  {"dtype": "BF16", "shape": [64, 128], "data_offsets": [0, len(data)]}}).encode()
hdr += b" " * (-len(hdr) % 8)
open(sys.argv[1] + "/model.safetensors", "wb").write(struct.pack("<Q", len(hdr)) + hdr + data)
json.dump({"model_type": "llama", "hidden_size": 128}, open(sys.argv[1] + "/config.json", "w"))
PYEOF
run_bounded 60 "$SWAN_BIN" quantize "$T/nan" -o "$T/nan-out" --bits 4 -j 2 2>"$T/nan.err"
nst=$?
check "a NaN weight: exit 1 (got $nst)" [ $nst -eq 1 ]
check "... named with the reason" grep -q "'model.layers.0.mlp.down_proj.weight' could not be quantized: .*row 3 holds a non-finite value" "$T/nan.err"
check "... no index (nothing looks complete)" test ! -e "$T/nan-out/model.safetensors.index.json"
echo "--- coordinator log:"; cat "$T/err"
finish
