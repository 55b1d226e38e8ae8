# Workers on other "hosts": two Linux network namespaces joined to this one by veth
# pairs, each running `swan worker --connect tcp://...` against a coordinator that has
# no local workers (-j 0 --listen). The workers start first; the coordinator is killed
# part-way and started again with the same command (the workers rejoin by themselves
# and the journal resumes the job); then one remote worker is killed, its task is
# re-queued after --worker-timeout, and the manifest equals a local run's.
# Needs root and iproute2 (ip netns); skips otherwise. Traffic stays on the veth links.
. "$(dirname "$0")/lib.sh"
need_python
if [ "$(uname -s)" != Linux ] || [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
    echo "skipped: needs Linux, root and iproute2 for network namespaces"
    exit 77
fi
tag=$$
ns1="swan-h1-$tag"; ns2="swan-h2-$tag"
cleanup_net() {
    ip netns pids "$ns1" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns pids "$ns2" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$ns1" 2>/dev/null
    ip netns del "$ns2" 2>/dev/null
    ip link del "sw1-$tag" 2>/dev/null
    ip link del "sw2-$tag" 2>/dev/null
    rm -rf "$T"
}
trap cleanup_net EXIT
setup_host() { # setup_host NS HOST_IF NS_IF SUBNET
    ip netns add "$1" && ip link add "$2" type veth peer name "$3" && ip link set "$3" netns "$1" &&
        ip addr add "10.231.$4.1/24" dev "$2" && ip link set "$2" up &&
        ip netns exec "$1" ip addr add "10.231.$4.2/24" dev "$3" &&
        ip netns exec "$1" ip link set "$3" up && ip netns exec "$1" ip link set lo up
}
# Interface names are limited to 15 characters.
if ! setup_host "$ns1" "sw1-$tag" "sn1-$tag" 1 2>"$T/net.err" ||
    ! setup_host "$ns2" "sw2-$tag" "sn2-$tag" 2 2>>"$T/net.err"; then
    echo "skipped: cannot create network namespaces here: $(head -n 1 "$T/net.err")"
    exit 77
fi
demo_model

port=$((30000 + tag % 20000))
# The remote workers start first and wait for a coordinator, as on real hosts.
for h in 1 2; do
    ns=$ns1; [ $h = 2 ] && ns=$ns2
    SWAN_TEST_WORKER_DELAY_MS=100 ip netns exec "$ns" "$SWAN_BIN" worker \
        --connect "tcp://10.231.$h.1:$port" >"$T/w$h.log" 2>&1 &
done
coordinate() { # one coordinator with no local workers
    SWAN_TEST_WORKER_DELAY_MS=100 "$SWAN_BIN" analyze "$T/model" -o "$T/out" -j 0 -q \
        --listen "tcp://*:$port" --worker-timeout 3 2>>"$T/err" &
    coord=$!
}
progress_at_least() { [ -f "$T/out/journal.jsonl" ] && [ "$(wc -l <"$T/out/journal.jsonl")" -ge "$1" ]; }

# 1. The coordinator dies outright; the remote workers stay up.
coordinate
if wait_for 60 progress_at_least 5; then
    kill -9 $coord
    wait $coord 2>/dev/null
    pass "remote workers produced results; coordinator killed"
else
    fail "no progress from remote workers within 60 s"
fi
done_before=$(($(wc -l <"$T/out/journal.jsonl") - 1))

# 2. The same command again: the waiting workers join the new coordinator by
#    themselves; then host 2 "loses power" and its task is re-queued.
coordinate
if wait_for 60 progress_at_least $((done_before + 4)); then
    ip netns pids "$ns2" | xargs -r kill -9
    pass "remote workers rejoined the restarted coordinator; host 2's worker killed"
else
    fail "the remote workers did not rejoin the restarted coordinator"
fi
( sleep 120; kill -9 $coord ) >/dev/null 2>&1 &   # bound the test if something hangs
guard=$!
wait $coord
status=$?
pkill -P $guard 2>/dev/null; kill $guard 2>/dev/null
check "restarted coordinator with only remote workers finished (status $status)" [ $status -eq 0 ]
check "it resumed from the journal" grep -q "resuming: $done_before of" "$T/err"
check "the lost remote worker was detected" grep -q "was silent for" "$T/err"
check "manifest identical to a local run" same_manifests "$T/out/manifest.json" "$T/ref/manifest.json"
check "the surviving remote worker exited on SHUTDOWN" wait_for 5 bash -c "[ -z \"\$(ip netns pids $ns1)\" ]"
finish
