# Every shared fixture and the real stories260K model, analyzed by swan and compared
# with its expected.json by the spec's own checker (tolerances of SWAN-METRICS.md §6).
. "$(dirname "$0")/lib.sh"
need_shared
need_python
for dir in "$SWAN_SHARED"/fixtures/fx-* "$SWAN_SHARED"/real/stories260K; do
    name=$(basename "$dir")
    out="$T/$name"
    if ! "$SWAN_BIN" analyze "$dir" -o "$out" -q; then
        fail "$name: swan analyze exited with $?"
        continue
    fi
    if report=$("$PY" "$SWAN_SHARED/tools/check_manifest.py" "$out/manifest.json" "$dir/expected.json"); then
        pass "$name: $(echo "$report" | tail -n 1)"
    else
        fail "$name: $report"
    fi
done
finish
