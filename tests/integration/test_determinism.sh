# The same inputs and settings give the same manifest whatever the number of
# workers (spec §3 "Determinism"): -j 1 and -j 2 agree on everything but timing.
. "$(dirname "$0")/lib.sh"
need_python
"$SWAN_BIN" demo "$T/model" "$T/j2" >/dev/null 2>&1 || { fail "swan demo failed"; finish; }
"$SWAN_BIN" analyze "$T/model" -o "$T/j1" -j 1 -q
check "demo model: -j 1 and -j 2 manifests identical apart from timing" same_manifests "$T/j1/manifest.json" "$T/j2/manifest.json"
"$SWAN_BIN" analyze "$T/model" -o "$T/s1" -j 2 -q --seed 1
check "a different --seed changes the manifest" bash -c "! cmp -s '$T/s1/manifest.json' '$T/j2/manifest.json'"
if [ -n "$SWAN_SHARED" ] && [ -d "$SWAN_SHARED/fixtures/fx-moe-f16-sharded" ]; then
    fx="$SWAN_SHARED/fixtures/fx-moe-f16-sharded"
    "$SWAN_BIN" analyze "$fx" -o "$T/m1" -j 1 -q
    "$SWAN_BIN" analyze "$fx" -o "$T/m2" -j 2 -q
    check "fx-moe-f16-sharded: -j 1 and -j 2 manifests identical apart from timing" same_manifests "$T/m1/manifest.json" "$T/m2/manifest.json"
else
    echo "skipped: fx-moe-f16-sharded part (shared fixtures not found)"
fi
finish
