# Installing and the files around the program: `cmake --install` to a temporary prefix
# puts swan, its man page and the bash/zsh completions in place; the man page renders
# cleanly and documents every command and flag that `--help` shows; the completions
# complete commands, flags and folders; the Homebrew formula and the CI workflow say
# what they must.
. "$(dirname "$0")/lib.sh"
SRC=${SWAN_SOURCE_DIR:?SWAN_SOURCE_DIR must point to the source tree}
BUILD=${SWAN_BUILD_DIR:?SWAN_BUILD_DIR must point to the build tree}
P="$T/prefix"

cmake --install "$BUILD" --prefix "$P" >"$T/install.log" 2>&1
check "cmake --install --prefix succeeds" [ $? -eq 0 ]
for f in bin/swan share/man/man1/swan.1 share/bash-completion/completions/swan share/zsh/site-functions/_swan; do
    check "installed: $f" [ -s "$P/$f" ]
done
check "installed swan runs" [ "$("$P/bin/swan" --version)" = "$("$SWAN_BIN" --version)" ]
version=$("$SWAN_BIN" --version | sed 's/^swan //')

# ---- man page -----------------------------------------------------------------------
MAN="$P/share/man/man1/swan.1"
if command -v groff >/dev/null; then
    groff -man -Tutf8 -ww -z "$MAN" 2>"$T/groff.err"
    check "man page: groff renders it with no warning" [ $? -eq 0 ] && [ ! -s "$T/groff.err" ]
elif command -v mandoc >/dev/null; then
    mandoc -T lint -W warning "$MAN" >"$T/groff.err" 2>&1
    check "man page: mandoc -T lint finds nothing" [ ! -s "$T/groff.err" ]
else
    echo "note: neither groff nor mandoc here; the man page was not rendered"
fi
if command -v man >/dev/null && MANPATH="$P/share/man" man -P cat swan >"$T/man.txt" 2>/dev/null; then
    check "man swan finds the installed page" grep -q "NAME" "$T/man.txt"
fi
check "man page version is swan's" grep -q "^\.TH SWAN 1 .*\"swan $version\"" "$MAN"
# Every command of `swan --help` and every long flag of `swan CMD --help` is in the man
# page (written \-\- in troff).
cmds=$("$SWAN_BIN" --help | sed -n 's/^  swan \([a-z][a-z-]*\) .*/\1/p')
check "swan --help lists commands" [ -n "$cmds" ]
for c in $cmds; do
    check "man page documents 'swan $c'" grep -q "^\.B.* $c\b\|^\.B swan $c\|^\.BI* \"*$c\b\|^\.BR $c\b" "$MAN"
    for f in $("$SWAN_BIN" $c --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
        [ "$f" = --help ] && continue
        esc=$(printf '%s' "$f" | sed 's/-/\\\\-/g')
        if grep -q -- "$esc" "$MAN"; then pass "man page documents $c $f"
        else fail "man page (docs/swan.1) does not document 'swan $c $f'"; fi
    done
done

# The built-in protected patterns (reduce.c) are listed alike in the man page, the
# analyze help and the README.
builtin=$(sed -n '/^\.SH PROTECTED TENSORS/,/^\.SH/p' "$MAN" | sed -n 's/^\.IR \([a-z_.]*\) *[,.]$/\1/p')
check "man page lists built-in protected patterns" [ "$(echo "$builtin" | wc -w)" -ge 5 ]
"$SWAN_BIN" analyze --help | tr -s ' \n' ' ' >"$T/ahelp"
for b in $builtin; do
    check "built-in pattern $b in analyze --help" grep -q -- "[ ,]$b[,. ]" "$T/ahelp"
    check "built-in pattern $b in README" grep -q -- "\`$b\`" "$SRC/README.md"
done

# ---- bash completion ----------------------------------------------------------------
mkdir -p "$T/cwd/somedir"
complete_bash() { # complete_bash WORD... : what bash offers for the last word
    (cd "$T/cwd" && PATH="$P/bin:$PATH" bash -c '
        . "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
        _swan; printf "%s\n" "${COMPREPLY[@]}"' _ "$P/share/bash-completion/completions/swan" "$@")
}
check "bash: commands" [ "$(complete_bash swan "" | tr '\n' ' ')" = "$(echo $cmds --help --version) " ]
check "bash: 'swan an' -> analyze" [ "$(complete_bash swan an)" = analyze ]
check "bash: analyze flags" [ "$(complete_bash swan analyze --thr | tr '\n' ' ')" = "--threads --thresholds " ]
check "bash: -o completes folders" [ "$(complete_bash swan analyze -o so)" = somedir ]
check "bash: --seed takes a number, no file names" [ -z "$(complete_bash swan analyze --seed "")" ]
check "bash: worker flags" [ "$(complete_bash swan worker --con)" = --connect ]
check "bash: quantize flags (its own and the shared allocation ones)" \
    [ "$(complete_bash swan quantize --q | tr '\n' ' ')" = "--quantize-protected --quiet " ]
check "bash: quantize --from completes folders" [ "$(complete_bash swan quantize --from so)" = somedir ]

# ---- zsh completion (with the completion system's builtins stubbed) ------------------
if command -v zsh >/dev/null; then
    zsh -n "$P/share/zsh/site-functions/_swan"
    check "zsh: _swan parses" [ $? -eq 0 ]
    complete_zsh() { # complete_zsh PREFIX WORD... : what _swan hands to the completion system
        (cd "$T/cwd" && PATH="$P/bin:$PATH" zsh -f -c '
            _call_program() { shift; "$@"; }
            _describe() { local -a a; a=("${(@P)${@[-1]}}"); print -l -- ${a%%:*}; }
            compadd() { [[ $1 == -a ]] && print -l -- ${(P)2} | grep -- "^$PREFIX"; }
            _files() { print -- "<files $*>"; }
            _message() { print -- "<message>"; }
            PREFIX=$1; shift; words=("$@"); CURRENT=$#words
            source "$0"' "$P/share/zsh/site-functions/_swan" "$@")
    }
    check "zsh: commands" [ "$(complete_zsh "" swan "" | tr '\n' ' ')" = "$(echo $cmds) " ]
    check "zsh: analyze flags" [ "$(complete_zsh --thr swan analyze --thr | tr '\n' ' ')" = "--threads --thresholds " ]
    check "zsh: -o completes folders" [ "$(complete_zsh "" swan analyze -o "")" = "<files -/>" ]
    check "zsh: --seed takes a value, no file names" [ "$(complete_zsh "" swan analyze --seed "")" = "<message>" ]
    check "zsh: quantize flags" [ "$(complete_zsh --q swan quantize --q | tr '\n' ' ')" = "--quantize-protected --quiet " ]
else
    echo "note: no zsh here; the zsh completion was not exercised"
fi

# ---- Homebrew formula and CI workflow -------------------------------------------------
F="$SRC/deploy/homebrew/swan.rb"
check "formula: a release tarball of this version" grep -q "url \".*v$version\.tar\.gz\"" "$F"
check "formula: a test block that runs swan demo" bash -c "sed -n '/test do/,/^  end/p' '$F' | grep -q '\"demo\"'"
check "formula: builds with cmake and installs" grep -q '"cmake", "--install", "build"' "$F"
brew=$(sed -n 's/^BREW_PACKAGES="\(.*\)"/\1/p' "$SRC/deploy/dev.sh")
for p in $brew; do
    case $p in cmocka) continue ;; esac # tests only
    check "formula depends on $p (deploy/dev.sh BREW_PACKAGES)" grep -q "depends_on \"$p\"" "$F"
done
check "formula: Accelerate (no BLAS package) on macOS" bash -c "! grep -q 'depends_on \"openblas\"' <(sed '/on_linux do/,/end/d' '$F')"
if command -v ruby >/dev/null; then
    ruby -c "$F" >/dev/null
    check "formula: ruby syntax" [ $? -eq 0 ]
fi
W="$SRC/.github/workflows/ci.yml"
check "workflow: runs the README's test command" grep -q "run: bash deploy/dev.sh test" "$W"
check "README: the same test command" grep -q "bash deploy/dev.sh test" "$SRC/README.md"
if "$PY" -c 'import yaml' 2>/dev/null; then
    "$PY" - "$W" <<'PYEOF'
import sys, yaml
w = yaml.safe_load(open(sys.argv[1]))
job = w["jobs"]["test"]
assert set(job["strategy"]["matrix"]["os"]) == {"ubuntu-latest", "macos-latest"}, job
assert job["runs-on"] == "${{ matrix.os }}"
steps = job["steps"]
assert steps[0]["uses"].startswith("actions/checkout@")
assert any(s.get("run") == "bash deploy/dev.sh test" for s in steps)
PYEOF
    check "workflow: valid YAML, Ubuntu and macOS, checkout then the test command" [ $? -eq 0 ]
fi
finish
