#!/usr/bin/env bash
# test_integrity_inputs.sh: hostile or changed inputs and outputs get a clear refusal.
#   - a FIFO named as a shard is refused at once (exit 2), never blocked on;
#   - OUT/manifest.json being a folder is refused before any analysis (exit 2);
#   - a shard touched or rewritten after a run makes the resume refuse, naming it
#     (exit 2, journal kept), and --fresh starts over.
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
finish
