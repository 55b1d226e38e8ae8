# swan quantize on packed 3-D experts (qwen3_moe `mlp.experts.gate_up_proj` +
# `mlp.experts.down_proj`, fixture fx-fused3d-f32, stored [E, in, out]): the folder
# holds switch_mlp.{gate,up,down}_proj [E, out, in] as mlx_lm's SwitchLinear wants them,
# quantized byte for byte as mlx_quant_ref.py (numpy, mlx_lm's own split and transpose)
# computes them, every width; the same experts stored [E, out, in] give the very same
# bytes; kept (16-bit) packed experts are exact transposed copies; layouts mlx_lm does
# not read are refused (exit 2, one line, nothing complete).
. "$(dirname "$0")/lib.sh"
need_shared
need_numpy
SRC="$SWAN_SHARED/fixtures/fx-fused3d-f32"
for bg in 2:32 3:64 4:128 5:32 6:64 8:128 4:32; do
    check "packed experts [E, in, out], ${bg%:*} bits group ${bg#*:}: byte-identical to the reference" \
        quant_ref_check "$SRC" "${bg%:*}" "${bg#*:}"
done
check "names and shapes are mlx_lm's: switch_mlp.gate_proj.weight [8, 128, 256*4/32]" \
    grep -q '"model.layers.0.mlp.switch_mlp.gate_proj.weight":{"dtype":"U32","shape":\[8,128,32\]' \
    "$T/q-fx-fused3d-f32-4-128/model-00001-of-00001.safetensors"
check "no packed name is left in the index" \
    bash -c "! grep -q 'experts' '$T/q-fx-fused3d-f32-4-128/model.safetensors.index.json'"

# variant MODEL LAYOUT_EDIT CONFIG_EDIT: a copy of the fixture with its tensors and
# config.json changed by two Python expressions (t: name -> array, c: config dict).
variant() {
    mkdir -p "$T/$1"
    "$NPY" - "$SRC" "$T/$1" "$2" "$3" <<'PYEOF'
import json, struct, sys
import numpy as np
src, dst, tedit, cedit = sys.argv[1:5]
raw = open(f"{src}/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n])
t = {k: np.frombuffer(raw[8 + n + v["data_offsets"][0]: 8 + n + v["data_offsets"][1]], "<f4").reshape(v["shape"])
     for k, v in hdr.items() if k != "__metadata__"}
c = json.load(open(f"{src}/config.json"))
exec(tedit)
exec(cedit)
out, blobs, off = {}, [], 0
for k, a in t.items():
    b = np.ascontiguousarray(a, "<f4").tobytes()
    out[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
h = json.dumps(out).encode()
h += b" " * (-len(h) % 8)
open(f"{dst}/model.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
json.dump(c, open(f"{dst}/config.json", "w"))
PYEOF
}

# The same experts stored [E, out, in] (nn.Linear layout: gate_up [E, 2*inter, hidden],
# down [E, hidden, inter]): the same model, so the same bytes.
variant outin 'for k in list(t):
    if ".experts." in k: t[k] = t[k].swapaxes(1, 2)' ''
check "packed experts [E, out, in]: byte-identical to the reference" quant_ref_check "$T/outin" 4 128
check "packed experts [E, out, in]: the same shard as [E, in, out]" \
    cmp "$T/q-outin-4-128/model-00001-of-00001.safetensors" "$T/q-fx-fused3d-f32-4-128/model-00001-of-00001.safetensors"

# Kept at 16 bits (--protect experts): exact transposed copies of the stored values.
kept_check() { # kept_check MODEL OUT
    "$SWAN_BIN" quantize "$1" -o "$2" --protect experts -j 2 -q 2>"$2.err" &&
        "$NPY" - "$SRC/model.safetensors" "$2/model-00001-of-00001.safetensors" <<'PYEOF'
import json, struct, sys
import numpy as np
def read(p):
    raw = open(p, "rb").read(); n = struct.unpack("<Q", raw[:8])[0]; h = json.loads(raw[8:8 + n])
    return {k: np.frombuffer(raw[8 + n + v["data_offsets"][0]: 8 + n + v["data_offsets"][1]],
                             {"F32": "<f4", "U32": "<u4"}[v["dtype"]]).reshape(v["shape"])
            for k, v in h.items() if k != "__metadata__"}
s, o = read(sys.argv[1]), read(sys.argv[2])
for l in (0, 1):
    p = f"model.layers.{l}.mlp"
    gu, dn = s[f"{p}.experts.gate_up_proj"], s[f"{p}.experts.down_proj"]  # [E, in, out]
    inter = gu.shape[2] // 2
    want = {"gate_proj": gu[:, :, :inter].swapaxes(1, 2), "up_proj": gu[:, :, inter:].swapaxes(1, 2),
            "down_proj": dn.swapaxes(1, 2)}
    for proj, w in want.items():
        got = o[f"{p}.switch_mlp.{proj}.weight"]
        assert got.shape == w.shape and got.tobytes() == np.ascontiguousarray(w).tobytes(), (l, proj)
PYEOF
}
check "kept packed experts [E, in, out]: exact transposed copies" kept_check "$SRC" "$T/kept"
check "kept packed experts [E, out, in]: the same values" kept_check "$T/outin" "$T/kept-outin"

# Refusals: exit 2, one line naming the problem, no complete folder.
refused_packed() { # refused_packed WHAT MODEL WORDS
    "$SWAN_BIN" quantize "$2" -o "$T/r-$1" --bits 4 2>"$T/r-$1.err"
    local st=$?
    check "refused ($1): exit 2, one line saying '$3', nothing complete" \
        bash -c "[ $st -eq 2 ] && [ \$(wc -l <'$T/r-$1.err') -eq 1 ] && grep -q '$3' '$T/r-$1.err' &&
                 [ ! -e '$T/r-$1/model.safetensors.index.json' ]"
}
variant mixtral '' 'c["model_type"] = "mixtral"'
refused_packed "another architecture" "$T/mixtral" "written for qwen3_moe only"
variant nodown 'del t["model.layers.1.mlp.experts.down_proj"]' ''
refused_packed "gate_up_proj without down_proj" "$T/nodown" "without their experts.down_proj"
variant badshape 't["model.layers.0.mlp.experts.down_proj"] = t["model.layers.0.mlp.experts.down_proj"][:, :64, :]' ''
refused_packed "shapes of neither layout" "$T/badshape" "mlx_lm reads no other packed layout"
variant hidden '' 'c["hidden_size"] = 512'
refused_packed "hidden_size disagrees" "$T/hidden" "hidden_size 512"
variant gateonly 't["model.layers.0.mlp.experts.gate_proj"] = t["model.layers.0.mlp.experts.down_proj"]' ''
refused_packed "another packed name" "$T/gateonly" "other than experts.gate_up_proj"
finish
