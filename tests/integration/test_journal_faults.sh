#!/usr/bin/env bash
# test_journal_faults.sh: corruption of the resume journal is detected, never propagated.
#
# A finished journal of a small fixture is damaged at random, 240 times: 200 single-bit
# flips anywhere in the file and 40 truncations at any byte. Each damaged journal is put
# back under the finished run's good manifest and the same analyze is re-run (reduce
# only, or a tensor or two recomputed). Every trial must end either with a manifest
# identical to the clean one (timing fields aside) and exit 0, or with a refusal: a
# non-zero exit that left the good manifest alone and the damaged journal untouched.
# Never a different manifest with exit 0. Then the named cases: a damaged record in
# the middle is refused with its line number, --repair drops and recomputes it, a
# torn last record is cut off with a warning.
. "$(dirname "$0")/lib.sh"
need_shared
need_python
MODEL="$SWAN_SHARED/fixtures/fx-dense-bf16"
OUT="$T/out"
"$SWAN_BIN" analyze "$MODEL" -o "$OUT" -j 1 -q || { fail "clean run"; finish; }
cp "$OUT/journal.jsonl" "$T/clean.jsonl"
cp "$OUT/manifest.json" "$T/clean.json"
# The manifest without its timing block (all run-dependent timing lives there).
strip() { manifest_sans_timing "$1"; }
strip "$T/clean.json" >"$T/clean.stripped"

# All damaged copies at once (one python start, not 240).
mkdir "$T/bad"
"$PY" - "$T/clean.jsonl" "$T/bad" <<'PYEOF'
import random, sys
data = open(sys.argv[1], "rb").read()
rnd = random.Random(20261130)
for i in range(200):
    b = bytearray(data)
    bit = rnd.randrange(len(b) * 8)
    b[bit // 8] ^= 1 << (bit % 8)
    open(f"{sys.argv[2]}/flip{i:03d}", "wb").write(b)
for i in range(40):
    open(f"{sys.argv[2]}/cut{i:03d}", "wb").write(data[:rnd.randrange(len(data))])
PYEOF

# trial LANE FILE...: runs trials in its own copy of the output folder and prints one
# word per trial (same, refused, wrong, touched); two lanes run side by side.
trial() {
    local out="$T/lane$1" f status
    shift
    cp -r "$OUT" "$out"
    for f in "$@"; do
        cp "$f" "$out/journal.jsonl"
        cp "$T/clean.json" "$out/manifest.json"
        "$SWAN_BIN" analyze "$MODEL" -o "$out" -j 1 -q 2>"$out.err"
        status=$?
        if [ "$status" -eq 0 ]; then
            if cmp -s <(strip "$out/manifest.json") "$T/clean.stripped"; then echo same
            else echo wrong; echo "WRONG MANIFEST with exit 0 after $(basename "$f")" >&2; fi
        else
            echo refused
            # a refusal keeps the good manifest (or, failing later, writes none)
            if [ -e "$out/manifest.json" ] && ! cmp -s "$out/manifest.json" "$T/clean.json"; then
                echo wrong; echo "manifest changed by a refused run after $(basename "$f")" >&2
            fi
            if [ "$status" -eq 2 ] && ! cmp -s "$f" "$out/journal.jsonl"; then
                echo touched; echo "refused run rewrote the journal after $(basename "$f")" >&2
            fi
        fi
    done
}
start=$SECONDS
files=("$T"/bad/*)
half=$(( ${#files[@]} / 2 ))
trial 1 "${files[@]:0:$half}" >"$T/lane1.out" &
trial 2 "${files[@]:$half}" >"$T/lane2.out"
wait
cat "$T/lane1.out" "$T/lane2.out" >"$T/trials"
same=$(grep -c '^same$' "$T/trials")
refused=$(grep -c '^refused$' "$T/trials")
wrong=$(grep -c '^wrong$' "$T/trials")
touched=$(grep -c '^touched$' "$T/trials")
echo "240 trials in $((SECONDS - start)) s: $same identical manifests, $refused refusals, $wrong wrong"
check "no trial gave a different manifest" [ "$wrong" -eq 0 ]
check "every trial ended identical or refused" [ $((same + refused)) -eq 240 ]
check "refusals left the journal untouched" [ "$touched" -eq 0 ]
check "bit flips were mostly refused (the checksums see them)" [ "$refused" -ge 150 ]

# Named cases on the clean journal.
lines=$(wc -l <"$T/clean.jsonl")
mid=$(( (lines + 1) / 2 ))
"$PY" - "$T/clean.jsonl" "$T/mid.jsonl" "$mid" <<'PYEOF'
import sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
n = int(sys.argv[3]) - 1
lines[n] = lines[n].replace(b'"kurtosis":"0x1.', b'"kurtosis":"0x1.f', 1)  # a changed digit
open(sys.argv[2], "wb").write(b"\n".join(lines))
PYEOF
cp "$T/mid.jsonl" "$OUT/journal.jsonl"
"$SWAN_BIN" analyze "$MODEL" -o "$OUT" -j 1 -q 2>"$T/err"
check "a damaged record in the middle is refused (exit 2)" [ $? -eq 2 ]
check "the refusal names the line" grep -q "journal.jsonl: line $mid: damaged record" "$T/err"
check "the refusal suggests --repair" grep -q -- "--repair" "$T/err"
check "the damaged journal is kept as it was" cmp -s "$T/mid.jsonl" "$OUT/journal.jsonl"
"$SWAN_BIN" analyze "$MODEL" -o "$OUT" -j 1 --repair >/dev/null 2>"$T/err"
check "--repair drops and recomputes it (exit 0)" [ $? -eq 0 ]
check "--repair says what it dropped" grep -q "dropped 1 damaged record (first: line $mid" "$T/err"
check "the repaired run's manifest is the clean one" cmp -s <(strip "$OUT/manifest.json") "$T/clean.stripped"

head -c -20 "$T/clean.jsonl" >"$OUT/journal.jsonl" # the last record torn mid-line
"$SWAN_BIN" analyze "$MODEL" -o "$OUT" -j 1 >/dev/null 2>"$T/err"
check "a torn last record is cut off (exit 0)" [ $? -eq 0 ]
check "with a warning naming the line" grep -q "warning: .*journal.jsonl: line $lines was torn" "$T/err"
check "and the manifest is the clean one" cmp -s <(strip "$OUT/manifest.json") "$T/clean.stripped"
finish
