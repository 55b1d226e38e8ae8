#!/usr/bin/env bash
# quantize_bench.sh: `swan quantize` on the q06 checkpoint (qwen3-0.6b-shaped, 752M
# params, BF16) from a finished analysis: wall time, CPU (user + sys) and peak RSS of
# every process (the coordinator; the largest descendant, for when workers take part),
# for the decisions of the analysis (--from OUT), a budget (--target-bpw 9, decided
# again from OUT's journal) and one uniform width (--bits 4). The quantizing is done by
# JOBS local `swan worker` processes (their CPU is in the figure: the coordinator reaps
# them), the coordinator writing their chunks. BASELINE=path/to/another/swan runs that
# binary too, alternating with this one, for a before/after on the same load. Issue 11's target:
# <= 5 s wall on 2 cores from a finished analysis.
#
#   bench/quantize_bench.sh [RUNS]      (default 3 runs of each; the best and the median)
#
# Conditions printed with the numbers: core count, load average before each mode,
# source page cache warm (read once before timing, as on a second run), output folder
# fresh each run on the same disk as BENCH_DIR, every shard fsynced before its rename
# (part of the wall time). The checkpoint and its analysis are made once with
# ../shared/tools/make_model.py (python3-numpy) and `swan analyze`, then reused.
# Environment: BUILD_DIR (default build), BENCH_DIR (default /tmp/swan-bench), JOBS
# (default 2), OUTPUT_DIR (where the MLX folders go, default BENCH_DIR: set it to a tmpfs
# such as /dev/shm to separate the conversion from the disk's write speed).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
BUILD_DIR=${BUILD_DIR:-build}
BENCH_DIR=${BENCH_DIR:-/tmp/swan-bench}
SHARED=${SWAN_SHARED:-$(cd .. && pwd)/shared}
JOBS=${JOBS:-2}
PY=$(for p in /usr/bin/python3 python3; do "$p" -c "import numpy" 2>/dev/null && { echo "$p"; break; }; done)
PY=${PY:-python3}
SWAN="$BUILD_DIR/coordinator/swan"
MODEL="$BENCH_DIR/q06"
OUT="$BENCH_DIR/out-q06"
OUTPUT_DIR=${OUTPUT_DIR:-$BENCH_DIR}
mkdir -p "$BENCH_DIR" "$OUTPUT_DIR"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS" --target swan >/dev/null

if [ ! -f "$MODEL/config.json" ]; then # same arguments as bench/run.sh q06, so both reuse it
    echo "bench: generating $MODEL ..." >&2
    "$PY" "$SHARED/tools/make_model.py" "$MODEL" --arch qwen3-0.6b --seed 7 --shard-mb 400 >&2
fi
if [ ! -f "$OUT/manifest.json" ]; then
    echo "bench: analyzing $MODEL into $OUT ..." >&2
    "$SWAN" analyze "$MODEL" -o "$OUT" -j "$JOBS" -q
fi
cat "$MODEL"/*.safetensors >/dev/null # page cache warm

# measure DEST ARGS...: one run; prints "wall cpu coordinator_MB largest_descendant_MB"
measure() {
    "$PY" - "$@" <<'PYEOF'
import os, resource, shutil, subprocess, sys, time
dest, args = sys.argv[1], sys.argv[2:]
shutil.rmtree(dest, ignore_errors=True)
t0 = time.monotonic()
p = subprocess.Popen(args + ["-o", dest], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
err = p.stderr.read()
_, status, ru = os.wait4(p.pid, 0)
wall = time.monotonic() - t0
if status != 0:
    sys.stderr.write(err.decode(errors="replace"))
    sys.exit("bench: swan quantize failed")
kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # includes the descendants it reaped
scale = 1 / 1024 if sys.platform != "darwin" else 1 / 1048576  # ru_maxrss: KiB (Linux), bytes (macOS)
print("%.3f %.3f %.1f %.1f" % (wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * scale, kids.ru_maxrss * scale))
PYEOF
}

echo "== swan quantize q06 from a finished analysis: -j $JOBS, $(getconf _NPROCESSORS_ONLN) cores online, $RUNS runs each, output in $OUTPUT_DIR ($(df -P "$OUTPUT_DIR" | awk 'NR == 2 {print $1}'))"
for mode in "from:--from $OUT" "budget:--from $OUT --target-bpw 9" "bits:--bits 4 --group-size 64"; do
    name=${mode%%:*}
    flags=${mode#*:}
    load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || uptime | sed 's/.*averages*: *//; s/,.*//')
    rows=""
    base_rows=""
    for r in $(seq 1 "$RUNS"); do
        # shellcheck disable=SC2086
        rows+="$(measure "$OUTPUT_DIR/q06-mlx-$name" "$SWAN" quantize "$MODEL" -j "$JOBS" $flags)"$'\n'
        if [ -n "${BASELINE:-}" ]; then
            # shellcheck disable=SC2086
            base_rows+="$(measure "$OUTPUT_DIR/q06-mlx-$name" "$BASELINE" quantize "$MODEL" -j "$JOBS" $flags)"$'\n'
        fi
    done
    size=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["total_size"])' \
        "$OUTPUT_DIR/q06-mlx-$name/model.safetensors.index.json")
    rm -rf "$OUTPUT_DIR/q06-mlx-$name"
    "$PY" - "$name" "$flags" "$load" "$size" "$rows" "$base_rows" <<'PYEOF'
import statistics, sys
name, flags, load, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rows = [list(map(float, l.split())) for l in sys.argv[5].splitlines() if l.strip()]
base = [list(map(float, l.split())) for l in sys.argv[6].splitlines() if l.strip()]
wall = sorted(r[0] for r in rows)
cpu = [r[1] for r in rows]
print(f"  {name:6s} ({flags}): output {size / 1e9:.2f} GB; load average {load} before")
print(f"         wall best {wall[0]:.2f} s, median {statistics.median(wall):.2f} s (target <= 5 s: "
      f"{'met' if wall[0] <= 5 else 'NOT met'}); CPU user+sys median {statistics.median(cpu):.2f} s")
print(f"         peak RSS: coordinator {max(r[2] for r in rows):.0f} MB, largest descendant "
      f"{max(r[3] for r in rows):.0f} MB (a local worker: workers quantize, the coordinator writes)")
if base:
    bw = sorted(r[0] for r in base)
    print(f"         BASELINE (alternating): wall best {bw[0]:.2f} s, median {statistics.median(bw):.2f} s; "
          f"CPU median {statistics.median([r[1] for r in base]):.2f} s; peak RSS coordinator "
          f"{max(r[2] for r in base):.0f} MB")
PYEOF
done
