# An interrupted run loses no finished work: the journal keeps every result, and
# running the same command again finishes the job with the same manifest as an
# uninterrupted run. Covers Ctrl-C (SIGINT), SIGTERM and a coordinator killed
# outright (SIGKILL: its workers must notice and exit on their own).
. "$(dirname "$0")/lib.sh"
need_python
demo_model
journal_lines() { [ -f "$1/journal.jsonl" ] && wc -l <"$1/journal.jsonl" || echo 0; }
has_progress() { [ "$(journal_lines "$1")" -ge 6 ]; }
no_workers() { [ -z "$(workers_of "$1")" ]; }

for sig in INT TERM KILL; do
    out="$T/run-$sig"
    start_slow_run "$out" "$T/err-$sig" -j 2
    if ! wait_for 30 has_progress "$out"; then fail "$sig: no progress within 30 s"; kill -9 $pid; continue; fi
    kill -$sig $pid
    wait $pid
    status=$?
    want=130; [ $sig = KILL ] && want=137
    check "$sig: coordinator exits with $want (got $status)" [ $status -eq $want ]
    check "$sig: no manifest after the interruption" [ ! -e "$out/manifest.json" ]
    check "$sig: workers gone within 5 s" wait_for 5 no_workers $pid
    saved=$(($(journal_lines "$out") - 1))
    [ $sig != KILL ] && check "$sig: says how to resume" grep -q "run the same command to resume" "$T/err-$sig"
    "$SWAN_BIN" analyze "$T/model" -o "$out" -j 2 -q 2>"$T/err2-$sig"
    check "$sig: resumed run succeeds" [ $? -eq 0 ]
    check "$sig: resumed run reuses the $saved saved results" grep -q "resuming: $saved of" "$T/err2-$sig"
    check "$sig: resumed manifest identical to an uninterrupted run" same_manifests "$out/manifest.json" "$T/ref/manifest.json"
done

# A finished journal lets the reduce re-run with other settings and no analysis.
cp "$T/ref/manifest.json" "$T/ref-default.json"
"$SWAN_BIN" analyze "$T/model" -o "$T/ref" --thresholds 0.2,0.5,0.8 -q 2>"$T/err-re"
check "re-run with new thresholds reuses every result" grep -qE "resuming: ([0-9]+) of \1 " "$T/err-re"
bits_hist() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["bits_distribution"])' "$1"; }
check "re-run with new thresholds changes the allocation" [ "$(bits_hist "$T/ref/manifest.json")" != "$(bits_hist "$T/ref-default.json")" ]
# A journal from another seed is refused, not mixed in.
"$SWAN_BIN" analyze "$T/model" -o "$T/ref" --seed 5 -q 2>"$T/err-seed"
check "journal of another seed refused with status 2" [ $? -eq 2 ]
check "refusal names --fresh" grep -q -- "--fresh" "$T/err-seed"
check "a refused run leaves the earlier manifest alone" [ -s "$T/ref/manifest.json" ]
"$SWAN_BIN" analyze "$T/model" -o "$T/ref" --seed 5 --fresh -q
check "--fresh starts over" [ $? -eq 0 ]
# Same tensor table, different weights (a fine-tune): its journal must not be reused.
cp -r "$T/model" "$T/tuned"
"$PY" - "$T/tuned" <<'PYEOF'
import glob, os, struct, sys
# A fine-tune changes every weight a little: flip the lowest mantissa bit of one
# BF16 value in every 4 KiB of tensor data (the header stays identical).
for f in glob.glob(sys.argv[1] + "/*.safetensors"):
    size = os.path.getsize(f)
    with open(f, "r+b") as fh:
        start = 8 + struct.unpack("<Q", fh.read(8))[0]
        for at in range(start, size - 2, 4096):
            fh.seek(at); b = fh.read(1); fh.seek(at)
            fh.write(bytes([b[0] ^ 1]))
PYEOF
cp -r "$T/ref" "$T/ref-tuned"
"$SWAN_BIN" analyze "$T/tuned" -o "$T/ref-tuned" --seed 5 -q 2>"$T/err-tuned"
check "journal of the same architecture with other weights is refused" [ $? -eq 2 ]
finish
