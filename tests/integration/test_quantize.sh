# swan quantize: the MLX model folder it writes equals, byte for byte, an independent
# numpy re-implementation of MLX's affine quantization and packing (mlx_quant_ref.py):
# all six widths and three group sizes on the per-expert MoE fixture (F16, stacked
# experts under switch_mlp, router floor at 8 bits), every width on the dense BF16
# fixture, a tied-embedding variant (lm_head dropped), --from a finished analysis;
# -j 1 and -j 2 byte-identical; plus the refusals (unknown architecture, bad flags, an
# existing complete folder).
. "$(dirname "$0")/lib.sh"
need_shared
need_numpy
FX="$SWAN_SHARED/fixtures"

for b in 2 3 4 5 6 8; do
    for g in 32 64 128; do
        check "MoE F16 (stacked experts) $b bits group $g byte-identical to the reference" \
            quant_ref_check "$FX/fx-moe-f16-sharded" "$b" "$g"
    done
done
for b in 2 3 4 5 6 8; do
    g=$((b % 3 == 0 ? 32 : (b % 3 == 1 ? 64 : 128)))
    check "dense BF16 $b bits group $g byte-identical to the reference" quant_ref_check "$FX/fx-dense-bf16" "$b" "$g"
done

# tied embeddings: lm_head.weight is dropped as mlx_lm's sanitize drops it
mkdir -p "$T/tied"
ln -s "$FX/fx-dense-bf16/model.safetensors" "$T/tied/model.safetensors"
"$NPY" -c 'import json,sys; c=json.load(open(sys.argv[1])); c["tie_word_embeddings"]=True; json.dump(c,open(sys.argv[2],"w"))' \
    "$FX/fx-dense-bf16/config.json" "$T/tied/config.json"
check "tied embeddings: byte-identical, lm_head dropped" quant_ref_check "$T/tied" 4 64
check "tied embeddings: no lm_head in the index" \
    bash -c "! grep -q '\"lm_head' '$T/q-tied-4-64/model.safetensors.index.json'"

# --from a finished analysis: each tensor gets its manifest decision
"$SWAN_BIN" analyze "$FX/fx-dense-bf16" -o "$T/an" -j 2 -q 2>"$T/an.err"
check "--from OUT writes the folder" "$SWAN_BIN" quantize "$FX/fx-dense-bf16" -o "$T/from" --from "$T/an"
check "--from: config matches the manifest decisions" "$NPY" - "$T/an/manifest.json" "$T/from/config.json" <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1])); q = json.load(open(sys.argv[2]))["quantization"]
n = 0
for sh in m["shards"].values():
    for name, t in sh["tensors"].items():
        d = t["decision"]
        if not name.endswith(".weight") or len(t["shape"]) != 2:
            continue
        path = name[:-7]
        want = {"group_size": d["group_size"], "bits": d["bits"]} if d["bits"] < 16 else False
        assert q.get(path) == want, (path, q.get(path), want)
        n += 1
assert n > 0
PYEOF

# --from reads the manifest with the strict pull scanner: damaged manifests are refused
mkdir -p "$T/bad1" "$T/bad2"
head -c 5000 "$T/an/manifest.json" >"$T/bad1/manifest.json"
"$SWAN_BIN" quantize "$FX/fx-dense-bf16" -o "$T/b1" --from "$T/bad1" 2>"$T/b1.err"
check "--from a truncated manifest: exit 2, named, nothing complete" \
    bash -c "[ $? -eq 2 ] && grep -q 'not valid JSON' '$T/b1.err' && [ ! -e '$T/b1/model.safetensors.index.json' ]"
"$NPY" - "$T/an/manifest.json" "$T/bad2/manifest.json" <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1]))
t = next(iter(next(iter(m["shards"].values()))["tensors"].values()))
t["decision"] = {"bits": 7, "group_size": 64}
json.dump(m, open(sys.argv[2], "w"))
PYEOF
"$SWAN_BIN" quantize "$FX/fx-dense-bf16" -o "$T/b2" --from "$T/bad2" 2>"$T/b2.err"
check "--from a manifest with 7 bits: exit 2, not an MLX width" \
    bash -c "[ $? -eq 2 ] && grep -q 'not an MLX width' '$T/b2.err'"

# -j 1 and -j 2 write the same bytes (threads fill fixed offsets)
"$SWAN_BIN" quantize "$FX/fx-moe-f16-sharded" -o "$T/j1" --bits 5 --group-size 32 -j 1 2>/dev/null
"$SWAN_BIN" quantize "$FX/fx-moe-f16-sharded" -o "$T/j2" --bits 5 --group-size 32 -j 2 2>/dev/null
check "-j 1 and -j 2 folders are byte-identical" diff -r "$T/j1" "$T/j2"
check "no temporary file is left behind" bash -c "! ls '$T/j2' | grep -q tmp"

# refusals
mkdir -p "$T/unknown"
ln -s "$FX/fx-dense-bf16/model.safetensors" "$T/unknown/model.safetensors"
echo '{"model_type": "gpt_bigcode"}' >"$T/unknown/config.json"
"$SWAN_BIN" quantize "$T/unknown" -o "$T/u-out" --bits 4 2>"$T/u.err"
check "unknown architecture refused (exit 2) with the list" \
    bash -c "[ $? -eq 2 ] && grep -q 'qwen3_moe' '$T/u.err' && [ ! -e '$T/u-out/model.safetensors.index.json' ]"
"$SWAN_BIN" quantize "$FX/fx-dense-bf16" -o "$T/x" --bits 7 2>"$T/b.err"
check "--bits 7 refused (exit 2, one line + hint)" bash -c "[ $? -eq 2 ] && [ \$(wc -l <'$T/b.err') -eq 2 ]"
"$SWAN_BIN" quantize "$FX/fx-dense-bf16" -o "$T/from" --bits 4 2>"$T/c.err"
check "a complete output folder is not overwritten (exit 2)" bash -c "[ $? -eq 2 ] && grep -q 'already holds' '$T/c.err'"
finish
