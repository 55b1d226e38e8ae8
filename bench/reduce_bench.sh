#!/usr/bin/env bash
# bench/reduce_bench.sh: `swan reduce OUT` on a ~100,000-tensor journal (issue 6: at most
# 1 s per 100,000 tensors).
#
#   bench/reduce_bench.sh          BASELINE_BIN=old/swan to time another build alongside
#
# The checkpoint is a per-expert MoE with 99,867 small tensors (make_model.py --arch moe
# --L 24 --E 1384 --H 64 --I 32 --V 1024), analyzed once into $BENCH_DIR/out-reduce
# (reused). Then `swan reduce` runs RUNS times (default 3) for each binary, alternating, and
# prints wall seconds, user+sys seconds and peak RSS (GNU time) of each run, the best
# wall per 100,000 tensors, and the outputs' sizes. Every run rewrites all outputs
# (manifest.json, report.html, ...) atomically, with fsync. With BASELINE_BIN, the
# outputs of both builds' last runs are compared byte for byte (the manifest's timing
# block aside).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BENCH_DIR=${BENCH_DIR:-/tmp/swan-bench}
SHARED=${SWAN_SHARED:-$(cd .. && pwd)/shared}
SWAN=${SWAN_BIN:-$BUILD_DIR/coordinator/swan}
RUNS=${RUNS:-3}
PY=${PYTHON:-$(for p in /usr/bin/python3 python3; do "$p" -c "import numpy" 2>/dev/null && { echo "$p"; break; }; done)}
MODEL="$BENCH_DIR/moe100k"
OUT="$BENCH_DIR/out-reduce"
mkdir -p "$BENCH_DIR"

if [ ! -f "$MODEL/config.json" ]; then
    [ -n "$PY" ] && [ -f "$SHARED/tools/make_model.py" ] ||
        { echo "bench: needs $SHARED/tools/make_model.py and python3-numpy" >&2; exit 1; }
    "$PY" "$SHARED/tools/make_model.py" "$MODEL" --arch moe --L 24 --E 1384 --H 64 --I 32 \
        --V 1024 --shard-mb 64 >&2
fi
if [ ! -f "$OUT/manifest.json" ]; then
    echo "bench: analyzing $MODEL once (the journal the reduce reads) ..." >&2
    "$SWAN" analyze "$MODEL" -o "$OUT" -q
fi
n=$(awk 'NR == 1 { if (match($0, /"tensors":[0-9]+/)) print substr($0, RSTART + 10, RLENGTH - 10) }' "$OUT/journal.jsonl")
echo "== swan reduce: $n tensors, journal $(du -m "$OUT/journal.jsonl" | cut -f1) MB, $(getconf _NPROCESSORS_ONLN) cores, load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo ?)"

run() { # run LABEL BIN -> prints one line, appends wall to $BENCH_DIR/reduce.$LABEL
    local t="$BENCH_DIR/reduce.time"
    /usr/bin/time -o "$t" -f "%e %U %S %M" "$2" reduce "$OUT" -q
    read -r wall user sys rss <"$t"
    awk -v l="$1" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v n="$n" 'BEGIN {
        printf "  %-9s wall %5.2f s  user+sys %5.2f s  peak RSS %4.0f MB  (%.2f s wall per 100k tensors)\n",
               l, w, u + s, r / 1024, w * 100000 / n }'
    echo "$wall" >>"$BENCH_DIR/reduce.$1"
}

OUTPUTS="manifest.json mlx_quant.json swan_predicate.py llama_tensor_types.txt report.html"
keep_outputs() { # keep_outputs DIR: the outputs just written, the manifest without its timing block
    rm -rf "$1" && mkdir -p "$1"
    for f in $OUTPUTS; do
        if [ "$f" = manifest.json ]; then sed '/"timing": {/,$d' "$OUT/$f" >"$1/$f"; else cp "$OUT/$f" "$1/$f"; fi
    done
}

rm -f "$BENCH_DIR"/reduce.this "$BENCH_DIR"/reduce.baseline
for i in $(seq 1 "$RUNS"); do
    if [ -n "${BASELINE_BIN:-}" ]; then
        run baseline "$BASELINE_BIN"
        [ "$i" = "$RUNS" ] && keep_outputs "$BENCH_DIR/reduce-out.baseline"
    fi
    run this "$SWAN"
done
if [ -n "${BASELINE_BIN:-}" ]; then
    keep_outputs "$BENCH_DIR/reduce-out.this"
    same=yes
    for f in $OUTPUTS; do
        cmp -s "$BENCH_DIR/reduce-out.baseline/$f" "$BENCH_DIR/reduce-out.this/$f" || { same=no; echo "  $f differs from the baseline's"; }
    done
    echo "  outputs identical to the baseline's (manifest timing aside): $same"
    rm -rf "$BENCH_DIR/reduce-out.baseline" "$BENCH_DIR/reduce-out.this"
fi
for l in baseline this; do
    [ -f "$BENCH_DIR/reduce.$l" ] || continue
    sort -n "$BENCH_DIR/reduce.$l" | head -1 | awk -v l="$l" -v n="$n" \
        '{ printf "  best %-9s %.2f s wall = %.2f s per 100,000 tensors\n", l, $1, $1 * 100000 / n }'
done
ls -l "$OUT"/manifest.json "$OUT"/report.html "$OUT"/journal.jsonl | awk '{ printf "  %-40s %6.1f MB\n", $NF, $5 / 1e6 }'
