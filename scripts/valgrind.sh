#!/bin/bash
# valgrind.sh - the examples under valgrind memcheck: no memory errors and
# no leaks (exit status non-zero otherwise).
#
#   scripts/valgrind.sh        (BUILD=dir for another build folder; make all first)
#
# Runs examples/hello and `glint call` of a types-guest function.  Notes:
#  - Valgrind passes the KVM ioctls through; guest memory is written by the
#    vCPU, which memcheck cannot see, but the host only reads guest memory
#    through checked copies of bytes the guest wrote, so no false positives
#    arise today.  If they ever do, mark the range with VALGRIND_MAKE_MEM_DEFINED
#    rather than suppressing broadly.
#  - glint call runs with --no-seccomp: its seccomp filter allows only the
#    system calls glint itself needs, and valgrind's own system calls (made
#    inside the same process) would be killed with SIGSYS.
#  - tests/valgrind.supp suppresses only the thread-local storage of the two
#    threads that live until exit by design (watchdog, CLI signal guard).
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath -m "${BUILD:-build}")
# shellcheck disable=SC2054 # the commas are valgrind syntax
vg=(valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,possible
    --show-leak-kinds=definite,possible --suppressions="$PWD/tests/valgrind.supp")
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
fail=0
run() {
    echo "valgrind: $*"
    if ! "${vg[@]}" "$@"; then
        echo "valgrind: FAILED: $*" >&2
        return 1
    fi
}
(cd "$build/examples/hello" && run ./hello ./hello-guest.elf World) || fail=1
types="$build/examples/types/types-guest.elf"
run "$build/bin/glint" --no-seccomp call "$types" EchoI32 -- -5 || fail=1
run "$build/bin/glint" --no-seccomp call "$types" EchoString "valgrind" || fail=1
run "$build/bin/glint" --no-seccomp info "$types" >/dev/null || fail=1
[ $fail -eq 0 ] && echo "valgrind: clean"
exit $fail
