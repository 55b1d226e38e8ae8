#!/usr/bin/env bash
# dev.sh: one command from a fresh machine to a running swan.
#
#   deploy/dev.sh demo    install what is missing, build, analyze the built-in demo checkpoint
#   deploy/dev.sh test    install what is missing, build, run every test (ctest)
#   deploy/dev.sh build   install what is missing and build
#   deploy/dev.sh deps    only install what is missing (to build, run and test)
#
# Debian/Ubuntu (apt, with sudo when not root) and macOS (Homebrew; BLAS/LAPACK from
# Apple's Accelerate) are supported. The build goes to ./build (override with BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}

# What building and running swan needs (the demo installs only these) ...
APT_PACKAGES="build-essential cmake pkg-config libzmq3-dev libmsgpack-dev libcjson-dev
libopenblas-dev liblapacke-dev libcmocka-dev libsodium-dev"
# ... and what the tests need on top: python3 (fixture generators, checkers), numpy (the
# shared golden tools), procps (pgrep), groff and zsh (man page and completion checks),
# iproute2 (network-namespace hosts), chromium (the HTML report in a real browser).
APT_TEST_PACKAGES="python3 python3-numpy procps groff-base zsh iproute2 chromium"
BREW_PACKAGES="cmake pkg-config zeromq msgpack cjson cmocka libsodium"

install_apt() {
    local missing="" p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "dev.sh: installing$missing"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
}

install_brew() {
    if ! command -v brew >/dev/null; then
        echo "dev.sh: Homebrew is needed on macOS: see https://brew.sh" >&2
        exit 1
    fi
    local missing=""
    for p in $BREW_PACKAGES; do brew list --formula "$p" >/dev/null 2>&1 || missing="$missing $p"; done
    [ -z "$missing" ] || brew install $missing
}

# deps [test]: installs what is missing to build and run (and, with "test", to test).
deps() {
    local apt="$APT_PACKAGES"
    [ "${1:-}" = test ] && apt="$apt $APT_TEST_PACKAGES"
    case "$(uname -s)" in
    Linux)
        if command -v apt-get >/dev/null; then install_apt $apt
        else echo "dev.sh: no apt-get; install the equivalents of: $apt" >&2; fi ;;
    Darwin) install_brew ;;
    *) echo "dev.sh: unsupported system $(uname -s)" >&2; exit 1 ;;
    esac
}

jobs() { getconf _NPROCESSORS_ONLN 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 2; }

# build [TARGET]: configures and builds (everything, or only TARGET) in one short line;
# cmake's own output goes to $BUILD_DIR/build.log and is shown only if the build fails.
build() {
    local target=${1:-} log="$BUILD_DIR/build.log" start=$SECONDS
    mkdir -p "$BUILD_DIR"
    printf 'dev.sh: building %s in %s (Release, %s jobs) ... ' "${target:-everything}" "$BUILD_DIR" "$(jobs)"
    if cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >"$log" 2>&1 &&
        cmake --build "$BUILD_DIR" -j "$(jobs)" ${target:+--target "$target"} >>"$log" 2>&1; then
        echo "done in $((SECONDS - start)) s"
    else
        echo "FAILED"
        tail -n 40 "$log" >&2
        echo "dev.sh: the whole build output is in $log" >&2
        exit 1
    fi
}

case "${1:-}" in
deps) deps test ;;
build) deps; build ;;
demo)
    deps; build swan
    "$BUILD_DIR/coordinator/swan" demo "$BUILD_DIR/demo-model" "$BUILD_DIR/demo-out"
    echo "dev.sh: the manifest is in $BUILD_DIR/demo-out/manifest.json"
    ;;
test)
    deps test; build
    (cd "$BUILD_DIR" && ctest --output-on-failure)
    ;;
*)
    echo "usage: deploy/dev.sh demo|test|build|deps" >&2
    exit 2
    ;;
esac
