# swan quantize with a budget: --target-bpw analyzes into DIR.analysis, solves the
# budget with the reduce of swan reduce / analyze (swan_reduce_run), and writes a
# model whose bits per weight (its tensor bytes x 8 over the source's weights, read
# back from the written safetensors headers) are at most the target and within 0.02
# of it; --from OUT --target-size reuses that analysis (no new journal record) and
# stays within the size; an unreachable budget is refused (exit 2) with the reachable
# range and nothing that looks complete. The model is make_model.py's tiny qwen3
# with 16 layers (112 matrices: a budget has enough units to land close).
. "$(dirname "$0")/lib.sh"
need_shared
MAKE="$SWAN_SHARED/tools/make_model.py"
need_numpy
"$NPY" "$MAKE" --arch tiny --L 16 "$T/src" >/dev/null || { fail "make_model.py failed"; finish; }
SRC="$T/src"

# bits per weight of a written folder: tensor data bytes x 8 / source weights
bpw() { # bpw SRC_DIR OUT_DIR
    "$PY" - "$1" "$2" <<'PYEOF'
import glob, json, os, struct, sys
def tensors(d):
    for f in sorted(glob.glob(os.path.join(d, "*.safetensors"))):
        with open(f, "rb") as fh:
            n = struct.unpack("<Q", fh.read(8))[0]
            h = json.loads(fh.read(n))
        for k, v in h.items():
            if k != "__metadata__":
                yield v
params = 0
for v in tensors(sys.argv[1]):
    n = 1
    for s in v["shape"]:
        n *= s
    params += n
data = sum(v["data_offsets"][1] - v["data_offsets"][0] for v in tensors(sys.argv[2]))
print("%.6f %d" % (data * 8.0 / params, params))
PYEOF
}

"$SWAN_BIN" quantize "$SRC" -o "$T/none" --target-bpw 1.5 -j 2 2>"$T/none.err"
st=$?
check "an unreachable --target-bpw is refused (exit 2) with the range" \
    bash -c "[ $st -eq 2 ] && grep -q 'outside what this model can reach' '$T/none.err'"
check "nothing looks complete after the refusal" test ! -e "$T/none/model.safetensors.index.json"

for target in 4.5 5.37; do
    out="$T/b$target"
    check "--target-bpw $target writes the folder" \
        "$SWAN_BIN" quantize "$SRC" -o "$out" --from "$T/none.analysis" --target-bpw "$target" -j 2
    read -r got params < <(bpw "$SRC" "$out")
    echo "target $target: written $got bits per weight"
    check "--target-bpw $target: written bits per weight <= target and within 0.02 of it" \
        "$PY" -c "import sys; g, t = $got, $target; sys.exit(0 if t - 0.02 <= g <= t + 1e-9 else 1)"
done

# without --from the analysis goes to DIR.analysis (made here, then reused)
check "--target-bpw without --from analyzes into DIR.analysis" \
    "$SWAN_BIN" quantize "$SRC" -o "$T/d" --target-bpw 4.5 -j 2
check "DIR.analysis holds the analysis" test -s "$T/d.analysis/manifest.json"
check "same decisions as from the first analysis: same folder, byte for byte" diff -r "$T/d" "$T/b4.5"

lines=$(wc -l <"$T/d.analysis/journal.jsonl")
size=$("$PY" -c "print(int(5.0 * $params / 8))")
check "--from OUT --target-size ${size}B writes the folder" \
    "$SWAN_BIN" quantize "$SRC" -o "$T/s" --from "$T/d.analysis" --target-size "${size}B" -j 2
check "--from OUT reused the journal (no record added)" \
    bash -c "[ \$(wc -l <'$T/d.analysis/journal.jsonl') -eq $lines ]"
check "written size <= --target-size and within 0.3%" \
    "$PY" -c "import json,sys; t=json.load(open('$T/s/model.safetensors.index.json'))['metadata']['total_size']; print(t, $size); sys.exit(0 if 0.997 * $size <= t <= $size else 1)"
"$SWAN_BIN" quantize "$SRC" -o "$T/x" --bits 4 --target-bpw 4 2>/dev/null
check "--bits with --target-bpw refused (exit 2)" test $? -eq 2
finish
