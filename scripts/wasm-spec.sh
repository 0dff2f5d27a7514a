#!/bin/sh
# wasm-spec.sh - build the WebAssembly engine for the host and run the
# official spec test suite (non-SIMD files) against it; then the same run
# inside a real sandbox on each backend this host can use (the runner and
# the engine as a glint guest, tests/wasm/spec_sandbox.c), whose total must
# be the host run's.
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
"$B/spec_runner" $V -k tests/wasm/known-failures.txt $jsons > "$B/spec-host.log" 2>&1 || rc=$?
cat "$B/spec-host.log"
for n in $convfail; do
    echo "wast2json cannot convert $n.wast: $(head -c 300 "$B/spec/$n/wast2json.err" | head -3 | tr '\n' ' ')"
done

# The same run inside a real sandbox, on each backend this host can use:
# the runner, the engine and its JSON reader built as a glint guest
# (SPEC_IN_SANDBOX), the files granted by tests/wasm/spec_sandbox.c.  Its
# total must be the host run's.
L=${BUILD:-build}
if [ -x "$L/bin/glint-cc" ] && [ -f "$L/lib/libglint.a" ]; then
    "$L/bin/glint-cc" -O2 -DSPEC_IN_SANDBOX -Itests/wasm/minijson -Isrc/wasm -o "$B/spec-guest.elf" \
        tests/wasm/spec_runner.c tests/wasm/minijson/minijson.c src/wasm/*.c
    $CC -std=gnu17 -O2 -g $WARN -Wno-missing-prototypes -D_GNU_SOURCE -Iinclude -o "$B/spec_sandbox" \
        tests/wasm/spec_sandbox.c "$L/lib/libglint.a" -lpthread
    want=$(grep '^TOTAL:' "$B/spec-host.log" || true)
    ran=0
    for b in process kvm; do
        if ! GLINT_BACKEND= "$L/bin/glint" --backend "$b" info --host >/dev/null 2>&1; then
            echo "wasm-spec: in a sandbox on the $b backend: SKIPPED (not usable here: $L/bin/glint info --host)"
            continue
        fi
        ran=$((ran + 1))
        src=0
        # shellcheck disable=SC2086
        GLINT_BACKEND=$b "$B/spec_sandbox" "$B/spec-guest.elf" "$B/spec" tests/wasm/known-failures.txt $V $jsons \
            > "$B/spec-sandbox-$b.log" 2>&1 || src=$?
        got=$(grep '^TOTAL:' "$B/spec-sandbox-$b.log" || true)
        if [ "$src" -ne 0 ] || [ "$got" != "$want" ]; then
            echo "wasm-spec: FAILED inside a sandbox on the $b backend (exit $src): $got"
            grep -E 'FAIL|spec_sandbox:' "$B/spec-sandbox-$b.log" | head -20
            rc=1
        else
            echo "wasm-spec: inside a sandbox on the $b backend: the same $got"
        fi
    done
    [ $ran -gt 0 ] || echo "wasm-spec: in a sandbox: SKIPPED on every backend (none usable here)"
else
    echo "wasm-spec: in a sandbox: SKIPPED ($L/bin/glint-cc or $L/lib/libglint.a not built: make first)"
fi
exit $rc
