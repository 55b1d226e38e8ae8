# netns.sh: other "hosts" for the integration tests (sourced after lib.sh, not run).
#
# Each host is a Linux network namespace joined to this one by a veth pair that the
# test creates and removes: host H reaches the coordinator at $(netns_ip H), and the
# test can cut its link (netns_link H down). Subnets are 10.N.H.0/24 with N taken
# from the test's pid, so tests running at the same time on one machine never share
# a route. Every host has its own CURVE key (make_keys in lib.sh): coordinators add
# "${COORD_CURVE[@]}" to --listen, as on a real LAN. Needs Linux, root and iproute2;
# netns_need skips (exit 77) otherwise.
. "$(dirname "${BASH_SOURCE[0]}")/liveness_lib.sh"
NETNS_TAG=$$
NETNS_NET=$((NETNS_TAG % 200 + 30))
NETNS_HOSTS=""
NETNS_PIDS=""   # processes the test started outside the namespaces (coordinators)

netns_need() {
    if [ "$(uname -s)" != Linux ] || [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
        echo "skipped: needs Linux, root and iproute2 for network namespaces"
        exit 77
    fi
}
netns_name() { echo "swan-h$1-$NETNS_TAG"; }
netns_ip() { echo "10.$NETNS_NET.$1.1"; }
# netns_add H: creates host H (interface names are limited to 15 characters).
netns_add() {
    local ns; ns=$(netns_name "$1")
    ip netns add "$ns" && ip link add "sw$1-$NETNS_TAG" type veth peer name "sn$1-$NETNS_TAG" &&
        ip link set "sn$1-$NETNS_TAG" netns "$ns" &&
        ip addr add "10.$NETNS_NET.$1.1/24" dev "sw$1-$NETNS_TAG" && ip link set "sw$1-$NETNS_TAG" up &&
        ip netns exec "$ns" ip addr add "10.$NETNS_NET.$1.2/24" dev "sn$1-$NETNS_TAG" &&
        ip netns exec "$ns" ip link set "sn$1-$NETNS_TAG" up && ip netns exec "$ns" ip link set lo up &&
        NETNS_HOSTS="$NETNS_HOSTS $1"
}
# netns_link H up|down: plugs or unplugs host H's cable (this side of the pair).
netns_link() { ip link set "sw$1-$NETNS_TAG" "$2"; }
# netns_worker H LOG [env...] [-- worker flags...]: one `swan worker` process on host H
# with host H's key, pid in $last_worker.
netns_worker() {
    local h=$1 log=$2; shift 2
    local envs=() flags=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
    [ "${1:-}" = -- ] && shift && flags=("$@")
    worker_curve "$T/keys" "h$h"
    env "${envs[@]}" ip netns exec "$(netns_name "$h")" "$SWAN_BIN" worker -j 1 \
        --connect "tcp://$(netns_ip "$h"):$NETNS_PORT" "${WORKER_CURVE[@]}" "${flags[@]}" >"$log" 2>&1 &
    last_worker=$!
}
netns_cleanup() {
    for p in $NETNS_PIDS; do kill -9 "$p" 2>/dev/null; done
    for h in $NETNS_HOSTS; do
        ip netns pids "$(netns_name "$h")" 2>/dev/null | xargs -r kill -9 2>/dev/null
        ip netns del "$(netns_name "$h")" 2>/dev/null
        ip link del "sw$h-$NETNS_TAG" 2>/dev/null
    done
    rm -rf "$T"
}
# netns_hosts N: creates hosts 1..N and their keys, or skips the test with the reason.
netns_hosts() {
    trap netns_cleanup EXIT
    local hosts=""
    for h in $(seq 1 "$1"); do
        if ! netns_add "$h" 2>>"$T/net.err"; then
            echo "skipped: cannot create network namespaces here: $(head -n 1 "$T/net.err")"
            exit 77
        fi
        hosts="$hosts h$h"
    done
    # shellcheck disable=SC2086
    make_keys "$T/keys" $hosts || { echo "FAIL: swan keygen"; exit 1; }
}
NETNS_PORT=$((30000 + NETNS_TAG % 20000))
