#!/bin/sh
# scripts/deps.sh - install what glint's build or tests need and a fresh
# Debian machine lacks.  Does nothing (quickly) when everything is there.
#
#   scripts/deps.sh build   compiler, make, kernel headers
#   scripts/deps.sh test    the above plus Criterion (libcriterion-dev) and the
#                           tools the test scripts use
set -eu

need=""
have_header() { [ -f "/usr/include/$1" ]; }
command -v gcc >/dev/null 2>&1 || need="$need gcc"
command -v make >/dev/null 2>&1 || need="$need make"
have_header linux/kvm.h || need="$need linux-libc-dev"
# glintd: HTTP server, YAML configuration, JSON.
have_header microhttpd.h || need="$need libmicrohttpd-dev"
have_header yaml.h || need="$need libyaml-dev"
have_header jansson.h || need="$need libjansson-dev"
if [ "${1:-build}" = test ]; then
    have_header criterion/criterion.h || need="$need libcriterion-dev"
    command -v wrk >/dev/null 2>&1 || need="$need wrk"
    command -v wast2json >/dev/null 2>&1 || need="$need wabt"
    command -v curl >/dev/null 2>&1 || need="$need curl"
    # scripts/test-install.sh: pkg-config, man pages rendered with warnings.
    command -v pkg-config >/dev/null 2>&1 || need="$need pkgconf"
    command -v man >/dev/null 2>&1 || need="$need man-db"
    command -v groff >/dev/null 2>&1 || need="$need groff-base"
    # WebAssembly examples (tests/test_wasm.c skips them visibly without):
    # clang and wasm-ld for wasm32, wasi-libc and its compiler-rt, libc++
    # for wasm32, Debian's rustc and its wasm32 standard library; each only
    # where this Debian offers it.  (AssemblyScript comes from npm, at build
    # time: scripts/wasm-as-example.sh.)
    if command -v dpkg >/dev/null 2>&1 && command -v apt-cache >/dev/null 2>&1; then
        for p in clang lld wasi-libc libclang-rt-14-dev-wasm32 libc++-14-dev-wasm32 libc++abi-14-dev-wasm32 \
                 rustc libstd-rust-dev-wasm32; do
            dpkg -s "$p" >/dev/null 2>&1 ||
                { apt-cache show "$p" >/dev/null 2>&1 && need="$need $p"; } || true
        done
    fi
fi
[ -z "$need" ] && exit 0

echo "glint: installing missing packages:$need" >&2
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "glint: apt-get not found; please install:$need" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y $need >/dev/null 2>&1 || {
    $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y $need >/dev/null
} || { echo "glint: could not install:$need" >&2; exit 1; }
