# An idle remote worker that vanishes is noticed: idle workers send a HEARTBEAT every
# 5 s, and the coordinator logs the leave of an idle remote worker silent for 15 s
# (here: SIGSTOPped while the only task runs on the local worker). When it speaks
# again (SIGCONT) it is back, and the job ends normally with it told to leave.
. "$(dirname "$0")/lib.sh"
need_python
mkdir -p "$T/one"
"$PY" - "$T/one/model.safetensors" <<'PYEOF'
import json, struct, sys
n = 64 * 64
hdr = json.dumps({"w.weight": {"dtype": "F32", "shape": [64, 64], "data_offsets": [0, 4 * n]}}).encode()
hdr += b" " * (-len(hdr) % 8)
data = b"".join(struct.pack("<f", ((i * 2654435761) % 1000) / 1000.0 - 0.5) for i in range(n))
open(sys.argv[1], "wb").write(struct.pack("<Q", len(hdr)) + hdr + data)
PYEOF
port=$(free_port)
ep="tcp://127.0.0.1:$port"
# The local worker holds the one task for 25 s; the remote one stays idle (no backup
# copies of a local worker's task).
SWAN_TEST_WORKER_DELAY_MS=25000 "$SWAN_BIN" analyze "$T/one" -o "$T/out" -j 1 -q --listen "$ep" 2>"$T/err" &
apid=$!
# The remote worker comes once the local one has the task.
wait_for 15 bash -c "[ -n \"\$(pgrep -f -- '--parent $apid\$')\" ]"
sleep 1.5
"$SWAN_BIN" worker -j 1 --connect "$ep" >"$T/w.log" 2>&1 &
wpid=$!
check "the remote worker joined" wait_for 15 grep -q "joined" "$T/err"
sleep 1
kill -STOP "$wpid"
check "its leave was logged after 15 s of silence" wait_for 30 grep -q "left: silent for 1[5-9] s while idle" "$T/err"
kill -CONT "$wpid"
check "it is back when it speaks again" wait_for 15 grep -q "is back" "$T/err"
( sleep 60; kill -9 "$apid" ) >/dev/null 2>&1 &
guard=$!
wait "$apid"
st=$?
kill "$guard" 2>/dev/null
check "the job finished (status $st)" [ $st -eq 0 ]
check "the remote worker was told to leave" wait_for 10 bash -c "! kill -0 $wpid 2>/dev/null"
kill -9 "$wpid" 2>/dev/null
echo "--- coordinator log:"; cat "$T/err"; echo "--- worker:"; cat "$T/w.log"
finish
