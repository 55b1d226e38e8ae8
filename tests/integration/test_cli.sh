# The command line: flags are validated with a clear one-line error and status 2
# before anything is written; inspect describes a checkpoint; help works.
. "$(dirname "$0")/lib.sh"
demo_model
check "demo prints the summary" grep -q "average .* bits per parameter" "$T/demo.out"

# refused "what" args... : exit 2, nothing on stdout, one stderr line naming the problem
# (plus, for a flag, the line "try 'swan CMD --help'"), never the whole help, and the
# output folder not created.
refused() {
    local what=$1; shift
    rm -rf "$T/nope"
    "$SWAN_BIN" "$@" 2>"$T/err" >"$T/out"
    local st=$? lines
    lines=$(wc -l <"$T/err")
    if [ $st -eq 2 ] && [ ! -s "$T/out" ] && [ ! -e "$T/nope" ] && ! grep -q "usage:" "$T/err" &&
        { [ "$lines" -eq 1 ] ||
          { [ "$lines" -eq 2 ] && tail -n 1 "$T/err" | grep -q "^try 'swan [a-z]* *--help'\$"; }; }; then
        pass "$what: $(head -n 1 "$T/err")"
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
refused "group sizes: a size no format uses" analyze "$T/model" -o "$T/nope" --group-sizes 4:48
refused "group sizes: 256" analyze "$T/model" -o "$T/nope" --group-sizes 4:256
refused "group sizes: a width twice" analyze "$T/model" -o "$T/nope" --group-sizes 4:64,4:128
refused "jobs not a number" analyze "$T/model" -o "$T/nope" -j many
refused "-j 0 without --listen" analyze "$T/model" -o "$T/nope" -j 0
refused "threads 0" analyze "$T/model" -o "$T/nope" --threads 0
refused "seed too large (no wrap-around)" analyze "$T/model" -o "$T/nope" --seed 99999999999999999999999
refused "seed negative" analyze "$T/model" -o "$T/nope" --seed -1
refused "worker timeout not a number" analyze "$T/model" -o "$T/nope" --worker-timeout nan
refused "unknown flag" analyze "$T/model" -o "$T/nope" --bogus
refused "unknown short flag" analyze "$T/model" -o "$T/nope" -x
refused "flag missing its value" analyze "$T/model" -o "$T/nope" --seed
refused "two model dirs" analyze "$T/model" "$T/model" -o "$T/nope"
refused "missing model dir" analyze "$T/does-not-exist" -o "$T/nope"
refused "no model dir" analyze -o "$T/nope"
refused "unknown command" frobnicate
refused "inspect: unknown flag" inspect --bogus "$T/model"
refused "inspect: two folders" inspect "$T/model" "$T/model"
refused "worker: no --connect" worker
refused "worker: bad --threads" worker --connect tcp://127.0.0.1:1 --threads x
refused "demo: unknown flag" demo --bogus
refused "demo: a third argument" demo "$T/nope" "$T/nope2" extra
refused "two model dirs, one after --" analyze "$T/model" -o "$T/nope" -- "$T/model"
refused "reduce: no folder" reduce
refused "reduce: two folders" reduce "$T/nope" "$T/nope2"
refused "reduce: two folders, one after --" reduce "$T/nope" -- "$T/nope2"
refused "reduce: unknown flag" reduce "$T/nope" --bogus
refused "reduce: bad --weights (shared reduce flags)" reduce "$T/nope" --weights 0.5,0.5
refused "reduce: two budgets" reduce "$T/nope" --target-bpw 4 --target-size 10GB
refused "verify: one argument" verify "$T/nope"
refused "verify: three arguments" verify "$T/nope" "$T/model" extra
refused "keygen: a positional argument" keygen "$T/nope"
refused "keygen: no -o" keygen
refused "worker: a positional argument" worker "$T/nope"
refused "worker: a positional argument after --" worker --connect tcp://127.0.0.1:1 -- "$T/nope"
refused "worker: empty --connect" worker --connect ""
refused "demo: a third argument after --" demo "$T/nope" -- "$T/nope2" extra
refused "inspect: an empty MODEL_DIR (named)" inspect ""
refused "reduce: an empty OUT (named)" reduce ""
refused "verify: an empty MODEL (named)" verify "$T/ref" ""
refused "quantize: -o '' (named)" quantize "$T/model" -o "" --bits 4
refused "quantize: unknown flag" quantize "$T/model" -o "$T/nope" --bits 4 --bogus
refused "quantize: bad --jobs" quantize "$T/model" -o "$T/nope" --bits 4 -j x
refused "quantize: two model dirs" quantize "$T/model" "$T/model" -o "$T/nope" --bits 4
refused "quantize: two model dirs, one after --" quantize "$T/model" -o "$T/nope" --bits 4 -- "$T/model"
refused "quantize: no model dir" quantize -o "$T/nope" --bits 4
refused "quantize: an empty MODEL_DIR (named)" quantize "" -o "$T/nope" --bits 4
refused "quantize: no -o" quantize "$T/model" --bits 4
refused "quantize: bad --weights (shared reduce flags)" quantize "$T/model" -o "$T/nope" --weights 0.5,0.5
refused "quantize: two budgets (shared reduce flags)" quantize "$T/model" -o "$T/nope" --target-bpw 4 --target-size 10GB
refused "quantize: --bits with a budget" quantize "$T/model" -o "$T/nope" --bits 4 --target-bpw 4
refused "quantize: --protect alone with --bits" quantize "$T/model" -o "$T/nope" --bits 4 --protect q_proj
refused "quantize: nothing to decide from" quantize "$T/model" -o "$T/nope"
refused "quantize: -q takes no value" quantize "$T/model" -o "$T/nope" --bits 4 --quiet=yes

# The exact words of a refusal, as the README shows them.
"$SWAN_BIN" analyze "$T/model" -o "$T/nope" --jobs x 2>"$T/err"
check "a bad value names the flag, what was expected and what was given" \
    grep -qx "swan analyze: --jobs: expected a whole number 0..4096, got 'x'" "$T/err"
check "... followed by the help hint" grep -qx "try 'swan analyze --help'" "$T/err"
"$SWAN_BIN" quantize "$T/model" -o "$T/nope" --bits 4 --group-size 48 2>"$T/err"
check "quantize: the same words (flag, expected, got)" \
    grep -qx "swan quantize: --group-size: expected 32, 64 or 128, got '48'" "$T/err"
check "quantize: ... followed by its help hint" grep -qx "try 'swan quantize --help'" "$T/err"

# -o: an empty name, or an existing file, is refused naming the path; nothing is created.
: >"$T/afile"
"$SWAN_BIN" analyze "$T/model" -o "" 2>"$T/err"
check "-o '': exit 2 with a one-line reason" [ $? -eq 2 ] && grep -q "^swan analyze: --out: expected a folder name, got ''" "$T/err"
"$SWAN_BIN" analyze "$T/model" -o "$T/afile" 2>"$T/err"
check "-o FILE: exit 2 naming the path" [ $? -eq 2 ] && grep -q "'$T/afile' exists and is not a folder" "$T/err"
check "-o FILE: the file is untouched" [ ! -s "$T/afile" ]
"$SWAN_BIN" analyze "$T/model" -o "$T/afile/sub" 2>"$T/err"
check "-o FILE/sub: exit 2" [ $? -eq 2 ] && grep -q "afile/sub" "$T/err"
"$SWAN_BIN" demo "$T/afile" "$T/nope" 2>"$T/err"
check "demo DIR that is a file: exit 2, nothing created" [ $? -eq 2 ] && [ ! -e "$T/nope" ]

# Help: every subcommand, on stdout, exit 0, nothing on stderr.
for cmd in analyze inspect worker demo reduce verify keygen quantize; do
    for h in --help -h; do
        "$SWAN_BIN" $cmd $h >"$T/h.out" 2>"$T/h.err"
        st=$?
        check "swan $cmd $h: exit 0, help on stdout only" \
            [ $st -eq 0 ] && grep -q "^usage: swan $cmd" "$T/h.out" && [ ! -s "$T/h.err" ]
    done
done
"$SWAN_BIN" help analyze >"$T/h.out"
check "swan help analyze == swan analyze --help" grep -q "^usage: swan analyze" "$T/h.out"
check "analyze help says -q hides the summary too" grep -q "neither progress nor the summary" "$T/h.out"
check "analyze help says --protect is a case-insensitive substring" grep -q "case-insensitive" "$T/h.out"
check "analyze help lists the built-in protected patterns" grep -q "embed_tokens, lm_head" "$T/h.out"
"$SWAN_BIN" reduce --help >"$T/h.out"
check "reduce help has the shared allocation flags" grep -q -- "--target-bpw B" "$T/h.out"
check "reduce help: the same allocation text as analyze's" \
    bash -c "diff <('$SWAN_BIN' analyze --help | sed -n '/^allocation/,/quantize-protected/p') <(sed -n '/^allocation/,/quantize-protected/p' '$T/h.out')"
"$SWAN_BIN" quantize --help >"$T/h.out"
check "quantize help says -q hides the summary too" grep -q -- "-q, --quiet .*neither progress nor the summary" "$T/h.out"
check "quantize help: the same allocation text as analyze's" \
    bash -c "diff <('$SWAN_BIN' analyze --help | sed -n '/^allocation/,/quantize-protected/p') <(sed -n '/^allocation/,/quantize-protected/p' '$T/h.out')"
"$SWAN_BIN" quantize "$T/model" -o "$T/quant-q" --bits 4 -q >"$T/qq.out" 2>"$T/qq.err"
check "quantize -q: exit 0 with nothing printed" [ $? -eq 0 ] && [ ! -s "$T/qq.out" ] && [ ! -s "$T/qq.err" ]
check "quantize -q: the model is written" [ -s "$T/quant-q/model.safetensors.index.json" ]
"$SWAN_BIN" quantize "$T/model" -o "$T/quant-v" --bits 4 >"$T/qv.out" 2>"$T/qv.err"
check "quantize without -q: the summary on stderr, stdout empty" \
    [ $? -eq 0 ] && [ ! -s "$T/qv.out" ] && grep -q "^swan quantize: wrote " "$T/qv.err"
check "quantize summary: a small model's size in MB, not 0.00 GB" \
    grep -q "^swan quantize: wrote .* in 1 shard, [0-9.]* MB, " "$T/qv.err"
(cd "$T" && "$SWAN_BIN" demo --help >/dev/null && "$SWAN_BIN" demo -h >/dev/null)
check "demo --help / -h are flags, not folder names" [ ! -e "$T/--help" ] && [ ! -e "$T/-h" ] && [ ! -e "$T/swan-demo-model" ]
"$SWAN_BIN" demo -q "$T/model" "$T/demo-q" >"$T/dq.out" 2>"$T/dq.err"
check "demo -q: runs with nothing printed" [ $? -eq 0 ] && [ ! -s "$T/dq.out" ] && [ ! -s "$T/dq.err" ]
check "demo -q: the manifest is written" [ -s "$T/demo-q/manifest.json" ]
for v in --version -V; do
    "$SWAN_BIN" $v >"$T/v.out" 2>"$T/v.err"
    st=$?
    check "swan $v prints the version" [ $st -eq 0 ] && grep -qx "swan [0-9]*\.[0-9]*\.[0-9]*" "$T/v.out" && [ ! -s "$T/v.err" ]
done

# A write error on standard output is an error (Linux has /dev/full; macOS does not).
if [ -w /dev/full ]; then
    "$SWAN_BIN" --help >/dev/full 2>"$T/err"
    check "--help > /dev/full: exit 1 with a message" [ $? -eq 1 ] && grep -q "cannot write to standard output" "$T/err"
    "$SWAN_BIN" inspect "$T/model" >/dev/full 2>"$T/err"
    check "inspect > /dev/full: exit 1" [ $? -eq 1 ] && grep -q "standard output" "$T/err"
else
    echo "note: no /dev/full here; the stdout write-error checks did not run"
fi

# Empty folder arguments are refused naming the argument, not as "'' cannot open".
"$SWAN_BIN" reduce "" 2>"$T/err"
check "reduce '': names OUT" grep -qx "swan reduce: OUT: expected a folder, got ''" "$T/err"
"$SWAN_BIN" inspect "" 2>"$T/err"
check "inspect '': names MODEL_DIR" grep -qx "swan inspect: MODEL_DIR: expected a folder, got ''" "$T/err"
# quantize -o FILE: exit 2 naming the path before anything is read or written.
"$SWAN_BIN" quantize "$T/model" -o "$T/afile" --bits 4 2>"$T/err"
check "quantize -o FILE: exit 2 naming the path" [ $? -eq 2 ] && grep -q "'$T/afile' exists and is not a folder" "$T/err"
check "quantize -o FILE: the file is untouched" [ ! -s "$T/afile" ]
# swan worker -j far above the cores warns once too (checked on a refused run: no
# worker process starts).
"$SWAN_BIN" worker -j 4096 --connect tcp://127.0.0.1:1 --curve-server x 2>"$T/err"
check "worker -j 4096: refused run (exit 2)" [ $? -eq 2 ]
check "worker -j 4096 warns once that it is far above the core count" \
    [ "$(grep -c "swan worker: warning: -j 4096 is far above" "$T/err")" -eq 1 ]

# -j far above the cores: one warning (checked on a refused run: no workers start).
"$SWAN_BIN" analyze "$T/does-not-exist" -j 4096 2>"$T/err"
check "-j 4096 warns once that it is far above the core count" \
    [ "$(grep -c "warning: -j 4096 is far above" "$T/err")" -eq 1 ]

"$SWAN_BIN" analyze "$T/model" -o "$T/custom" -q --weights 0.25,0.25,0.25,0.25 --thresholds 0.05,0.5,0.95 --protect q_proj >"$T/q.out" 2>"$T/q.err"
check "custom policy run succeeds" [ $? -eq 0 ]
check "-q: nothing on stdout or stderr" [ ! -s "$T/q.out" ] && [ ! -s "$T/q.err" ]
check "custom policy recorded in the manifest" grep -q '"q_proj"' "$T/custom/manifest.json"
check "--protect keeps q_proj at 16 bits" bash -c "grep -A30 'self_attn.q_proj.weight\"' '$T/custom/manifest.json' | grep -q 'protected_pattern'"
"$SWAN_BIN" analyze "$T/model" -o "$T/custom" -q --protect Q_PROJ --protect no_such_tensor_xyz 2>"$T/protect.err"
check "--protect: a pattern that matches nothing still runs" [ $? -eq 0 ]
check "--protect: ... with one warning naming it" [ "$(grep -c "warning: --protect 'no_such_tensor_xyz' matches no tensor" "$T/protect.err")" -eq 1 ]
check "--protect: case-insensitive (Q_PROJ matches, no warning for it)" bash -c "! grep -q Q_PROJ '$T/protect.err'"
check "--protect Q_PROJ keeps q_proj at 16 bits" bash -c "grep -A30 'self_attn.q_proj.weight\"' '$T/custom/manifest.json' | grep -q 'protected_pattern'"
cp -r "$T/custom" "$T/custom-r"
"$SWAN_BIN" reduce "$T/custom-r" -q --protect no_such_tensor_xyz 2>"$T/protect.err"
check "reduce --protect: a pattern that matches nothing still runs" [ $? -eq 0 ]
check "reduce --protect: ... with one warning naming it" [ "$(grep -c "^swan reduce: warning: --protect 'no_such_tensor_xyz' matches no tensor" "$T/protect.err")" -eq 1 ]

# Messages that are not errors (progress, summary) go to stderr; stdout stays empty.
"$SWAN_BIN" analyze "$T/model" -o "$T/ref" >"$T/rerun.out" 2>"$T/rerun.err"
check "re-run: exit 0" [ $? -eq 0 ]
check "re-run: nothing on stdout" [ ! -s "$T/rerun.out" ]
check "re-run: the summary is on stderr" grep -q "bits per parameter" "$T/rerun.err"
# A re-run over a finished journal does only the reduce: its summary says so, with no
# throughput, no worker memory and no size rounded to "0.000 GB".
check "re-run summary: says only the reduce ran" grep -q "all results from the journal: only the reduce ran" "$T/rerun.err"
check "re-run summary: no params/s" bash -c "! grep -q 'params/s' '$T/rerun.err'"
check "re-run summary: no worker memory" bash -c "! grep -q 'worker' '$T/rerun.err'"
check "re-run summary: a small size in MB" grep -q "estimated size [0-9.]* MB" "$T/rerun.err"
check "first run summary: the throughput of what it analyzed" grep -q "analyzed [0-9]* tensors (.* params) in .* s with .* workers\? (.* params/s)" "$T/demo.out"

# Two runs into one output folder would interleave one journal: the second refuses.
start_slow_run "$T/busy" /dev/null
first=$pid
busy_started() { [ -f "$T/busy/journal.jsonl" ]; }
wait_for 20 busy_started
"$SWAN_BIN" analyze "$T/model" -o "$T/busy" -q 2>"$T/err-busy"
check "a second run into a busy output folder is refused (status 2)" [ $? -eq 2 ]
check "the refusal says the folder is in use" grep -q "in use by another swan" "$T/err-busy"
wait $first
check "the first run still completes" [ $? -eq 0 ]

"$SWAN_BIN" inspect "$T/model" >"$T/inspect.out"
check "inspect succeeds" [ $? -eq 0 ]
check "inspect folds layers into {N}" grep -q "model.layers.{N}.self_attn.q_proj.weight" "$T/inspect.out"
check "inspect reports BF16" grep -q "BF16" "$T/inspect.out"
"$SWAN_BIN" --help >"$T/help.out"
check "--help exits 0 and lists the commands" grep -q "swan inspect MODEL_DIR" "$T/help.out"
"$SWAN_BIN" analyze --help >"$T/help.out"
check "analyze --help documents resume" grep -q "resumes" "$T/help.out"
finish
