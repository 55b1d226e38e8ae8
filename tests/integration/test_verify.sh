#!/usr/bin/env bash
# test_verify.sh: `swan verify OUT MODEL` re-reads every analyzed tensor and compares
# its checksum with the journal's (issue: never a silently wrong manifest).
#   - an untouched model verifies (exit 0);
#   - two same-sized tensors with their bytes swapped and the shard's modification time
#     put back (so size, time and header all still match, and a resume would accept
#     it) are both named, exit 1;
#   - a model with another tensor table is refused as another checkpoint, exit 1;
#   - OUT that is not an analysis, or a missing MODEL argument: exit 2.
. "$(dirname "$0")/lib.sh"
need_python

demo_model
"$SWAN_BIN" verify "$T/ref" "$T/model" 2>"$T/err-ok"
st=$?
check "untouched model: exit 0 (got $st)" [ $st -eq 0 ]
check "untouched model: says all tensors match" grep -q "match their checksums" "$T/err-ok"

# Swap the bytes of the two largest same-shaped 2-D tensors of one shard, keep its time.
cp -rp "$T/model" "$T/swapped"
swapped=$("$PY" - "$T/swapped" <<'PYEOF'
import json, os, struct, sys
d = sys.argv[1]
for f in sorted(os.listdir(d)):
    if not f.endswith(".safetensors"):
        continue
    p = os.path.join(d, f)
    b = bytearray(open(p, "rb").read())
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    by_shape = {}
    for k, v in h.items():
        if k != "__metadata__" and len(v["shape"]) == 2 and min(v["shape"]) > 1:
            by_shape.setdefault((v["dtype"], tuple(v["shape"])), []).append(k)
    pairs = [ks for ks in by_shape.values() if len(ks) >= 2]
    if not pairs:
        continue
    a, c = sorted(pairs, key=lambda ks: -h[ks[0]]["data_offsets"][1] + h[ks[0]]["data_offsets"][0])[0][:2]
    oa, ob = [(8 + n + h[k]["data_offsets"][0], 8 + n + h[k]["data_offsets"][1]) for k in (a, c)]
    st = os.stat(p)
    ba, bb = bytes(b[oa[0]:oa[1]]), bytes(b[ob[0]:ob[1]])
    b[oa[0]:oa[1]], b[ob[0]:ob[1]] = bb, ba
    open(p, "wb").write(b)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    print(a)
    print(c)
    break
PYEOF
)
check "a pair of same-shaped tensors was found to swap" [ "$(printf '%s\n' "$swapped" | grep -c .)" -eq 2 ]
"$SWAN_BIN" verify "$T/ref" "$T/swapped" 2>"$T/err-swap"
st=$?
check "swapped tensors: exit 1 (got $st)" [ $st -eq 1 ]
for name in $swapped; do
    check "swapped tensors: $name named" grep -q "$name: data differs" "$T/err-swap"
done
check "swapped tensors: the last line counts them" bash -c "tail -n 1 '$T/err-swap' | grep -q '2 of .* tensors differ'"

# Another checkpoint altogether (one tensor fewer in the table).
mkdir -p "$T/other"
"$SWAN_BIN" demo "$T/other/model" "$T/other/out" -q >/dev/null 2>&1
"$PY" - "$T/other/model" <<'PYEOF'
import json, os, struct, sys
d = sys.argv[1]
f = sorted(x for x in os.listdir(d) if x.endswith(".safetensors"))[0]
p = os.path.join(d, f)
b = open(p, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
meta = h.get("__metadata__", {})
h["__metadata__"] = dict(meta, note="renamed")
k = next(k for k in h if k != "__metadata__")
h[k + ".renamed"] = h.pop(k)
hb = json.dumps(h).encode()
hb += b" " * (-len(hb) % 8)
open(p, "wb").write(struct.pack("<Q", len(hb)) + hb + b[8 + n:])
idx = os.path.join(d, "model.safetensors.index.json")
if os.path.exists(idx):
    j = json.load(open(idx))
    j["weight_map"][k + ".renamed"] = j["weight_map"].pop(k)
    json.dump(j, open(idx, "w"))
PYEOF
"$SWAN_BIN" verify "$T/ref" "$T/other/model" 2>"$T/err-other"
st=$?
check "another checkpoint: exit 1 (got $st)" [ $st -eq 1 ]
check "another checkpoint: says so" grep -q "is not the checkpoint" "$T/err-other"

"$SWAN_BIN" verify "$T/model" "$T/model" 2>"$T/err-notout"
st=$?
check "OUT that is not an analysis: exit 2 (got $st)" [ $st -eq 2 ]
"$SWAN_BIN" verify "$T/ref" 2>"$T/err-usage"
st=$?
check "missing MODEL: exit 2 (got $st)" [ $st -eq 2 ]
check "missing MODEL: one line plus the hint" [ "$(wc -l <"$T/err-usage")" -eq 2 ]
finish
