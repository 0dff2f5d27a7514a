#!/bin/sh
# wasm-spec.sh - build the WebAssembly engine for the host and run the
# official spec test suite (non-SIMD files) against it.
#
#   scripts/wasm-spec.sh [-v] [NAME...]     (NAME: e.g. i32 br_table; default: all)
#
# SUITE=dir (default /work/shared/wasm-spec-testsuite), BUILD=dir (default build).
set -eu
cd "$(dirname "$0")/.."
# The suite lives beside the repository (../shared/wasm-spec-testsuite), never in it.
if [ -z "${SUITE:-}" ]; then
    for d in ../shared/wasm-spec-testsuite /work/shared/wasm-spec-testsuite; do
        [ -d "$d" ] && { SUITE=$d; break; }
    done
fi
if [ -z "${SUITE:-}" ] || [ ! -d "$SUITE" ]; then
    echo "wasm-spec: SKIPPED: the WebAssembly spec test suite is not here (../shared/wasm-spec-testsuite; set SUITE=dir)"
    exit 0
fi
command -v wast2json >/dev/null || { echo "wasm-spec: wast2json not found (apt-get install wabt)" >&2; exit 1; }
B=${BUILD:-build}/wasm
CC=${CC:-cc}
V=
if [ "${1:-}" = "-v" ]; then V=-v; shift; fi
WARN="-Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes -Wvla -Wpointer-arith -Wundef"
mkdir -p "$B/spec"
$CC -std=gnu17 -O2 -g $WARN -Isrc/wasm -o "$B/spec_runner" tests/wasm/spec_runner.c src/wasm/*.c -ljansson

if [ $# -gt 0 ]; then names="$*"; else
    names=$(for f in "$SUITE"/*.wast; do n=$(basename "$f" .wast); case $n in simd_*) ;; *) echo "$n";; esac; done)
fi
jsons=
convfail=
for n in $names; do
    d="$B/spec/$n"
    if [ ! -f "$d/$n.json" ] || [ "$SUITE/$n.wast" -nt "$d/$n.json" ]; then
        rm -rf "$d"; mkdir -p "$d"
        if ! wast2json "$SUITE/$n.wast" -o "$d/$n.json" 2>"$d/wast2json.err"; then
            convfail="$convfail $n"; rm -f "$d/$n.json"; continue
        fi
    fi
    jsons="$jsons $d/$n.json"
done
rc=0
# shellcheck disable=SC2086
"$B/spec_runner" $V -k tests/wasm/known-failures.txt $jsons || rc=$?
for n in $convfail; do
    echo "wast2json cannot convert $n.wast: $(head -c 300 "$B/spec/$n/wast2json.err" | head -3 | tr '\n' ' ')"
done
exit $rc
