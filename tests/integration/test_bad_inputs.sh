# Every malformed checkpoint in shared/fixtures/bad behaves as its EXPECT.json says:
# "error" -> exit status 2, exactly one line on stderr naming the file, no manifest;
# ok-flag -> finishes, the tensor is kept at 16 bits with reason non_finite_values;
# ok-skip -> finishes, the zero-size tensor is recorded and not analyzed.
. "$(dirname "$0")/lib.sh"
need_shared
need_python
BAD="$SWAN_SHARED/fixtures/bad"
cases=$("$PY" -c 'import json,sys; [print(k) for k in json.load(open(sys.argv[1]))]' "$BAD/EXPECT.json")
for c in $cases; do
    expect=$("$PY" -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(v if isinstance(v,str) else list(v.items())[0][0]+" "+list(v.items())[0][1])' "$BAD/EXPECT.json" "$c")
    out="$T/out-$c"
    "$SWAN_BIN" analyze "$BAD/$c" -o "$out" -q 2>"$T/err-$c"
    status=$?
    case "$expect" in
    error)
        lines=$(wc -l <"$T/err-$c")
        if [ "$status" -eq 2 ] && [ "$lines" -eq 1 ] && [ ! -e "$out/manifest.json" ] &&
            grep -q "$BAD/$c" "$T/err-$c"; then
            pass "$c: refused: $(cat "$T/err-$c")"
        else
            fail "$c: status $status, $lines stderr lines, manifest $( [ -e "$out/manifest.json" ] && echo present || echo absent): $(cat "$T/err-$c")"
        fi
        ;;
    ok-flag*)
        tensor=${expect#ok-flag }
        got=$("$PY" - "$out/manifest.json" "$tensor" <<'PYEOF' 2>&1
import json, sys
m = json.load(open(sys.argv[1]))
t = [t for s in m["shards"].values() for n, t in s["tensors"].items() if n == sys.argv[2]][0]
assert t["decision"]["bits"] == 16 and t["decision"]["reason"] == "non_finite_values", t["decision"]
assert t["non_finite_count"] > 0
others = [t for s in m["shards"].values() for n, t in s["tensors"].items() if n != sys.argv[2]]
assert all(o["decision"]["reason"] != "non_finite_values" for o in others)
print("flagged with", t["non_finite_count"], "non-finite values")
PYEOF
)
        if [ "$status" -eq 0 ] && grep -q "$tensor" "$T/err-$c"; then pass "$c: $got"; else fail "$c: status $status: $got"; fi
        ;;
    ok-skip*)
        tensor=${expect#ok-skip }
        got=$("$PY" - "$out/manifest.json" "$tensor" <<'PYEOF' 2>&1
import json, sys
m = json.load(open(sys.argv[1]))
t = [t for s in m["shards"].values() for n, t in s["tensors"].items() if n == sys.argv[2]][0]
assert t["num_params"] == 0 and t["kind"] == "empty" and "raw" not in t, t
assert t["decision"]["bits"] == 16
print("recorded, not analyzed")
PYEOF
)
        if [ "$status" -eq 0 ]; then pass "$c: $got"; else fail "$c: status $status: $got"; fi
        ;;
    *) fail "$c: unknown expectation '$expect'" ;;
    esac
done
finish
