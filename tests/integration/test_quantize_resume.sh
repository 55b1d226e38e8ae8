# swan quantize resumes: a run interrupted part-way (SIGINT: exit 130; SIGKILL) keeps
# its .tmp shard and DIR/.swan-quantize.jsonl, nothing that looks complete (no index);
# the same command run again skips the journaled tensors (after re-hashing their bytes)
# and ends byte-identical to an uninterrupted run, journal and .tmp files gone. A
# journaled tensor whose bytes were damaged in the .tmp file is written again; a
# different command (other width) over an interrupted folder starts over and equals
# its own uninterrupted run.
. "$(dirname "$0")/lib.sh"
need_shared
SRC="$SWAN_SHARED/fixtures/fx-moe-f16-sharded"
J=.swan-quantize.jsonl
SHARD=model-00001-of-00001.safetensors

"$SWAN_BIN" quantize "$SRC" -o "$T/ref" --bits 4 -j 2 2>/dev/null || { fail "reference run failed"; finish; }
"$SWAN_BIN" quantize "$SRC" -o "$T/ref3" --bits 3 --group-size 32 -j 2 2>/dev/null || { fail "reference run failed"; finish; }

# interrupted_run DIR SIGNAL: a slowed run, signalled once >= 4 tensors are journaled
interrupted_run() {
    SWAN_TEST_QUANTIZE_DELAY_MS=150 "$SWAN_BIN" quantize "$SRC" -o "$1" --bits 4 -j 2 2>"$1.err" &
    local pid=$! i
    for i in $(seq 1 300); do
        [ "$(cat "$1/$J" 2>/dev/null | wc -l)" -ge 5 ] && break
        sleep 0.05
    done
    kill -"$2" "$pid"
    wait "$pid"
}

interrupted_run "$T/a" INT
st=$?
check "SIGINT: exit 130" test "$st" -eq 130
check "SIGINT: the resume hint is printed" grep -q "run the same command again" "$T/a.err"
check "SIGINT: no index (the folder does not look complete)" test ! -e "$T/a/model.safetensors.index.json"
check "SIGINT: the .tmp shard and the journal are kept" test -s "$T/a/$SHARD.tmp" -a -s "$T/a/$J"
"$SWAN_BIN" quantize "$SRC" -o "$T/a" --bits 4 -j 2 2>"$T/a2.err"
check "re-run: exit 0" test $? -eq 0
check "re-run: it resumed (some tensors already written)" grep -q "resumed: [1-9][0-9]* of" "$T/a2.err"
check "re-run: byte-identical to the uninterrupted run" diff -r "$T/ref" "$T/a"

interrupted_run "$T/k" KILL
check "SIGKILL: no index" test ! -e "$T/k/model.safetensors.index.json"
# damage the bytes of the first journaled unit in the .tmp file (the record's "tensor"
# is the unit's index in the layout, the order of the shard header's entries)
"$PY" - "$T/k/$SHARD.tmp" "$T/k/$J" <<'PYEOF'
import json, struct, sys
with open(sys.argv[2]) as j:
    unit = next(json.loads(l)["tensor"] for l in j if '"tensor"' in l)
with open(sys.argv[1], "r+b") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    hdr = json.loads(f.read(n))
    names = [k for k in hdr if k != "__metadata__"]
    at = 8 + n + hdr[names[unit]]["data_offsets"][0]
    f.seek(at)
    b = f.read(1)
    f.seek(at)
    f.write(bytes([b[0] ^ 0xFF]))
PYEOF
records=$(($(grep -c '"tensor"' "$T/k/$J") + 0))
"$SWAN_BIN" quantize "$SRC" -o "$T/k" --bits 4 -j 2 2>"$T/k2.err"
check "after SIGKILL and a damaged tensor: exit 0" test $? -eq 0
resumed=$(grep -o 'resumed: [0-9]*' "$T/k2.err" | grep -o '[0-9]*$')
echo "journaled $records, resumed ${resumed:-0}"
check "the damaged tensor was written again (resumed < journaled)" test "${resumed:-0}" -lt "$records"
check "after SIGKILL and a damaged tensor: byte-identical" diff -r "$T/ref" "$T/k"

interrupted_run "$T/o" INT
"$SWAN_BIN" quantize "$SRC" -o "$T/o" --bits 3 --group-size 32 -j 2 2>"$T/o2.err"
check "another width over an interrupted folder: exit 0, nothing resumed" \
    bash -c "[ $? -eq 0 ] && ! grep -q resumed '$T/o2.err'"
check "another width over an interrupted folder: equals its own uninterrupted run" diff -r "$T/ref3" "$T/o"
finish
