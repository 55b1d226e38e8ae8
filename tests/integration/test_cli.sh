# The command line: flags are validated with a clear one-line error and status 2
# before anything is written; inspect describes a checkpoint; help works.
. "$(dirname "$0")/lib.sh"
demo_model
check "demo prints the summary" grep -q "average .* bits per parameter" "$T/demo.out"

refused() { # refused "what" args... : exit 2, one stderr line, output dir not created
    local what=$1; shift
    rm -rf "$T/nope"
    "$SWAN_BIN" "$@" 2>"$T/err" >/dev/null
    local st=$?
    if [ $st -eq 2 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && [ ! -e "$T/nope" ]; then
        pass "$what: $(cat "$T/err")"
    else
        fail "$what: status $st, stderr: $(cat "$T/err")"
    fi
}
refused "weights not summing to 1" analyze "$T/model" -o "$T/nope" --weights 0.5,0.5,0.5,0.5
refused "weights: wrong count" analyze "$T/model" -o "$T/nope" --weights 0.5,0.5
refused "weights: negative" analyze "$T/model" -o "$T/nope" --weights -0.2,0.6,0.3,0.3
refused "thresholds out of order" analyze "$T/model" -o "$T/nope" --thresholds 0.7,0.6,0.9
refused "thresholds above 1" analyze "$T/model" -o "$T/nope" --thresholds 0.1,0.6,1.5
refused "group sizes: bad width" analyze "$T/model" -o "$T/nope" --group-sizes 3:64
refused "jobs not a number" analyze "$T/model" -o "$T/nope" -j many
refused "-j 0 without --listen" analyze "$T/model" -o "$T/nope" -j 0
refused "missing model dir" analyze "$T/does-not-exist" -o "$T/nope"
refused "no model dir" analyze -o "$T/nope"
refused "unknown command" frobnicate

"$SWAN_BIN" analyze "$T/model" -o "$T/custom" -q --weights 0.25,0.25,0.25,0.25 --thresholds 0.05,0.5,0.95 --protect q_proj
check "custom policy run succeeds" [ $? -eq 0 ]
check "custom policy recorded in the manifest" grep -q '"q_proj"' "$T/custom/manifest.json"
check "--protect keeps q_proj at 16 bits" bash -c "grep -A30 'self_attn.q_proj.weight\"' '$T/custom/manifest.json' | grep -q 'protected_pattern'"

# Two runs into one output folder would interleave one journal: the second refuses.
start_slow_run "$T/busy" /dev/null
first=$pid
busy_started() { [ -f "$T/busy/journal.jsonl" ]; }
wait_for 20 busy_started
"$SWAN_BIN" analyze "$T/model" -o "$T/busy" -q 2>"$T/err-busy"
check "a second run into a busy output folder is refused (status 2)" [ $? -eq 2 ]
check "the refusal says the folder is in use" grep -q "in use by another swan analyze" "$T/err-busy"
wait $first
check "the first run still completes" [ $? -eq 0 ]

"$SWAN_BIN" inspect "$T/model" >"$T/inspect.out"
check "inspect succeeds" [ $? -eq 0 ]
check "inspect folds layers into {N}" grep -q "model.layers.{N}.self_attn.q_proj.weight" "$T/inspect.out"
check "inspect reports BF16" grep -q "BF16" "$T/inspect.out"
"$SWAN_BIN" --help >"$T/help.out"
check "--help exits 0 and documents resume" grep -q "resumes" "$T/help.out"
finish
