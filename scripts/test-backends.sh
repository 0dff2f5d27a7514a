#!/bin/bash
# test-backends.sh TEST_BINARY GLINT_CLI [criterion args...]
#
# Runs the Criterion suite once per backend this host can use, with
# GLINT_BACKEND set, so every test that runs a guest runs on each backend
# and the output names the backend.  A backend this host cannot use is
# reported with the reason, not silently dropped.  Exits non-zero if any
# run fails or if no backend is usable.  The failed tests' lines are
# repeated at the end, so the last lines of a long log name them.
set -u
bin=$1
cli=$2
shift 2
rc=0
ran=0
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
failed=()
for b in process kvm; do
    if line=$(GLINT_BACKEND= "$cli" --backend "$b" info --host 2>&1) && [ -n "$line" ]; then
        echo "== tests on the $b backend"
        if GLINT_BACKEND=$b "$bin" "$@" 2>&1 | tee "$logs/$b"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
            echo "== $b backend: passed"
        else
            echo "== $b backend: FAILED"
            failed+=("$b")
            rc=1
        fi
        ran=$((ran + 1))
    else
        echo "== $b backend: not usable on this host, its runs are skipped:"
        printf '%s\n' "$line" | sed 's/^/==   /'
    fi
done
for b in "${failed[@]}"; do
    echo "== what failed on the $b backend:"
    grep -E '^\[(----|FAIL)\]|Assertion|CRASH|Timed out|Synthesis' "$logs/$b" | head -n 40 | sed 's/^/==   /'
done
if [ "$ran" -eq 0 ]; then
    echo "== no backend is usable on this host"
    exit 1
fi
exit $rc
