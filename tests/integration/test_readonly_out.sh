#!/usr/bin/env bash
# test_readonly_out.sh: a read-only output folder is refused with exit 2 whether it
# exists or has to be created inside a read-only folder, naming the path, before any
# work. Root ignores permission bits, so the test makes a really read-only folder with
# a read-only bind mount (Linux; skipped where that cannot be done, e.g. without root).
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/ro"
if ! mount --bind "$T/ro" "$T/ro" 2>/dev/null; then
    echo "skipped: cannot bind-mount (needs root on Linux)"
    exit 77
fi
trap 'umount "$T/ro" 2>/dev/null; rm -rf "$T"' EXIT
if ! mount -o remount,bind,ro "$T/ro" 2>/dev/null || touch "$T/ro/probe" 2>/dev/null; then
    echo "skipped: cannot make a read-only bind mount here"
    exit 77
fi
demo_model
"$SWAN_BIN" analyze "$T/model" -o "$T/ro" -q 2>"$T/err-exists"
st=$?
check "existing read-only OUT: exit 2 (got $st)" [ $st -eq 2 ]
check "existing read-only OUT: one line naming it" bash -c "[ \$(wc -l <'$T/err-exists') -eq 1 ] && grep -q '$T/ro' '$T/err-exists'"
"$SWAN_BIN" analyze "$T/model" -o "$T/ro/sub" -q 2>"$T/err-new"
st=$?
check "OUT to be created in a read-only folder: exit 2 (got $st)" [ $st -eq 2 ]
check "OUT to be created: one line naming it" bash -c "[ \$(wc -l <'$T/err-new') -eq 1 ] && grep -q '$T/ro/sub' '$T/err-new'"
check "nothing was written" [ -z "$(ls -A "$T/ro")" ]
finish
