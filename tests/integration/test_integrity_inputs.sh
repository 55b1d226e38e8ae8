#!/usr/bin/env bash
# test_integrity_inputs.sh: hostile or changed inputs and outputs get a clear refusal.
#   - a FIFO named as a shard is refused at once (exit 2), never blocked on;
#   - OUT/manifest.json being a folder is refused before any analysis (exit 2);
#   - a shard touched or rewritten after a run makes the resume refuse, naming it
#     (exit 2, journal kept), and --fresh starts over;
#   - a shard rewritten while the run is going fails it at the end (exit 1), naming the
#     file, with no manifest and the finished results kept in the journal.
. "$(dirname "$0")/lib.sh"
need_shared
MODEL="$SWAN_SHARED/fixtures/fx-dense-bf16"

mkdir "$T/fifo"
mkfifo "$T/fifo/a.safetensors"
printf '{"weight_map":{"w":"a.safetensors"}}' >"$T/fifo/model.safetensors.index.json"
run_bounded 30 "$SWAN_BIN" analyze "$T/fifo" -o "$T/fifo-out" -j 1 -q 2>"$T/err"
check "a FIFO shard is refused with exit 2 (not hung)" [ $? -eq 2 ]
check "the refusal says it is a FIFO" grep -q "a.safetensors: not a regular file (a FIFO)" "$T/err"

mkdir -p "$T/out/manifest.json"
"$SWAN_BIN" analyze "$MODEL" -o "$T/out" -j 1 -q 2>"$T/err"
check "OUT/manifest.json as a folder: exit 2" [ $? -eq 2 ]
check "the refusal names it" grep -q "manifest.json is a folder, not a file" "$T/err"
check "refused before any analysis (no journal)" [ ! -e "$T/out/journal.jsonl" ]

cp -r "$MODEL" "$T/model"
chmod -R u+w "$T/model"
"$SWAN_BIN" analyze "$T/model" -o "$T/run" -j 1 -q || fail "first run"
cp "$T/run/journal.jsonl" "$T/journal.before"
touch -d '2001-01-01' "$T/model/model.safetensors"
"$SWAN_BIN" analyze "$T/model" -o "$T/run" -j 1 -q 2>"$T/err"
check "a shard changed since the journal: resume refused (exit 2)" [ $? -eq 2 ]
check "the refusal names the file and what changed" grep -q "model.safetensors changed since .*modification time" "$T/err"
check "the journal is kept" cmp -s "$T/journal.before" "$T/run/journal.jsonl"
"$SWAN_BIN" analyze "$T/model" -o "$T/run" -j 1 -q --fresh 2>"$T/err"
check "--fresh starts over (exit 0)" [ $? -eq 0 ]

# A shard rewritten mid-run (one byte of tensor data changed in place: new mtime).
# 1 s per tensor: after the second record ~7 s of the run remain for the rewrite, so a
# loaded machine (python starting slowly) does not let the run end first.
cp -r "$MODEL" "$T/live"
chmod -R u+w "$T/live"
journal_records() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge 3 ]; }
SWAN_TEST_WORKER_DELAY_MS=1000 "$SWAN_BIN" analyze "$T/live" -o "$T/live-out" -j 1 -q 2>"$T/err-live" &
pid=$!
if wait_for 60 journal_records "$T/live-out/journal.jsonl"; then
    "$PY" -c 'import os,sys; f=open(sys.argv[1],"r+b"); f.seek(-3, os.SEEK_END); b=f.read(1); f.seek(-3, os.SEEK_END); f.write(bytes([b[0]^1])); f.close()' "$T/live/model.safetensors"
else
    fail "the slowed run made no progress within 60 s"
fi
wait $pid
st=$?
check "a shard rewritten during the run: exit 1 (got $st)" [ $st -eq 1 ]
check "the failure names the shard and says it changed during the run" grep -q "model.safetensors changed during the run" "$T/err-live"
check "no manifest written" [ ! -e "$T/live-out/manifest.json" ]
check "finished results kept in the journal" journal_records "$T/live-out/journal.jsonl"
finish
