# Ctrl-C, as a terminal sends it: SIGINT to the whole process group (coordinator and
# its workers at once), 20 times at random moments of a running analyze. Every time:
# no process crashes (a worker used to exit while BLAS ran on its compute thread and
# segfault about one run in six), nothing is left running, and the coordinator exits
# 130 (or 0 if the run happened to finish first). Half the runs use local workers
# (-j 2); the other half workers started by hand in the same group (as one would on a
# single host with --listen), whose exit statuses are checked one by one. "Nothing
# left" means the process group is empty within 5 s of the signal.
. "$(dirname "$0")/lib.sh"
demo_model
mkdir -p "$T/cores"
cd "$T/cores" || exit 1
ulimit -c unlimited 2>/dev/null
port=$((22000 + $$ % 20000))
# sigint_caught PGID N: at least N swan analyze/worker processes in group PGID, and
# every one of them catches SIGINT (read from /proc where there is one; elsewhere,
# macOS, half a second of start-up is assumed to be enough).
sigint_caught() {
    local p mask n=0
    if [ ! -d /proc/self ]; then sleep 0.5; return 0; fi
    for p in $(pgrep -g "$1" -f "swan (analyze|worker)" 2>/dev/null); do
        mask=$(awk '/^SigCgt:/ {print $2}' "/proc/$p/status" 2>/dev/null) || continue
        [ -n "$mask" ] || continue
        [ $((16#$mask & 2)) -ne 0 ] || return 1
        n=$((n + 1))
    done
    [ "$n" -ge "$2" ]
}
crashes=0 orphans=0 badstatus=0
for i in $(seq 1 20); do
    rm -rf "$T/sig"
    if [ $((i % 2)) -eq 0 ]; then
        setsid "$SWAN_BIN" analyze "$T/model" -o "$T/sig" -j 2 -q --fresh 2>"$T/sig.err" &
        pid=$!
    else
        setsid bash -c "
            '$SWAN_BIN' analyze '$T/model' -o '$T/sig' -j 0 -q --fresh --listen tcp://127.0.0.1:$port 2>'$T/sig.err' &
            c=\$!
            for k in 1 2; do ( '$SWAN_BIN' worker --connect tcp://127.0.0.1:$port 2>/dev/null; echo \$? >>'$T/wstatus' ) & done
            wait \$c; echo \$? >'$T/cstatus'; wait" &
        pid=$!
        rm -f "$T/wstatus" "$T/cstatus"
    fi
    # A process a non-interactive shell starts in the background begins with SIGINT
    # ignored (POSIX), until swan installs its handler: a Ctrl-C landing in that
    # window is dropped by the shell's doing and the process would rightly run on
    # (a remote worker waits for its coordinator). So the storm starts once every
    # swan process of the group catches SIGINT, then waits a random moment.
    wait_for 20 sigint_caught "$pid" $((i % 2 ? 3 : 1))
    sleep "0.$((RANDOM % 10))"
    kill -INT -- "-$pid" 2>/dev/null
    ( sleep 30; kill -9 -- "-$pid" ) >/dev/null 2>&1 &
    guard=$!
    wait $pid
    st=$?
    pkill -P $guard 2>/dev/null; kill $guard 2>/dev/null
    [ -f "$T/cstatus" ] && st=$(cat "$T/cstatus")
    if [ "$st" -ne 130 ] && [ "$st" -ne 0 ]; then badstatus=$((badstatus + 1)); echo "run $i: coordinator status $st"; fi
    if [ -f "$T/wstatus" ]; then
        for ws in $(cat "$T/wstatus"); do
            # 0: told to stop; 143: stopped by its own signal; anything else is a crash
            if [ "$ws" -ne 0 ] && [ "$ws" -ne 143 ]; then crashes=$((crashes + 1)); echo "run $i: worker status $ws"; fi
        done
    fi
    wait_for 5 bash -c "[ -z \"\$(pgrep -g $pid)\" ]"
    left=$(pgrep -g "$pid" 2>/dev/null | wc -l)
    if [ "$left" -gt 0 ]; then orphans=$((orphans + left)); echo "run $i: $left processes left"; pkill -9 -g "$pid"; fi
done
cores=$(ls "$T/cores" | grep -c core)
check "no worker crashed in 20 process-group SIGINTs ($crashes)" [ "$crashes" -eq 0 ]
check "no core dump ($cores)" [ "$cores" -eq 0 ]
check "no process left running ($orphans)" [ "$orphans" -eq 0 ]
check "the coordinator always exited 130 or 0 ($badstatus other)" [ "$badstatus" -eq 0 ]
finish
