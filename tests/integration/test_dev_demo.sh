# `bash deploy/dev.sh demo`, the README's first command: one short build line instead of
# cmake's output, only the `swan` program built (no tests), then the demo's manifest.
. "$(dirname "$0")/lib.sh"
SRC=${SWAN_SOURCE_DIR:?SWAN_SOURCE_DIR must point to the source tree}
BUILD_DIR="$T/build" bash "$SRC/deploy/dev.sh" demo >"$T/out" 2>&1
st=$?
check "dev.sh demo succeeds (status $st)" [ $st -eq 0 ]
check "one short build line" grep -q "^dev.sh: building swan in .* done in [0-9]* s$" "$T/out"
check "no cmake or compiler output" bash -c "! grep -q 'Building C object\|Linking C\|^-- \|\[ *[0-9]*%\]' '$T/out'"
check "the whole output is short ($(wc -l <"$T/out") lines)" [ "$(wc -l <"$T/out")" -le 25 ]
check "the swan program was built" [ -x "$T/build/coordinator/swan" ]
check "no test program was built" [ -z "$(find "$T/build" -name 'test_*' -type f -perm -u+x)" ]
check "the demo manifest is there" [ -s "$T/build/demo-out/manifest.json" ]
check "the build log is kept for when it fails" [ -s "$T/build/build.log" ]
finish
