# Input formats (issue 10): FP8 block-scaled safetensors and GGUF files.
#
# Fixtures are made here by tests/tools/make_formats_fixture.py (standard library
# only), which computes the BF16 upcast of the FP8 checkpoint independently of swan:
# - FP8 (E4M3 with 128x128 block scales incl. partial edge blocks, E5M2 with block
#   scales, E4M3 with a per-tensor and with per-row scales) against its BF16 upcast: every raw metric of
#   every analyzed tensor equal (the worker sees the very same float32 values, so even
#   the seeded M3 is equal exactly); scale tensors recorded with kind "scale".
# - a GGUF file holding the same tensors as a safetensors checkpoint: analyzed under
#   the GGUF names, shapes row-major, deterministic metrics (M1, M2, M4, range) equal
#   exactly; M3 is seeded by the tensor name, so the two runs draw different noise:
#   it must agree within 10% (its draw-to-draw spread on these sizes is ~2%); the
#   quantized tensor is recorded as "already_quantized"; a split GGUF gives the same.
# - malformed GGUF headers and FP8 checkpoints with a missing or misshapen scale:
#   exit 2, one line naming the file and the key or tensor, nothing written.
. "$(dirname "$0")/lib.sh"
need_python
GEN="$(dirname "$0")/../tools/make_formats_fixture.py"

# compare MANIFEST_A MANIFEST_B MAP_FILE|- MODE: MODE exact or gguf (see above).
compare() {
    "$PY" - "$@" <<'PYEOF'
import json, sys
a, b, mapfile, mode = sys.argv[1:5]
def tensors(p):
    out = {}
    for sh in json.load(open(p))["shards"].values():
        out.update(sh["tensors"])
    return out
A, B = tensors(a), tensors(b)
pairs = [l.split() for l in open(mapfile)] if mapfile != "-" else [[n, n] for n in B]
bad, n = [], 0
for na, nb in pairs:
    ta, tb = A.get(na), B.get(nb)
    if ta is None or tb is None:
        bad.append("missing %s / %s" % (na, nb)); continue
    if ta["shape"] != tb["shape"] or ta["kind"] != tb["kind"]:
        bad.append("%s: shape/kind %s %s vs %s %s" % (na, ta["shape"], ta["kind"], tb["shape"], tb["kind"]))
    ra, rb = ta.get("raw"), tb.get("raw")
    if (ra is None) != (rb is None):
        bad.append("%s: raw present in one only" % na); continue
    if ra is None:
        continue
    n += 1
    for k in ("svd_concentration", "kurtosis", "rtn_nrmse_4b_g128", "w_min", "w_max", "matrix",
              "spectral_method", "spectral_rank"):
        if ra[k] != rb[k]:
            bad.append("%s: %s %r != %r" % (na, k, ra[k], rb[k]))
    da, db = ra["output_delta"], rb["output_delta"]
    if mode == "exact" and da != db:
        bad.append("%s: output_delta %r != %r" % (na, da, db))
    if mode == "gguf" and abs(da - db) > 0.1 * max(da, db) + 1e-3:
        bad.append("%s: output_delta %r and %r differ by more than 10%%" % (na, da, db))
    if mode == "exact" and ta["decision"] != tb["decision"]:
        bad.append("%s: decision %r != %r" % (na, ta["decision"], tb["decision"]))
if n == 0:
    bad.append("no analyzed tensor compared")
for line in bad:
    print(line)
sys.exit(1 if bad else 0)
PYEOF
}

# kind_of MANIFEST TENSOR -> "kind reason"
kind_of() {
    "$PY" -c '
import json, sys
for sh in json.load(open(sys.argv[1]))["shards"].values():
    t = sh["tensors"].get(sys.argv[2])
    if t: print(t["kind"], t["decision"]["reason"])' "$1" "$2"
}

# refused WHAT PATH NEEDLE: swan analyze exits 2 with one line holding NEEDLE and
# writes nothing.
refused() {
    local what=$1 path=$2 needle=$3 out="$T/out-refused"
    rm -rf "$out"
    "$SWAN_BIN" analyze "$path" -o "$out" -j 1 -q >"$T/r.out" 2>"$T/r.err"
    local status=$?
    check "$what: exit 2 (got $status)" [ $status -eq 2 ]
    check "$what: one line" [ "$(wc -l <"$T/r.err")" -eq 1 ]
    if ! grep -qF -- "$needle" "$T/r.err"; then
        fail "$what: message names '$needle': $(cat "$T/r.err")"
    else
        pass "$what: message names '$needle'"
    fi
    check "$what: nothing written" [ ! -e "$out" ]
}

# ---- FP8 --------------------------------------------------------------------------------
"$PY" "$GEN" fp8 "$T/fp8" "$T/bf16" || { fail "fixture generator (fp8)"; finish; }
"$SWAN_BIN" analyze "$T/fp8" -o "$T/o-fp8" -j 2 -q 2>"$T/e-fp8"
check "fp8: analyze succeeds" [ $? -eq 0 ]
"$SWAN_BIN" analyze "$T/bf16" -o "$T/o-bf16" -j 2 -q 2>"$T/e-bf16"
check "bf16 upcast: analyze succeeds" [ $? -eq 0 ]
check "fp8 vs its bf16 upcast: raw metrics and decisions equal" \
    compare "$T/o-fp8/manifest.json" "$T/o-bf16/manifest.json" - exact
check "fp8: block scales recorded, not analyzed" \
    [ "$(kind_of "$T/o-fp8/manifest.json" model.layers.0.mlp.down_proj.weight_scale_inv)" = "scale scale_tensor" ]
check "fp8: per-tensor scale recorded, not analyzed" \
    [ "$(kind_of "$T/o-fp8/manifest.json" model.layers.0.self_attn.q_proj.weight_scale)" = "scale scale_tensor" ]
check "fp8: the E5M2 weight is analyzed" \
    [ "$(kind_of "$T/o-fp8/manifest.json" model.layers.0.mlp.up_proj.weight | cut -d' ' -f1)" = matrix ]
"$SWAN_BIN" inspect "$T/fp8" >"$T/i-fp8"
check "fp8: inspect shows the format and block size" \
    grep -q "^Format     safetensors, FP8 weights dequantized on the fly: 2 with 128x128 block scales, 1 with a per-tensor scale, 1 with per-row scales" "$T/i-fp8"
check "fp8: per-row scales recorded, not analyzed" \
    [ "$(kind_of "$T/o-fp8/manifest.json" model.layers.0.self_attn.o_proj.weight_scale)" = "scale scale_tensor" ]

"$PY" "$GEN" fp8 "$T/fp8-missing" "$T/unused1" --break missing
refused "fp8 missing scale" "$T/fp8-missing" "tensor 'model.layers.0.mlp.up_proj.weight' is F8_E5M2 but has no scale tensor"
"$PY" "$GEN" fp8 "$T/fp8-shape" "$T/unused2" --break shape
refused "fp8 misshapen scale" "$T/fp8-shape" "scale tensor 'model.layers.0.mlp.down_proj.weight_scale_inv' has shape [3, 4]"
"$PY" "$GEN" fp8 "$T/fp8-block" "$T/unused3" --break block
refused "fp8 bad block size" "$T/fp8-block" "config.json: key 'quantization_config.weight_block_size'"

# ---- GGUF -------------------------------------------------------------------------------
"$PY" "$GEN" gguf "$T/model.gguf" "$T/st" >"$T/map" || { fail "fixture generator (gguf)"; finish; }
"$SWAN_BIN" analyze "$T/model.gguf" -o "$T/o-gguf" -j 2 -q 2>"$T/e-gguf"
check "gguf: analyze succeeds" [ $? -eq 0 ]
"$SWAN_BIN" analyze "$T/st" -o "$T/o-st" -j 2 -q 2>"$T/e-st"
check "same tensors in safetensors: analyze succeeds" [ $? -eq 0 ]
check "gguf vs safetensors: metrics equal under the mapped names" \
    compare "$T/o-gguf/manifest.json" "$T/o-st/manifest.json" "$T/map" gguf
check "gguf: the quantized tensor is recorded as it is" \
    [ "$(kind_of "$T/o-gguf/manifest.json" blk.0.attn_k.weight)" = "quantized already_quantized" ]
check "gguf: the manifest counts the blk.N layers" \
    "$PY" -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["total_layers"] != 1)' "$T/o-gguf/manifest.json"
"$SWAN_BIN" inspect "$T/model.gguf" >"$T/i-gguf"
check "gguf: inspect shows the format" grep -q "^Format     GGUF v3, alignment 32" "$T/i-gguf"
check "gguf: inspect shows architecture, block count, file type" \
    grep -q "^GGUF       general.architecture llama, block_count 1, general.file_type 1 (MOSTLY_F16)" "$T/i-gguf"

mkdir -p "$T/split"
"$PY" "$GEN" gguf "$T/split/model" "$T/st2" --split 3 >/dev/null
"$SWAN_BIN" analyze "$T/split" -o "$T/o-split" -j 2 -q 2>"$T/e-split"
check "split gguf folder: analyze succeeds" [ $? -eq 0 ]
check "split gguf: same values as the single file" \
    compare "$T/o-split/manifest.json" "$T/o-gguf/manifest.json" - exact
refused "one part of a split gguf given alone" "$T/split/model-00001-of-00003.gguf" \
    "part 1 of a model split into 3 files: give the folder holding all of them"
mv "$T/split/model-00002-of-00003.gguf" "$T/part2"
refused "split gguf with a missing part" "$T/split" "split GGUF part 2 of 3 is missing"
mkdir -p "$T/lie"
"$PY" "$GEN" gguf "$T/lie/model" "$T/st3" --split 2 --count-lie 1 >/dev/null
refused "split gguf whose split.tensors.count disagrees" "$T/lie" "key 'split.tensors.count' is 6 but the 2 parts hold 5 tensors"
mkdir -p "$T/two"
cp "$T/model.gguf" "$T/two/a.gguf"
cp "$T/model.gguf" "$T/two/b.gguf"
refused "a folder of two unrelated gguf files" "$T/two" "holds several GGUF files (a.gguf, b.gguf)"

"$PY" "$GEN" gguf-bad "$T/bad"
while read -r case needle; do
    refused "gguf $case" "$T/bad/$case.gguf" "$needle"
    grep -qF "$T/bad/$case.gguf" "$T/r.err" && pass "gguf $case: names the file" || fail "gguf $case: names the file"
done <<'EOF'
bad_magic bad magic
version1 GGUF version 1 is not supported
tensor_count_huge tensor count 1099511627776 is out of range
kv_count_huge metadata count 1099511627776 is out of range
key_length_huge metadata key: string length 4611686018427387904 goes past the end of the file
key_too_long metadata key: string length 70000 is above the limit 65535
string_length_past_end key 'general.name': string length 1073741824 goes past the end of the file
array_length_huge key 'tokenizer.ggml.scores': array length 1125899906842624 goes past the end of the file
value_type_unknown key 'general.x': unknown value type 77
alignment_not_pow2 key 'general.alignment': 24 is not a power of two
misaligned_offset tensor 'b.weight': offset 260 is not a multiple of the alignment 32
overlapping_offsets tensors 'a.weight' [0, 256) and 'b.weight' [128, 384) overlap
duplicate_key key 'general.architecture' appears twice
unknown_ggml_type tensor 'a.weight': unknown GGML type 4
too_many_dims tensor 'a.weight': 5 dimensions
q4_partial_block tensor 'a.weight': innermost dimension 48 is not a multiple of the Q4_0 block of 32
truncated tensor 'b.weight': bytes [256, 512) go past the end of the data section
truncated_header tensor count 2 is out of range
EOF
finish
