#!/bin/bash
# soak.sh - build and run the soak program (tests/soak/soak.c).
#
#   scripts/soak.sh short   200,000 calls and 2,000 create/destroy cycles (CI)
#   scripts/soak.sh long    5,000,000 calls and 100,000 cycles (make soak)
#
# BUILD (default build) is the build folder holding libglint.a and the
# basic test guest (make BUILD=... all guests).  Exit status: the soak's
# (0 ok, 1 failure or growth of descriptors or memory, 77 no KVM: skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-short}
case "$mode" in
short) calls=200000 cycles=2000 ;;
long) calls=5000000 cycles=100000 ;;
*) echo "usage: $0 short|long" >&2; exit 2 ;;
esac
build=$(realpath -m "${BUILD:-build}")
lib="$build/lib/libglint.a"
guest="$build/guests/basic.elf"
for f in "$lib" "$guest"; do
    [ -e "$f" ] || { echo "soak: $f is missing: run make BUILD=$build all guests" >&2; exit 2; }
done
bin="$build/tests/glint-soak"
mkdir -p "$build/tests"
${CC:-cc} -std=c17 -O2 -g -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes \
    -Wstrict-prototypes -Wvla -Wundef -D_GNU_SOURCE -Iinclude \
    -o "$bin" tests/soak/soak.c "$lib" -lpthread
echo "soak ($mode): $calls calls, $cycles create/destroy cycles"
set +e
"$bin" "$guest" "$calls" "$cycles"
rc=$?
[ $rc -eq 77 ] && echo "soak: SKIPPED (no KVM)" >&2
exit $rc
