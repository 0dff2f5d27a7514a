#!/bin/sh
# bench-deps.sh - install the peers glint-bench compares against, and wrk for
# scripts/bench-gateway.sh, from Debian.
#
# Installs only what is missing, with `apt-get install -y`.  Never fails:
# a peer that cannot be installed is reported by glint-bench as skipped,
# with the reason.  Set GLINT_BENCH_NO_INSTALL=1 to install nothing.

want=""
command -v bwrap >/dev/null 2>&1 || want="$want bubblewrap"
command -v node >/dev/null 2>&1 || want="$want nodejs"
command -v qemu-system-x86_64 >/dev/null 2>&1 || want="$want qemu-system-x86"
# scripts/bench-gateway.sh drives glintd with wrk.
command -v wrk >/dev/null 2>&1 || want="$want wrk"
# The static C peer needs libc.a (libc6-dev ships it on Debian).
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || want="$want libc6-dev"

if [ -z "$want" ]; then
    echo "bench-deps: all peers present"
    exit 0
fi
if [ -n "${GLINT_BENCH_NO_INSTALL:-}" ]; then
    echo "bench-deps: missing:$want (GLINT_BENCH_NO_INSTALL set; those peers will be skipped)"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "bench-deps: no apt-get; missing:$want (those peers will be skipped)"
    exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo="sudo -n"
    else
        echo "bench-deps: not root and no sudo; missing:$want (those peers will be skipped)"
        exit 0
    fi
fi

echo "bench-deps: installing$want"
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
if ! $sudo apt-get install -y --no-install-recommends $want >/tmp/glint-bench-deps.log 2>&1; then
    $sudo apt-get update >>/tmp/glint-bench-deps.log 2>&1
    # shellcheck disable=SC2086
    for p in $want; do
        $sudo apt-get install -y --no-install-recommends "$p" >>/tmp/glint-bench-deps.log 2>&1 ||
            echo "bench-deps: could not install $p (see /tmp/glint-bench-deps.log); its peer will be skipped"
    done
fi
exit 0
