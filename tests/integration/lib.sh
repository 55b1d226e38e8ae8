# lib.sh: shared helpers for the integration tests (sourced, not run).
#
# Each test gets SWAN_BIN (the swan executable), SWAN_SHARED (the shared/ folder,
# which may be absent) and SWAN_TEST_TMP from ctest. Exit 77 means "skipped".
set -u
SWAN_BIN=${SWAN_BIN:?SWAN_BIN must point to the swan executable}
SWAN_SHARED=${SWAN_SHARED:-}
PY=${PYTHON:-$(command -v python3 || echo /usr/bin/python3)}
T=$(mktemp -d "${SWAN_TEST_TMP:-/tmp}/swan-it.XXXXXX" 2>/dev/null || mktemp -d /tmp/swan-it.XXXXXX)
trap 'rm -rf "$T"' EXIT
FAILS=0
PASSES=0

pass() { PASSES=$((PASSES + 1)); echo "ok: $*"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL: $*"; }
check() { # check "description" command...
    local what=$1; shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
finish() {
    echo "$PASSES passed, $FAILS failed"
    [ "$FAILS" -eq 0 ]
    exit $?
}
need_shared() {
    if [ -z "$SWAN_SHARED" ] || [ ! -d "$SWAN_SHARED/fixtures" ]; then
        echo "skipped: shared fixtures not found (SWAN_SHARED='$SWAN_SHARED')"
        exit 77
    fi
}
# Sets NPY to a python3 that has numpy, or skips the test (exit 77) saying so.
need_numpy() {
    NPY=""
    for p in /usr/bin/python3 python3; do "$p" -c 'import numpy' 2>/dev/null && { NPY=$p; return 0; }; done
    echo "skipped: needs python3 with numpy (python3-numpy)"
    exit 77
}
# quant_ref_check SRC BITS GROUP: `swan quantize SRC --bits BITS --group-size GROUP` into
# $T/q-<name of SRC>-BITS-GROUP, whose every tensor must equal, byte for byte, what the
# independent numpy re-implementation (mlx_quant_ref.py) computes; prints both tools'
# messages when not. Needs need_numpy.
quant_ref_check() {
    local out="$T/q-$(basename "$1")-$2-$3"
    "$SWAN_BIN" quantize "$1" -o "$out" --bits "$2" --group-size "$3" 2>"$out.err" &&
        "$NPY" "$(dirname "${BASH_SOURCE[0]}")/mlx_quant_ref.py" "$1" "$out" "$2" "$3" >"$out.cmp" 2>&1 ||
        { cat "$out.err" "$out.cmp" 2>/dev/null; false; }
}
need_python() {
    if ! "$PY" -c 'import json' 2>/dev/null; then
        echo "skipped: $PY not available"
        exit 77
    fi
}
# Prints the manifest without fields that legitimately differ between runs (timing).
manifest_sans_timing() {
    "$PY" - "$1" <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1]))
m.pop("timing")
print(json.dumps(m, sort_keys=True, indent=1))
PYEOF
}
same_manifests() {
    diff <(manifest_sans_timing "$1") <(manifest_sans_timing "$2") >/dev/null
}
# The worker processes of any swan run whose --parent is $1.
workers_of() { pgrep -f -- "--parent $1\$" 2>/dev/null || true; }
# demo_model: writes the built-in demo checkpoint to $T/model and its undisturbed
# analysis to $T/ref (the reference manifest most tests compare against).
demo_model() {
    "$SWAN_BIN" demo "$T/model" "$T/ref" >"$T/demo.out" 2>&1 || { fail "swan demo failed"; finish; }
}
# start_slow_run OUT ERR [analyze flags...]: a run slowed to ~0.1 s per tensor, in the
# background (pid in $pid), so that a test can act on it part-way.
start_slow_run() {
    local out=$1 errf=$2; shift 2
    SWAN_TEST_WORKER_DELAY_MS=100 "$SWAN_BIN" analyze "$T/model" -o "$out" -q "$@" 2>"$errf" &
    pid=$!
}
# run_bounded SECONDS command...: runs it, killing it if it outlives SECONDS
# (coreutils' timeout is not on macOS).
run_bounded() {
    local limit=$1; shift
    "$@" &
    local pid=$!
    ( sleep "$limit"; kill -9 "$pid" ) >/dev/null 2>&1 &
    local guard=$!
    wait "$pid"
    local st=$?
    pkill -P "$guard" 2>/dev/null; kill "$guard" 2>/dev/null
    return $st
}
wait_for() { # wait_for SECONDS command... : polls every 0.1 s
    local limit=$1; shift
    local i=0
    while ! "$@"; do
        i=$((i + 1))
        [ $i -ge $((limit * 10)) ] && return 1
        sleep 0.1
    done
}
# make_keys DIR HOST...: CURVE keys as a real deployment has them (swan keygen):
# DIR/coordinator.{key,pub}, one pair per worker host DIR/HOST.{key,pub}, and the
# worker public keys collected in DIR/allow/. Sets COORD_CURVE, the coordinator's
# flags: swan analyze ... --listen tcp://... "${COORD_CURVE[@]}".
make_keys() {
    local dir=$1 h; shift
    mkdir -p "$dir/allow" || return 1
    "$SWAN_BIN" keygen -o "$dir/coordinator" 2>/dev/null || return 1
    for h in "$@"; do
        "$SWAN_BIN" keygen -o "$dir/$h" 2>/dev/null && cp "$dir/$h.pub" "$dir/allow/" || return 1
    done
    COORD_CURVE=(--curve-secret "$dir/coordinator.key" --allow "$dir/allow")
}
# worker_curve DIR HOST: sets WORKER_CURVE, the flags of HOST's workers:
# swan worker --connect tcp://... "${WORKER_CURVE[@]}".
worker_curve() {
    WORKER_CURVE=(--curve-server "$1/coordinator.pub" --curve-secret "$1/$2.key")
}
# free_port: prints a TCP port that nothing on this host listens on right now.
free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
