#!/bin/sh
# wasm-as-example.sh OUT.wasm SOURCE.ts SIG_FILE
#
# Builds an AssemblyScript example for glint: installs the pinned
# assemblyscript compiler from npm into build/tools/npm when it is missing,
# compiles SOURCE.ts with its stub runtime and no abort import, and appends
# the "glint.sig" custom section from SIG_FILE (scripts/wasm-custom-section.sh).
# Where npm or the registry is not there, it writes OUT.skip with the
# reason (and an empty OUT.wasm) instead and exits 0, so tests/test_wasm.c skips the example
# visibly rather than the build failing.
set -eu
[ $# -eq 3 ] || { echo "usage: $0 OUT.wasm SOURCE.ts SIG_FILE" >&2; exit 2; }
out=$1 src=$2 sig=$3
here=$(cd "$(dirname "$0")" && pwd)
tools=$(dirname "$out")/../../../tools/npm
version=0.28.20
rm -f "$out" "$out.skip"
# A skip leaves an empty OUT (make's target) and OUT.skip with the reason.
skip() { echo "$*" > "$out.skip"; : > "$out"; echo "wasm-as-example: skipped: $*" >&2; exit 0; }
command -v npm >/dev/null 2>&1 || skip "npm is not installed (AssemblyScript comes from npm)"
command -v node >/dev/null 2>&1 || skip "node is not installed (AssemblyScript runs on Node.js)"
asc=$tools/node_modules/.bin/asc
if [ ! -x "$asc" ] || ! grep -q "\"version\": \"$version\"" "$tools/node_modules/assemblyscript/package.json" 2>/dev/null; then
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "assemblyscript@$version" \
        > "$tools/npm-install.log" 2>&1 ||
        skip "npm install assemblyscript@$version failed (offline?): $(grep -m 1 'npm error' "$tools/npm-install.log" || tail -n 1 "$tools/npm-install.log")"
fi
"$asc" "$src" -O3 --runtime stub --use abort= -o "$out.tmp"
"$here/wasm-custom-section.sh" "$out.tmp" glint.sig "$sig"
mv "$out.tmp" "$out"
