# OUT/mlx_quant.json, OUT/swan_predicate.py and OUT/llama_tensor_types.txt on a dense,
# a per-expert and a packed-expert fixture: module paths as mlx_lm creates them, the
# predicate (run with python3, standard library only) answering exactly what the JSON
# says, every width agreeing with the manifest's decision, and GGUF names and ggml
# types in the `llama-quantize --tensor-type-file` format.
. "$(dirname "$0")/lib.sh"
need_shared
need_python
for fx in fx-dense-bf16 fx-moe-f16-sharded fx-fused3d-f32; do
    out="$T/$fx"
    "$SWAN_BIN" analyze "$SWAN_SHARED/fixtures/$fx" -o "$out" -q --target-bpw 6 --quantize-protected ||
        { fail "$fx: analyze failed"; continue; }
    if r=$("$PY" - "$out" "$fx" <<'PYEOF'
import json, re, sys
out, fx = sys.argv[1], sys.argv[2]
sys.path.insert(0, out)
from swan_predicate import predicate
q = json.load(open(out + "/mlx_quant.json"))
m = json.load(open(out + "/manifest.json"))
dec = {n: t for sh in m["shards"].values() for n, t in sh["tensors"].items()}
assert q["mode"] == "affine" and q["bits"] in (2, 3, 4, 5, 6, 8) and q["group_size"] in (32, 64, 128)
paths = [k for k in q if k not in ("mode", "bits", "group_size")]
for p in paths:
    v = q[p]
    assert v is False or (set(v) == {"bits", "group_size"} and v["bits"] in (2, 3, 4, 5, 6, 8)
                          and v["group_size"] in (32, 64, 128)), (p, v)
    assert predicate(p, None) == v, (p, predicate(p, None), v)
    assert not p.endswith(".weight"), p
assert predicate("no.such.module", None) is False

def width(name):
    d = dec[name]["decision"]
    return False if d["bits"] == 16 else {"bits": d["bits"], "group_size": d["group_size"]}

expect = {}
if fx == "fx-dense-bf16":
    for n, t in dec.items():
        if len(t["shape"]) >= 2 and n.endswith(".weight"):
            expect[n[:-7]] = width(n)
elif fx == "fx-moe-f16-sharded":
    assert not any(".experts." in p for p in paths), "per-expert paths must be stacked"
    for n, t in dec.items():
        if len(t["shape"]) < 2:
            continue
        mm = re.match(r"(.*)\.experts\.(\d+)\.(\w+)\.weight$", n)
        p = mm.group(1) + ".switch_mlp." + mm.group(3) if mm else n[:-7]
        if p in expect:
            assert expect[p] == width(n), ("stack members differ", p)
        expect[p] = width(n)
    gate = [p for p in paths if p.endswith("mlp.gate")]
    assert gate and all(q[p] is not False and q[p]["bits"] >= 8 for p in gate), "qwen3_moe mlp.gate floor"
else:
    for n, t in dec.items():
        if len(t["shape"]) < 2:
            continue
        if n.endswith("experts.gate_up_proj"):
            base = n[: -len("experts.gate_up_proj")]
            expect[base + "switch_mlp.gate_proj"] = width(n)
            expect[base + "switch_mlp.up_proj"] = width(n)
        elif n.endswith("experts.down_proj"):
            expect[n[: -len("experts.down_proj")] + "switch_mlp.down_proj"] = width(n)
        else:
            expect[n[:-7]] = width(n)
assert set(paths) == set(expect), (sorted(set(paths) ^ set(expect)))[:6]
for p in paths:
    assert q[p] == expect[p], (p, q[p], expect[p])

# llama.cpp
types = {"q2_K": 2, "q3_K": 3, "q4_K": 4, "q5_K": 5, "q6_K": 6, "q8_0": 8, "bf16": 16, "f16": 16}
lines = open(out + "/llama_tensor_types.txt").read().split()
got = {}
for tok in lines:
    mm = re.fullmatch(r"\^((?:[a-z0-9_]|\\\.)+)\$=(\w+)", tok)
    assert mm, tok
    got[mm.group(1).replace("\\.", ".")] = types[mm.group(2)]
assert "token_embd.weight" in got and "blk.0.attn_q.weight" in got and "blk.0.attn_output.weight" in got
if fx == "fx-dense-bf16":
    assert got["blk.0.ffn_down.weight"] == dec["model.layers.0.mlp.down_proj.weight"]["decision"]["bits"]
    assert not any("_exps" in k for k in got)
else:
    for k in ("blk.0.ffn_gate_exps.weight", "blk.0.ffn_up_exps.weight", "blk.0.ffn_down_exps.weight",
              "blk.0.ffn_gate_inp.weight"):
        assert k in got, k
for k, b in got.items():
    assert re.fullmatch(r"(token_embd|output|blk\.\d+\.[a-z_]+)\.weight", k), k
print("%d module paths, %d llama.cpp entries" % (len(paths), len(got)))
PYEOF
    ); then pass "$fx: $r"; else fail "$fx: $r"; fi
done
# an architecture swan does not know: names fall back to the tensor names, and it says so
mkdir -p "$T/unk" && cp "$SWAN_SHARED"/fixtures/fx-dense-bf16/* "$T/unk/" &&
    sed -i.bak 's/"qwen3"/"brand_new_arch"/' "$T/unk/config.json"
if "$SWAN_BIN" analyze "$T/unk" -o "$T/unk-out" >"$T/unk.out" 2>&1; then
    check "unknown architecture: the summary says the names fall back" grep -q "not one swan maps" "$T/unk.out"
    check "unknown architecture: paths are tensor names without .weight" \
        grep -q '"model.layers.0.mlp.down_proj": ' "$T/unk-out/mlx_quant.json"
else
    fail "analyze of an unknown architecture failed: $(tail -n 2 "$T/unk.out")"
fi
finish
