# A size budget the model cannot reach (below its smallest or above its largest
# possible size) is refused with exit 2 and the range BEFORE any analysis: no worker
# computes anything, no OUT folder or journal is created, an existing OUT is left as it
# was. The range given then is the one the finished reduce reports (one function
# computes both). A reachable budget still works. swan reduce and swan quantize refuse
# the same way.
. "$(dirname "$0")/lib.sh"
need_python
demo_model

# The reachable range the finished analysis reports, in bits per weight.
range_of() { # range_of MANIFEST -> "lo hi" with 4 decimals (as the refusal prints them)
    "$PY" -c 'import json,sys; lo,hi=json.load(open(sys.argv[1]))["summary"]["reachable_bpw"]; print("%.4f %.4f" % (lo, hi))' "$1"
}
# The range a refusal names ("... can reach: LO to HI bits per weight").
refusal_range() { sed -n 's/.*can reach: \([0-9.]*\) to \([0-9.]*\) bits per weight$/\1 \2/p' "$1"; }

# Every worker is slowed to 2 s per tensor: a run that analyzed anything before
# refusing would take far longer than the bound below.
slow_refusal() { # slow_refusal OUT analyze-flags... : status in $st, stderr in $T/e
    SWAN_TEST_WORKER_DELAY_MS=2000 run_bounded 30 "$SWAN_BIN" analyze "$T/model" -o "$1" -j 2 "${@:2}" \
        >"$T/o" 2>"$T/e"
    st=$?
}

read -r lo hi < <(range_of "$T/ref/manifest.json")
check "the demo model's reachable range is known ($lo to $hi bpw)" [ -n "$lo" ] && [ -n "$hi" ]

# 1. below the smallest size
start=$(date +%s)
slow_refusal "$T/new" --target-bpw 1.5
took=$(( $(date +%s) - start ))
check "--target-bpw below the range: exit 2 (in ${took} s)" [ "$st" -eq 2 ]
check "... one line, no help" [ "$(wc -l <"$T/e")" -eq 1 ] && [ ! -s "$T/o" ]
check "... naming the range the finished analysis reports" [ "$(refusal_range "$T/e")" = "$lo $hi" ]
check "... before any analysis: no OUT folder, no journal" [ ! -e "$T/new" ]
check "... quickly (well under one slowed tensor per worker)" [ "$took" -le 10 ]

# 2. above the largest size, as a size
slow_refusal "$T/new" --target-size 1TB
check "--target-size above the range: exit 2" [ "$st" -eq 2 ]
check "... with the range in bytes and GB" grep -q "^swan analyze: --target-size 1000000000000 bytes is outside what this model can reach: [0-9]* to [0-9]* bytes ([0-9.]* to [0-9.]* GB)$" "$T/e"
check "... nothing created" [ ! -e "$T/new" ]

# 3. an existing OUT (a finished run, with its journal) is left exactly as it was
cp -r "$T/ref" "$T/keep"
before=$(cd "$T/keep" && ls -A | sort && cat -- * | cksum)
slow_refusal "$T/keep" --target-bpw 1.2
after=$(cd "$T/keep" && ls -A | sort && cat -- * | cksum)
check "an unreachable budget into an existing OUT: exit 2" [ "$st" -eq 2 ]
check "... every file of OUT unchanged, none added" [ "$before" = "$after" ]

# 4. a reachable budget still runs and lands within it
mid=$("$PY" -c "print(round(($lo + $hi) / 2, 2))")
"$SWAN_BIN" analyze "$T/model" -o "$T/ok" -q --target-bpw "$mid" 2>"$T/e"
check "a reachable --target-bpw $mid runs (exit 0)" [ $? -eq 0 ]
check "... and lands at or below it" "$PY" -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; sys.exit(0 if s["effective_bpw"] <= float(sys.argv[2]) + 1e-9 else 1)' "$T/ok/manifest.json" "$mid"

# 5. swan reduce: the same refusal, the outputs of OUT untouched
cp "$T/keep/manifest.json" "$T/manifest.before"
"$SWAN_BIN" reduce "$T/keep" --target-bpw 1.5 >"$T/o" 2>"$T/e"; st=$?
check "swan reduce --target-bpw below the range: exit 2" [ "$st" -eq 2 ]
check "... naming the same range" [ "$(refusal_range "$T/e")" = "$lo $hi" ]
check "... the manifest untouched" cmp -s "$T/manifest.before" "$T/keep/manifest.json"

# 6. swan quantize with a budget: refused the same way, before analyzing into
#    DIR.analysis (nothing created) or, with --from, from the finished analysis
SWAN_TEST_WORKER_DELAY_MS=2000 run_bounded 30 "$SWAN_BIN" quantize "$T/model" -o "$T/q" --target-bpw 1.5 \
    >"$T/o" 2>"$T/e"
st=$?
check "swan quantize --target-bpw below the range: exit 2, before any analysis" [ "$st" -eq 2 ]
check "... naming the range" [ "$(refusal_range "$T/e")" = "$lo $hi" ]
check "... nothing created (no DIR, no DIR.analysis)" [ ! -e "$T/q" ] && [ ! -e "$T/q.analysis" ]
"$SWAN_BIN" quantize "$T/model" -o "$T/q" --from "$T/keep" --target-size 1TB >"$T/o" 2>"$T/e"; st=$?
check "swan quantize --from OUT --target-size above the range: exit 2 with the range" \
    [ "$st" -eq 2 ] && grep -q "outside what this model can reach: [0-9]* to [0-9]* bytes" "$T/e"
check "... nothing written" [ ! -e "$T/q/model.safetensors.index.json" ]

# 7. on a fixture with expert stacks (one width per stack), the range named before
#    the analysis is the one the finished analysis reports
if [ -n "$SWAN_SHARED" ] && [ -d "$SWAN_SHARED/fixtures/fx-moe-f16-sharded" ]; then
    fx="$SWAN_SHARED/fixtures/fx-moe-f16-sharded"
    for flags in "" "--no-default-protect"; do
        "$SWAN_BIN" analyze "$fx" -o "$T/fx$flags" -q $flags || fail "fixture analysis failed"
        read -r flo fhi < <(range_of "$T/fx$flags/manifest.json")
        SWAN_TEST_WORKER_DELAY_MS=2000 run_bounded 30 "$SWAN_BIN" analyze "$fx" -o "$T/fxnew" \
            --target-bpw 1.1 $flags >"$T/o" 2>"$T/e"
        st=$?
        check "fx-moe $flags: refused before analysis (exit 2, nothing created)" [ "$st" -eq 2 ] && [ ! -e "$T/fxnew" ]
        check "fx-moe $flags: the range before = after the analysis ($flo to $fhi)" [ "$(refusal_range "$T/e")" = "$flo $fhi" ]
    done
else
    echo "SKIP (part): shared fixtures not found; checked on the demo model only"
fi
finish
