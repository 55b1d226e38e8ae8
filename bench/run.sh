#!/usr/bin/env bash
# bench/run.sh: the performance and memory benchmarks of issue #3, measured in one run
# so the numbers read as ratios on a shared, noisy machine.
#
#   bench/run.sh [q06|memory|fp8|gguf|moe|all]     (default: all)
#
#   q06     the qwen3-0.6b-shaped checkpoint (752M params, BF16): wall time, params/s,
#           peak RSS of the coordinator and of the largest worker, GFLOP/s of the spectral
#           step (Gram syrk measured by swan_kernels_bench on the checkpoint's shapes) and
#           this machine's own sgemm GFLOP/s, one process per core, measured alongside.
#   memory  one 1 GiB BF16 tensor (524288 x 1024): peak RSS of the worker and coordinator.
#   fp8     one 1 GiB F8_E4M3 tensor (1048576 x 1024, 128x128 block scales) dequantized on
#           the fly: peak RSS of the worker (target <= 256 MB) and wall time per element,
#           next to the same run on its BF16 upcast (2 GiB), measured in the same run.
#   gguf    the 1 GiB BF16 tensor of `memory` as a GGUF file (same name, same bytes): peak
#           RSS of the worker and wall time next to the safetensors run, same raw metrics.
#   quantize  swan quantize q06 --from its analysis: wall and CPU at -j 1 and -j JOBS.
#   moe     a per-expert MoE checkpoint with ~100,000 small tensors: the share of wall time
#           the workers spend outside the metric kernels (dispatch and bookkeeping).
#
# Checkpoints are generated with ../shared/tools/make_model.py (needs python3-numpy) into
# $BENCH_DIR (default /tmp/swan-bench) and reused. Environment: BUILD_DIR (default build),
# JOBS (default: online cores).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BENCH_DIR=${BENCH_DIR:-/tmp/swan-bench}
SHARED=${SWAN_SHARED:-$(cd .. && pwd)/shared}
JOBS=${JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || sysctl -n hw.ncpu)}
# Debian's python3-numpy lives in /usr/bin/python3, which may not be first on PATH.
PY=${PYTHON:-$(for p in /usr/bin/python3 python3; do "$p" -c "import numpy" 2>/dev/null && { echo "$p"; break; }; done)}
PY=${PY:-python3}
SWAN="$BUILD_DIR/coordinator/swan"
mkdir -p "$BENCH_DIR"

build() {
    cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$BUILD_DIR" -j "$JOBS" >/dev/null
}

make_model() { # make_model DIR ARGS...
    local dir=$1; shift
    [ -f "$dir/config.json" ] && return 0
    if [ ! -f "$SHARED/tools/make_model.py" ] || ! "$PY" -c 'import numpy' 2>/dev/null; then
        echo "bench: needs $SHARED/tools/make_model.py and python3-numpy to build $dir" >&2
        exit 1
    fi
    echo "bench: generating $dir ..." >&2
    "$PY" "$SHARED/tools/make_model.py" "$dir" "$@" >&2
}

# Seconds with a fraction; BSD date (macOS) has no %N.
now() { "$PY" -c 'import time; print(time.time())'; }

# The machine's sgemm rate with one single-threaded process per core, as workers run.
machine_sgemm() {
    local tmp pids=() total=0
    tmp=$(mktemp -d)
    for i in $(seq 1 "$JOBS"); do
        OPENBLAS_NUM_THREADS=1 VECLIB_MAXIMUM_THREADS=1 "$BUILD_DIR/bench/swan_sgemm_bench" >"$tmp/$i" &
        pids+=($!)
    done
    wait "${pids[@]}"
    total=$(cat "$tmp"/* | awk '{for(i=1;i<=NF;i++) if($i=="GFLOP/s") s+=$(i-1)} END {printf "%.1f", s}')
    rm -rf "$tmp"
    echo "$total"
}

# Runs swan analyze; prints "wall_s coordinator_MB worker_MB".
run_swan() { # run_swan MODEL OUT EXTRA...
    local model=$1 out=$2; shift 2
    rm -rf "$out"
    local t0 t1
    t0=$(now)
    "$SWAN" analyze "$model" -o "$out" -j "$JOBS" -v "$@" >"$out.log" 2>"$out.err"
    t1=$(now)
    local mem
    mem=$(sed -n 's/.*peak memory: coordinator \([0-9.]*\) MB, largest worker \([0-9.]*\) MB.*/\1 \2/p' "$out.err")
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') $mem"
}

bench_q06() {
    local model="$BENCH_DIR/q06"
    make_model "$model" --arch qwen3-0.6b --seed 7 --shard-mb 400
    echo "== q06: $(du -shL "$model" | cut -f1) checkpoint, $JOBS workers"
    cat "$model"/*.safetensors >/dev/null # page cache warm, as on a second run
    local sgemm r wall cmb wmb
    sgemm=$(machine_sgemm)
    r=$(run_swan "$model" "$BENCH_DIR/out-q06")
    read -r wall cmb wmb <<<"$r"
    local params
    params=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["total_params"])' "$BENCH_DIR/out-q06/manifest.json")
    # Spectral step rate: syrk + eigen on the two dominant shapes, one worker's thread.
    local k1 k2
    k1=$(OPENBLAS_NUM_THREADS=1 "$BUILD_DIR/bench/swan_kernels_bench" 3072 1024 16 | grep '^phases')
    k2=$(OPENBLAS_NUM_THREADS=1 "$BUILD_DIR/bench/swan_kernels_bench" 151936 1024 16 | grep '^phases')
    local syrk1 eig1 syrk2
    syrk1=$(echo "$k1" | sed 's/.*gram-syrk \([0-9.]*\).*/\1/')
    eig1=$(echo "$k1" | sed 's/.*eigen \([0-9.]*\).*/\1/')
    syrk2=$(echo "$k2" | sed 's/.*gram-syrk \([0-9.]*\).*/\1/')
    "$PY" - "$BENCH_DIR/out-q06/manifest.json" "$wall" "$params" "$sgemm" "$JOBS" "$syrk1" "$eig1" "$syrk2" "$cmb" "$wmb" <<'PYEOF'
import json, sys
man, wall, params, sgemm, jobs, syrk1, eig1, syrk2, cmb, wmb = sys.argv[1:]
wall, params, sgemm, jobs = float(wall), int(params), float(sgemm), int(jobs)
syrk1, eig1, syrk2 = float(syrk1), float(eig1), float(syrk2)
m = json.load(open(man))
flops = 0.0
for sh in m["shards"].values():
    for t in sh["tensors"].values():
        r = t.get("raw")
        if not r: continue
        a, b = r["matrix"]; s = min(a, b)
        flops += a * b * s                       # Gram: syrk = m n s flops
        flops += 4.0 / 3.0 * s ** 3              # tridiagonalization
rate_syrk = 3072 * 1024 * 1024 / syrk1 / 1e9
rate_syrk2 = 151936 * 1024 * 1024 / syrk2 / 1e9
print(f"  wall time                  {wall:8.2f} s   (reference: 121 s; target <= 20 s, stretch 12 s)")
print(f"  throughput                 {params / wall / 1e6:8.1f} M params/s   (reference 6.2)")
print(f"  speed-up vs reference      {121.0 / wall:8.1f} x")
print(f"  peak RSS coordinator       {float(cmb):8.0f} MB  (target <= 64 MB)")
print(f"  peak RSS largest worker    {float(wmb):8.0f} MB  (target <= 256 MB)")
print(f"  machine sgemm, {jobs} procs     {sgemm:8.1f} GFLOP/s")
print(f"  spectral step, one worker  syrk {rate_syrk:.1f} GFLOP/s (3072x1024), {rate_syrk2:.1f} GFLOP/s (151936x1024); eigen 1024: {eig1*1000:.0f} ms")
print(f"  spectral work in q06       {flops / 1e12:8.2f} TFLOP -> floor at machine sgemm rate {flops / 1e9 / sgemm:.1f} s; run reached {flops / 1e9 / wall:.1f} GFLOP/s = {flops / 1e9 / wall / sgemm * 100:.0f}% of sgemm")
PYEOF
}

make_huge1() { # the 1 GiB BF16 tensor of bench_memory, in $BENCH_DIR/huge1
    local model="$BENCH_DIR/huge1"
    if [ ! -f "$model/model.safetensors" ]; then
        echo "bench: generating $model (one 524288 x 1024 BF16 tensor) ..." >&2
        mkdir -p "$model"
        "$PY" - "$model" "$SHARED/tools" <<'PYEOF'
import sys, numpy as np
sys.path.insert(0, sys.argv[2]); import st
rng = np.random.default_rng(3)
w = rng.standard_normal((524288, 1024), dtype=np.float32) * (1 / 32.0)
w[:, :4] *= 8.0
st.write(sys.argv[1] + "/model.safetensors", {"model.layers.0.mlp.huge_proj.weight": ("BF16", st.f32_to_bf16(w))})
PYEOF
        echo '{"model_type": "bench"}' >"$model/config.json"
    fi
}

bench_memory() {
    local model="$BENCH_DIR/huge1"
    make_huge1
    echo "== memory: one $(du -h "$model/model.safetensors" | cut -f1) tensor (524288 x 1024 BF16)"
    local r wall cmb wmb
    r=$(JOBS=1 run_swan "$model" "$BENCH_DIR/out-huge1")
    read -r wall cmb wmb <<<"$r"
    echo "  wall ${wall} s; peak RSS coordinator ${cmb} MB, worker ${wmb} MB (target <= 256 MB)"
    model="$BENCH_DIR/experts1"
    if [ ! -f "$model/model.safetensors" ]; then
        echo "bench: generating $model (one packed-expert 64 x 2048 x 4096 BF16 tensor) ..." >&2
        mkdir -p "$model"
        "$PY" - "$model" "$SHARED/tools" <<'PYEOF'
import sys, numpy as np
sys.path.insert(0, sys.argv[2]); import st
rng = np.random.default_rng(4)
w = np.empty((64, 2048, 4096), dtype=np.uint16)
for e in range(64):
    w[e] = st.f32_to_bf16(rng.standard_normal((2048, 4096), dtype=np.float32) * (1 / 64.0))
st.write(sys.argv[1] + "/model.safetensors", {"model.layers.0.mlp.experts.gate_up_proj": ("BF16", w)})
PYEOF
        echo '{"model_type": "bench"}' >"$model/config.json"
    fi
    echo "== memory: one $(du -h "$model/model.safetensors" | cut -f1) packed-expert tensor (64 x 2048 x 4096 BF16, 4 experts sampled)"
    r=$(JOBS=1 run_swan "$model" "$BENCH_DIR/out-experts1")
    read -r wall cmb wmb <<<"$r"
    echo "  wall ${wall} s; peak RSS coordinator ${cmb} MB, worker ${wmb} MB (target <= 256 MB)"
}

bench_fp8() {
    local fp8="$BENCH_DIR/fp8-1g" bf16="$BENCH_DIR/fp8-1g-bf16"
    if [ ! -f "$fp8/model.safetensors" ] || [ ! -f "$bf16/model.safetensors" ]; then
        echo "bench: generating $fp8 (one 1048576 x 1024 F8_E4M3 tensor + scales) and its BF16 upcast ..." >&2
        mkdir -p "$fp8" "$bf16"
        "$PY" - "$fp8" "$bf16" "$SHARED/tools" <<'PYEOF'
import sys, numpy as np
sys.path.insert(0, sys.argv[3]); import st
rows, cols, b = 1048576, 1024, 128
rng = np.random.default_rng(5)
scales = (rng.uniform(0.5, 2.0, (rows // b, cols // b)) * 1e-3).astype(np.float32)
q = np.empty((rows, cols), dtype=np.uint8)
up = np.empty((rows, cols), dtype=np.uint16)
step = 65536
for r0 in range(0, rows, step):
    n = step * cols
    # E4M3 bytes from a rounded Gaussian exponent: never NaN (0x7f/0xff).
    ex = np.clip(np.round(rng.normal(7, 1.2, n)), 1, 14).astype(np.int32)
    mm = rng.integers(0, 8, n, dtype=np.int32)
    sg = rng.integers(0, 2, n, dtype=np.int32)
    q[r0:r0 + step] = (sg << 7 | ex << 3 | mm).astype(np.uint8).reshape(step, cols)
    # The BF16 upcast: bf16(fp8 * scale), the product in float32.
    v = ((1 + mm / 8.0) * 2.0 ** (ex - 7) * np.where(sg, -1.0, 1.0)).astype(np.float32).reshape(step, cols)
    v *= np.repeat(np.repeat(scales[r0 // b:(r0 + step) // b], b, 0), b, 1)
    up[r0:r0 + step] = st.f32_to_bf16(v)
name = "model.layers.0.mlp.huge_proj.weight"
st.write(sys.argv[1] + "/model.safetensors", {name: ("F8_E4M3", q), name + "_scale_inv": ("F32", scales)})
st.write(sys.argv[2] + "/model.safetensors", {name: ("BF16", up)})
PYEOF
        echo '{"model_type": "bench", "quantization_config": {"weight_block_size": [128, 128]}}' >"$fp8/config.json"
        echo '{"model_type": "bench"}' >"$bf16/config.json"
    fi
    local r wall cmb wmb bwall bcmb bwmb
    echo "== fp8: one $(du -h "$fp8/model.safetensors" | cut -f1) F8_E4M3 tensor (1048576 x 1024, 128x128 block scales), one worker"
    r=$(JOBS=1 run_swan "$fp8" "$BENCH_DIR/out-fp8")
    read -r wall cmb wmb <<<"$r"
    echo "  wall ${wall} s; peak RSS coordinator ${cmb} MB, worker ${wmb} MB (target <= 256 MB)"
    r=$(JOBS=1 run_swan "$bf16" "$BENCH_DIR/out-fp8-bf16")
    read -r bwall bcmb bwmb <<<"$r"
    echo "  its $(du -h "$bf16/model.safetensors" | cut -f1) BF16 upcast: wall ${bwall} s; peak RSS worker ${bwmb} MB"
    "$PY" - "$BENCH_DIR/out-fp8/manifest.json" "$BENCH_DIR/out-fp8-bf16/manifest.json" "$wall" "$bwall" <<'PYEOF'
import json, sys
def raw(p):
    for sh in json.load(open(p))["shards"].values():
        for t in sh["tensors"].values():
            if "raw" in t: return t["raw"]
a, b = raw(sys.argv[1]), raw(sys.argv[2])
same = all(a[k] == b[k] for k in a if k != "seconds")
print(f"  FP8 / BF16 wall {float(sys.argv[3]) / float(sys.argv[4]):.2f}; raw metrics identical: {same}")
PYEOF
}

bench_gguf() {
    local st="$BENCH_DIR/huge1" gg="$BENCH_DIR/huge1-gguf/model.gguf"
    make_huge1
    if [ ! -f "$gg" ]; then
        echo "bench: writing $gg from $st/model.safetensors ..." >&2
        mkdir -p "$(dirname "$gg")"
        "$PY" - "$st/model.safetensors" "$gg" <<'PYEOF'
import json, shutil, struct, sys
src, dst = sys.argv[1:3]
with open(src, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    (name, t), = [(k, v) for k, v in json.loads(f.read(n)).items() if k != "__metadata__"]
    rows, cols = t["shape"]
    b0, b1 = t["data_offsets"]
    def s(x): x = x.encode(); return struct.pack("<Q", len(x)) + x
    head = b"GGUF" + struct.pack("<IQQ", 3, 1, 1) + s("general.architecture") + struct.pack("<I", 8) + s("bench")
    head += s(name) + struct.pack("<IQQIQ", 2, cols, rows, 30, 0)  # BF16, dims innermost first
    head += b"\0" * (-len(head) % 32)
    with open(dst, "wb") as g:
        g.write(head)
        f.seek(8 + n + b0)
        left = b1 - b0
        while left:
            chunk = f.read(min(left, 1 << 24)); g.write(chunk); left -= len(chunk)
PYEOF
    fi
    local r wall cmb wmb swall scmb swmb
    echo "== gguf: the 1 GiB 524288 x 1024 BF16 tensor as $(du -h "$gg" | cut -f1) GGUF, one worker"
    r=$(JOBS=1 run_swan "$gg" "$BENCH_DIR/out-gguf")
    read -r wall cmb wmb <<<"$r"
    r=$(JOBS=1 run_swan "$st" "$BENCH_DIR/out-gguf-st")
    read -r swall scmb swmb <<<"$r"
    echo "  GGUF: wall ${wall} s; peak RSS coordinator ${cmb} MB, worker ${wmb} MB (target <= 256 MB)"
    echo "  safetensors: wall ${swall} s; peak RSS coordinator ${scmb} MB, worker ${swmb} MB"
    "$PY" - "$BENCH_DIR/out-gguf/manifest.json" "$BENCH_DIR/out-gguf-st/manifest.json" "$wall" "$swall" <<'PYEOF'
import json, sys
def raw(p):
    for sh in json.load(open(p))["shards"].values():
        for t in sh["tensors"].values():
            if "raw" in t: return t["raw"]
a, b = raw(sys.argv[1]), raw(sys.argv[2])
same = all(a[k] == b[k] for k in a if k != "seconds")
print(f"  GGUF / safetensors wall {float(sys.argv[3]) / float(sys.argv[4]):.2f}; raw metrics identical: {same}")
PYEOF
}

bench_moe() {
    local model="$BENCH_DIR/moe100k"
    make_model "$model" --arch moe --L 24 --E 1384 --H 64 --I 32 --V 1024 --shard-mb 64
    local n
    n=$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["weight_map"]))' "$model/model.safetensors.index.json")
    echo "== moe: $n tensors, $JOBS workers"
    local r wall cmb wmb
    r=$(run_swan "$model" "$BENCH_DIR/out-moe")
    read -r wall cmb wmb <<<"$r"
    "$PY" - "$BENCH_DIR/out-moe/manifest.json" "$wall" "$JOBS" "$cmb" "$wmb" "$BENCH_DIR/out-moe.err" <<'PYEOF'
import json, re, sys
m = json.load(open(sys.argv[1])); wall = float(sys.argv[2]); jobs = int(sys.argv[3])
phases = dict(re.findall(r"swan: ([A-Za-z ]+): ([0-9.]+) s", open(sys.argv[6]).read()))
busy = sum(t["raw"]["seconds"] for s in m["shards"].values() for t in s["tensors"].values() if "raw" in t)
n = m["summary"]["analyzed_tensors"]
run = float(phases["analyzed"])
serial = float(phases["validated the checkpoint"]) + float(phases["reduced and wrote the manifest"])
wcpu = float(phases.get("local workers CPU time", "nan"))
# Share of the analysis phase's core-time spent in the metric kernels, by two clocks:
# kernel wall time (inflated when the coordinator preempts a worker) and worker CPU
# time (which includes the worker's own bookkeeping). The smaller is the honest one.
useful = min(busy, wcpu) / (run * jobs)
print(f"  wall {wall:.2f} s for {n} analyzed tensors ({n / wall:.0f} tensors/s)")
print(f"  analysis phase {run:.2f} s x {jobs} workers: metric kernels {busy:.2f} s (wall), worker CPU {wcpu:.2f} s"
      f" -> dispatch and bookkeeping {100 - useful * 100:.1f}% of it (target <= 5%)")
print(f"  before and after it: validating 100k headers and writing the manifest {serial:.2f} s;"
      f" everything that is not kernel time {100 - min(busy, wcpu) / (wall * jobs) * 100:.1f}% of wall")
print(f"  CPU: coordinator {phases.get('coordinator CPU time', '?')} s;"
      f" peak RSS coordinator {float(sys.argv[4]):.0f} MB, largest worker {float(sys.argv[5]):.0f} MB")
PYEOF
}

# swan quantize on q06 from its finished analysis (issue 11 target: <= 5 s wall on 2
# cores): wall, CPU and peak RSS at -j 1 and -j JOBS, and that both wrote the same bytes.
bench_quantize() {
    local model="$BENCH_DIR/q06" out="$BENCH_DIR/out-q06"
    [ -f "$out/manifest.json" ] || bench_q06
    echo "== quantize: q06 --from its analysis"
    local j
    for j in 1 "$JOBS"; do
        rm -rf "$BENCH_DIR/q06-mlx-j$j"
        local t0 t1 rss
        t0=$(now)
        rss=$( { /usr/bin/time -p "$SWAN" quantize "$model" -o "$BENCH_DIR/q06-mlx-j$j" --from "$out" -j "$j" 2>&1 >/dev/null; } | awk '/^user|^sys/ {s += $2} END {print s}')
        t1=$(now)
        echo "  -j $j: wall $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s, CPU (user+sys) $rss s"
    done
    if cmp -s "$BENCH_DIR/q06-mlx-j1/model-00001-of-00001.safetensors" "$BENCH_DIR/q06-mlx-j$JOBS/model-00001-of-00001.safetensors"; then
        echo "  -j 1 and -j $JOBS outputs identical"
    else
        echo "  -j 1 and -j $JOBS outputs DIFFER" >&2
        exit 1
    fi
}

build
case "${1:-all}" in
q06) bench_q06 ;;
quantize) bench_quantize ;;
memory) bench_memory ;;
fp8) bench_fp8 ;;
gguf) bench_gguf ;;
moe) bench_moe ;;
all) bench_q06; bench_quantize; bench_memory; bench_fp8; bench_gguf; bench_moe ;;
*) echo "usage: bench/run.sh [q06|quantize|memory|fp8|gguf|moe|all]" >&2; exit 2 ;;
esac
