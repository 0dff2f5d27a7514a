#!/usr/bin/env bash
# test-python.sh - the Python bindings' tests (python/tests, pytest).
#
#   scripts/test-python.sh [pytest args...]
#
# Runs Debian's /usr/bin/python3 -m pytest -q python/tests against the build
# tree (build/lib/libglint.so.0, build/guests, build/examples: run `make`
# first; BUILD=dir points at another build folder), on the backend
# GLINT_BACKEND names (auto when unset).  Installs python3-pytest with apt
# when pytest is missing.  Ends with pytest's summary line; exits with
# pytest's status.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
py=/usr/bin/python3
build=$(cd "${BUILD:-build}" 2>/dev/null && pwd) || { echo "test-python.sh: no build folder ${BUILD:-build}: run make" >&2; exit 2; }

[ -x "$py" ] || { echo "test-python.sh: $py is missing (apt-get install python3)" >&2; exit 2; }
if ! "$py" -c 'import pytest' 2>/dev/null; then
    echo "test-python.sh: installing python3-pytest"
    if [ "$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi
    { $sudo apt-get install -y python3-pytest >/dev/null 2>&1 ||
      { $sudo apt-get update >/dev/null 2>&1 && $sudo apt-get install -y python3-pytest >/dev/null 2>&1; }; } ||
        { echo "test-python.sh: could not install python3-pytest" >&2; exit 2; }
fi

lib=$build/lib/libglint.so.0
[ -e "$lib" ] || lib=$build/lib/libglint.so
[ -e "$lib" ] || { echo "test-python.sh: $build/lib has no libglint.so: run make" >&2; exit 2; }

echo "== python tests (GLINT_BACKEND=${GLINT_BACKEND:-auto})"
export GLINT_LIBRARY=$lib GLINT_BUILD_DIR=$build PYTHONDONTWRITEBYTECODE=1
exec "$py" -m pytest -q -p no:cacheprovider python/tests "$@"
