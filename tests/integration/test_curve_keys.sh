# Keys and listening, on loopback: `swan keygen` (mode, format, never overwriting),
# key-file checks, `--listen` refusals (no keys off loopback, bad endpoint, port in
# use: exit 2 with OUT untouched), and a CURVE run where an allowed worker does the
# job while a worker with an unknown key, a peer without CURVE and raw garbage get
# nothing, are logged once per address, and leave the manifest identical to a local
# run's. A hostile peer holding an allowed key then sends malformed frames through
# CURVE, and the job is still correct. No secret key ever appears in any output.
. "$(dirname "$0")/lib.sh"
need_python
PEER=${SWAN_HOSTILE_PEER:?}
demo_model
K=$T/keys
make_keys "$K" w1 || { fail "swan keygen could not write the test keys"; finish; }
"$SWAN_BIN" keygen -o "$K/intruder" 2>/dev/null   # a valid key nobody allowed
key_re='^[]0-9a-zA-Z.:+=^!/*?&<>()[{}@%$#-]{40}$'

# ---- keygen
check "keygen: secret key is mode 0600" [ "$(ls -l "$K/w1.key" | cut -c1-10)" = "-rw-------" ]
check "keygen: public key is one Z85 line" [ "$(grep -v '^#' "$K/w1.pub" | grep -Ec "$key_re")" = 1 ]
cp "$K/w1.key" "$T/w1.key.orig"
"$SWAN_BIN" keygen -o "$K/w1" 2>"$T/kg.err"; st=$?
check "keygen: refuses to overwrite (status $st)" [ $st -eq 2 ]
check "keygen: says the file exists" grep -q "w1.key already exists" "$T/kg.err"
check "keygen: existing key untouched" cmp -s "$K/w1.key" "$T/w1.key.orig"
"$SWAN_BIN" keygen -o "$T/no/such/dir/x" 2>"$T/kg.err"; st=$?
check "keygen: unwritable place fails with status 1 (got $st)" [ $st -eq 1 ]
check "keygen: ... and leaves nothing" [ ! -e "$T/no/such/dir/x.key" ]
"$SWAN_BIN" keygen 2>"$T/kg.err"; st=$?
check "keygen: no -o is refused (status $st)" [ $st -eq 2 ]
check "keygen --help" "$SWAN_BIN" keygen --help

# ---- key file checks (the run is refused with status 2, nothing written)
secrets() { grep -hv '^#' "$K"/*.key; }
no_secret_in() { ! grep -qF -f <(secrets) "$@"; }
refused() { # refused WHAT PATTERN analyze-flags...
    local what=$1 pat=$2; shift 2
    run_bounded 20 "$SWAN_BIN" analyze "$T/model" -o "$T/never" -j 0 "$@" >"$T/r.out" 2>"$T/r.err"
    local st=$?
    check "$what: status 2 (got $st)" [ $st -eq 2 ]
    check "$what: one line saying why" bash -c "[ \$(wc -l <'$T/r.err') -eq 1 ] && grep -q '$pat' '$T/r.err'"
    check "$what: output folder untouched" [ ! -e "$T/never" ]
    check "$what: no secret in the message" no_secret_in "$T/r.err" "$T/r.out"
}
port=$(free_port)
cp "$K/coordinator.key" "$T/open.key"; chmod 644 "$T/open.key"
refused "secret key readable by others" "chmod 600" --listen "tcp://127.0.0.1:$port" \
    --curve-secret "$T/open.key" --allow "$K/allow"
printf 'not a key\n' >"$T/junk.key"; chmod 600 "$T/junk.key"
refused "malformed secret key" "junk.key: line 1 is not a CURVE key" --listen "tcp://127.0.0.1:$port" \
    --curve-secret "$T/junk.key" --allow "$K/allow"
mkdir -p "$T/empty"
refused "allow folder without keys" "no public keys" --listen "tcp://127.0.0.1:$port" \
    --curve-secret "$K/coordinator.key" --allow "$T/empty"
refused "a secret key given as an allowed key" "secret key file" \
    --listen "tcp://127.0.0.1:$port" --curve-secret "$K/coordinator.key" --allow "$K/w1.key"
refused "--curve-secret without --allow" "go together" --listen "tcp://127.0.0.1:$port" \
    --curve-secret "$K/coordinator.key"

# ---- --listen refusals
refused "listening off loopback without keys" "without keys" --listen "tcp://*:$port"
refused "listening on 0.0.0.0 without keys" "without keys" --listen "tcp://0.0.0.0:$port"
refused "a bad endpoint" "expected tcp://HOST:PORT" --listen "udp://*:$port"
refused "a bad port" "port must be" --listen "tcp://127.0.0.1:70000"
"$PY" -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
open(sys.argv[2], "w").close(); time.sleep(60)' "$port" "$T/holding" &
holder=$!
wait_for 10 [ -e "$T/holding" ]
refused "a port in use" "already in use" --listen "tcp://127.0.0.1:$port" --insecure
refused "a port in use (with keys)" "already in use" --listen "tcp://127.0.0.1:$port" "${COORD_CURVE[@]}"
kill $holder; wait $holder 2>/dev/null

# ---- a CURVE run: an allowed worker, an intruder with an unknown key, hostile peers
port=$(free_port)
ep="tcp://127.0.0.1:$port"
worker_curve "$K" intruder
"$SWAN_BIN" worker --connect "$ep" -j 1 "${WORKER_CURVE[@]}" >"$T/intruder.log" 2>&1 &
intruder=$!
worker_curve "$K" w1
SWAN_TEST_WORKER_DELAY_MS=300 "$SWAN_BIN" worker --connect "$ep" -j 2 "${WORKER_CURVE[@]}" >"$T/w1.log" 2>&1 &
w1=$!
SWAN_TEST_WORKER_DELAY_MS=300 "$SWAN_BIN" analyze "$T/model" -o "$T/out" -j 0 -q --listen "$ep" \
    "${COORD_CURVE[@]}" --worker-timeout 3 2>"$T/err" &
coord=$!
sleep 0.5
# The hostile peer holds an allowed key: its garbage gets through CURVE, to the decoder.
run_bounded 90 "$PEER" "$ep" --curve "$K/coordinator.pub" "$K/w1.key" >"$T/peer.out" 2>&1 &
peer=$!
run_bounded 20 "$PEER" "$ep" --probe >"$T/probe-plain.out" 2>&1
check "a peer without CURVE gets nothing and delivers nothing" grep -q "nothing received" "$T/probe-plain.out"
run_bounded 20 "$PEER" "$ep" --curve "$K/coordinator.pub" "$K/intruder.key" --probe >"$T/probe-key.out" 2>&1
check "a peer with an unknown key gets nothing and delivers nothing" grep -q "nothing received" "$T/probe-key.out"
"$PY" -c 'import os,socket,sys
sent = 0
blobs = [os.urandom(7), os.urandom(64), os.urandom(100000),
         b"\xff" + b"\0"*8 + b"\x7f\x03\x00CURVE" + b"\0"*15 + os.urandom(200)]
for b in blobs:
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.sendall(b); s.close(); sent += 1
    except OSError:
        sent += 1  # the coordinator hung up on the garbage: fine
print("garbage connections:", sent)' "$port" >"$T/garbage.out" 2>&1
check "random bytes were sent to the CURVE port" grep -q "garbage connections: 4" "$T/garbage.out"
wait $peer
check "hostile peer with an allowed key ran its script" grep -q "hostile_peer: done" "$T/peer.out"
( sleep 120; kill -9 $coord ) >/dev/null 2>&1 &
guard=$!
wait $coord; st=$?
pkill -P $guard 2>/dev/null; kill $guard 2>/dev/null
check "CURVE run finished (status $st)" [ $st -eq 0 ]
check "manifest identical to a local run" same_manifests "$T/out/manifest.json" "$T/ref/manifest.json"
check "the intruder's refusal is logged once for its address" \
    [ "$(grep -c 'refused a connection from 127.0.0.1' "$T/err")" -eq 1 ]
check "the hostile peer's garbage was seen and dropped" grep -q "malformed message" "$T/err"
check "the intruder worker was told its key was refused" grep -q "refused this worker's key" "$T/intruder.log"
check "the allowed workers exited on SHUTDOWN" wait_for 10 bash -c "! kill -0 $w1 2>/dev/null"
wait $w1; st=$?
check "the allowed workers' status is 0 (got $st)" [ $st -eq 0 ]
kill $intruder; wait $intruder 2>/dev/null
check "no secret key in any log" no_secret_in "$T"/*.log "$T"/*.out "$T/err"
echo "--- coordinator log:"; cat "$T/err"
finish
