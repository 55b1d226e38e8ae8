#!/usr/bin/env bash
# bench/stream_bench.sh: one streaming worker (swan worker --stream) over a veth link
# against the same worker reading the files itself, in one run.
#
#   bench/stream_bench.sh [WINDOW_MIB]      (default 8, the --stream-window default)
#
# A checkpoint of a few hundred MB (qwen3-0.6b shapes, 8 layers, 32000-token
# vocabulary, BF16) is generated with ../shared/tools/make_model.py into $BENCH_DIR
# (default /tmp/swan-bench) and reused. The script creates one network namespace
# joined to this one by a veth pair (10.199.77.0/24; traffic only between those two
# addresses) and removes it on exit. In it runs one `swan worker -j 1`: first with
# --model-dir (it reads the shard files, which the namespace shares with this host,
# from the page cache), then with --stream (every byte comes over the veth link from
# the coordinator's mapping). The coordinator runs here with no local worker
# (-j 0). Reported per mode: wall time of `swan analyze`, throughput in model bytes
# per second, bytes the coordinator streamed, and peak RSS of the worker and the
# coordinator. Needs Linux, root, iproute2 and python3-numpy. Environment:
# BUILD_DIR (default build), BENCH_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BENCH_DIR=${BENCH_DIR:-/tmp/swan-bench}
SHARED=${SWAN_SHARED:-$(cd .. && pwd)/shared}
WINDOW=${1:-8}
SWAN=$BUILD_DIR/coordinator/swan
PY=/usr/bin/python3
NS=swan-bench-$$
HOST_IF=sbh$$
NS_IF=sbn$$
HOST_IP=10.199.77.1
NS_IP=10.199.77.2
PORT=45$((RANDOM % 900 + 100))

[ -x "$SWAN" ] || { echo "build first: $SWAN missing" >&2; exit 1; }
if [ "$(uname -s)" != Linux ] || [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
    echo "needs Linux, root and iproute2 (network namespaces)" >&2
    exit 1
fi
mkdir -p "$BENCH_DIR"
MODEL=$BENCH_DIR/stream-model
if [ ! -f "$MODEL/model.safetensors.index.json" ] && ! ls "$MODEL"/*.safetensors >/dev/null 2>&1; then
    "$PY" "$SHARED/tools/make_model.py" --arch qwen3-0.6b --L 8 --V 32000 --dtype BF16 "$MODEL" >/dev/null
fi
EMPTY=$BENCH_DIR/stream-empty
mkdir -p "$EMPTY"
model_bytes=$(du -cb "$MODEL"/*.safetensors | tail -n 1 | cut -f1)

cleanup() {
    ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    ip link del "$HOST_IF" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$NS"
ip link add "$HOST_IF" type veth peer name "$NS_IF"
ip link set "$NS_IF" netns "$NS"
ip addr add "$HOST_IP/24" dev "$HOST_IF"
ip link set "$HOST_IF" up
ip netns exec "$NS" ip addr add "$NS_IP/24" dev "$NS_IF"
ip netns exec "$NS" ip link set "$NS_IF" up
ip netns exec "$NS" ip link set lo up

cat "$MODEL"/*.safetensors >/dev/null # both modes start from a warm page cache

# run MODE WORKER_FLAGS...: one analyze with one worker in the namespace.
run() {
    local mode=$1; shift
    local out=$BENCH_DIR/stream-out-$mode
    rm -rf "$out"
    ip netns exec "$NS" /usr/bin/time -f "%M" -o "$BENCH_DIR/$mode.wrss" \
        "$SWAN" worker -j 1 --connect "tcp://$HOST_IP:$PORT" "$@" >"$BENCH_DIR/$mode.wlog" 2>&1 &
    local w=$!
    local t0 t1
    t0=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$BENCH_DIR/$mode.crss" \
        "$SWAN" analyze "$MODEL" -o "$out" -j 0 -q --insecure --listen "tcp://$HOST_IP:$PORT" \
        2>"$BENCH_DIR/$mode.err"
    t1=$(date +%s.%N)
    wait "$w" || true
    local wall streamed
    wall=$(echo "$t1 - $t0" | bc -l)
    streamed=$(sed -n 's/.*streamed \([0-9.]*\) MB.*/\1/p' "$BENCH_DIR/$mode.err")
    printf '%-7s wall %7.2f s  %7.1f MB/s of model  streamed %8s MB  worker RSS %6.1f MB  coordinator RSS %6.1f MB\n' \
        "$mode" "$wall" "$(echo "$model_bytes / $wall / 1000000" | bc -l)" "${streamed:-0}" \
        "$(echo "$(cat "$BENCH_DIR/$mode.wrss") / 1024" | bc -l)" \
        "$(echo "$(cat "$BENCH_DIR/$mode.crss") / 1024" | bc -l)"
    eval "wall_$mode=$wall"
}

echo "model: $MODEL, $((model_bytes / 1000000)) MB; one worker process over veth; window $WINDOW MiB; $(nproc) cores (shared)"
run local --model-dir "$MODEL"
run stream --stream --stream-window "$WINDOW"
printf 'ratio   stream / local wall time: %.3f\n' "$(echo "$wall_stream / $wall_local" | bc -l)"
"$PY" - "$BENCH_DIR/stream-out-local/manifest.json" "$BENCH_DIR/stream-out-stream/manifest.json" <<'PYEOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
a.pop("timing"); b.pop("timing")
print("manifests identical apart from timing:", a == b)
PYEOF
