#!/usr/bin/env bash
# test-deploy.sh - offline checks of deploy/ (the container image's config and
# the Kubernetes manifests); no cluster, no image build.
#
#   scripts/test-deploy.sh
#
# 1. yamllint -s (deploy/.yamllint) on every YAML file under deploy/;
# 2. deploy/validate/validate.mjs: every manifest under deploy/k8s against the
#    Kubernetes and KEDA schemas, unknown fields and kinds refused, references
#    between the manifests, the ConfigMap's glintd.yaml (see that file);
# 3. glintd --check on deploy/glintd.yaml (guest path pointed at the build
#    tree), when build/bin/glintd and the example guest are built; skipped
#    otherwise, and when this host has no backend (exit 6).
#
# Needs node (20 or later) and npm: `npm ci` runs in deploy/validate when its
# node_modules is missing or older than package-lock.json (the npm registry
# must be reachable then). yamllint comes from Debian (apt-get install yamllint).
# Ends with "N passed, N failed"; exits 1 if anything failed.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
die() { echo "test-deploy.sh: $*" >&2; exit 2; }

command -v node >/dev/null 2>&1 || die "node is missing (Node.js 20 or later)"
command -v npm >/dev/null 2>&1 || die "npm is missing"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "node $(node --version) is too old (20 or later)"

if ! command -v yamllint >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "test-deploy.sh: installing yamllint" >&2
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq yamllint; } >&2 ||
            die "apt-get install yamllint failed"
    else
        die "yamllint is missing (apt-get install yamllint)"
    fi
fi

val=deploy/validate
if [ ! -d "$val/node_modules" ] || [ "$val/package-lock.json" -nt "$val/node_modules/.package-lock.json" ]; then
    echo "test-deploy.sh: npm ci in $val" >&2
    (cd "$val" && npm ci --no-audit --no-fund --loglevel=error) >&2 || die "npm ci failed in $val"
fi

# 1. yamllint, file by file.
mapfile -t yamls < <(find deploy -name node_modules -prune -o -type f \( -name '*.yaml' -o -name '*.yml' \) -print | sort)
[ "${#yamls[@]}" -gt 0 ] || die "no YAML files under deploy/"
for f in "${yamls[@]}"; do
    if out=$(yamllint -s -f parsable -c deploy/.yamllint "$f" 2>&1); then
        pass "yamllint $f"
    else
        fail "yamllint $f"
        printf '%s\n' "$out" | sed 's/^/     /'
    fi
done

# 2. Schemas, fields, references. Its own summary line is replaced by ours.
out=$(node "$val/validate.mjs" deploy 2>&1)
rc=$?
summary=$(printf '%s\n' "$out" | tail -n 1)
printf '%s\n' "$out" | sed '$d'
if [[ $summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    passed=$((passed + BASH_REMATCH[1]))
    failed=$((failed + BASH_REMATCH[2]))
    if [ "$rc" -ne 0 ] && [ "${BASH_REMATCH[2]}" -eq 0 ]; then fail "validate.mjs exited $rc"; fi
else
    echo "$summary"
    fail "validate.mjs did not finish (exit $rc)"
fi

# 3. glintd's own parser on the configuration the image and the ConfigMap carry.
glintd=build/bin/glintd
guest=build/examples/http/http-guest.elf
if [ -x "$glintd" ] && [ -f "$guest" ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    sed "s#/usr/lib/glint/examples/http-guest.elf#$root/$guest#" deploy/glintd.yaml >"$tmp/glintd.yaml"
    out=$("$glintd" --check "$tmp/glintd.yaml" 2>&1)
    case $? in
    0) pass "glintd --check deploy/glintd.yaml" ;;
    6) echo "SKIP glintd --check deploy/glintd.yaml: no backend on this host ($out)" ;;
    *)
        fail "glintd --check deploy/glintd.yaml"
        printf '%s\n' "$out" | sed 's/^/     /'
        ;;
    esac
else
    echo "SKIP glintd --check deploy/glintd.yaml: build/bin/glintd or $guest not built (make)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
