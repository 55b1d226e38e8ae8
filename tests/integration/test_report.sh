# OUT/report.html in a real browser: headless Chromium (Debian package chromium, in
# deploy/dev.sh) loads the page from a file with no network, the inline script runs
# to the end (it marks <body data-ready="1">, seen in the dumped DOM) with no console
# error, and a screenshot is saved (report-*.png in the test's working folder) for a
# human to look at. Checked on the demo model and, with ../shared, on a synthetic MoE
# of about 3,000 tensors. Skips with a message when Chromium cannot be found.
. "$(dirname "$0")/lib.sh"
need_python
CHROME=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$CHROME" ]; then
    echo "SKIP: chromium not found (install the Debian package chromium: bash deploy/dev.sh deps)"
    exit 77
fi
SHOTS=${SWAN_REPORT_SHOTS:-$PWD}

browse() { # browse NAME REPORT: dump the DOM and take a screenshot
    local name=$1 page=$2 prof
    prof=$(mktemp -d "$T/chrome.XXXXXX")
    local flags=(--headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run
                 --disable-extensions --disable-dev-shm-usage --user-data-dir="$prof"
                 --enable-logging=stderr --v=0 --virtual-time-budget=10000)
    # shellcheck disable=SC2069
    timeout 120 "$CHROME" "${flags[@]}" --dump-dom "file://$page" >"$T/$name.dom" 2>"$T/$name.log"
    timeout 120 "$CHROME" "${flags[@]}" --window-size=1400,2400 --screenshot="$SHOTS/report-$name.png" \
        "file://$page" >/dev/null 2>>"$T/$name.log"
    check "$name: the report's script ran to the end" grep -q 'data-ready="1"' "$T/$name.dom"
    if grep -iE 'CONSOLE.*(error|uncaught)|Uncaught ' "$T/$name.log" >"$T/$name.errors"; then
        fail "$name: console errors: $(head -n 3 "$T/$name.errors")"
    else
        pass "$name: no console errors"
    fi
    check "$name: the table holds every tensor" grep -q "of $3 tensors" "$T/$name.dom"
    check "$name: heatmaps, histograms, curve drawn" \
        sh -c "[ \$(grep -o '<canvas' '$T/$name.dom' | wc -l) -ge 7 ] && grep -q '<polyline' '$T/$name.dom'"
    check "$name: a screenshot was saved ($SHOTS/report-$name.png)" test -s "$SHOTS/report-$name.png"
    check "$name: the page asks for nothing over the network" \
        sh -c "! grep -Eq '(src|href)=\"(https?:)?//' '$page'"
}

demo_model
n=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["total_tensors"])' "$T/ref/manifest.json")
browse demo "$T/ref/report.html" "$n"

NPY=/usr/bin/python3 # make_model.py needs numpy (python3-numpy)
[ -x "$NPY" ] || NPY=$PY
if [ -n "$SWAN_SHARED" ] && [ -f "$SWAN_SHARED/tools/make_model.py" ] && "$NPY" -c 'import numpy' 2>/dev/null; then
    "$NPY" "$SWAN_SHARED/tools/make_model.py" --arch moe --L 8 --E 120 --H 64 --I 64 --V 512 "$T/big" >/dev/null ||
        fail "make_model.py failed"
    if "$SWAN_BIN" analyze "$T/big" -o "$T/big-out" -q --target-bpw 4.5 --quantize-protected; then
        n=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["total_tensors"])' "$T/big-out/manifest.json")
        check "the synthetic MoE has about 3,000 tensors ($n)" test "$n" -ge 2500
        browse moe3000 "$T/big-out/report.html" "$n"
    else
        fail "analyze of the synthetic MoE failed"
    fi
else
    echo "SKIP (part): ../shared or numpy not found; the 3,000-tensor report is not checked"
fi
finish
