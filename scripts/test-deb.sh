#!/usr/bin/env bash
# test-deb.sh - the Debian packages (issue 12; docs/packaging.md).
#
#   scripts/test-deb.sh [--worktree] [--keep] [--out DIR]
#
# Slow (a full package build): CI runs it as a stage of its own, not from
# `make test`.
#
# 1. A scratch copy of the source: `git archive HEAD` with the working
#    tree's debian/ over it (so uncommitted packaging is tested, but not
#    other uncommitted changes), or with --worktree the whole working tree
#    (without .git, build*/ and node_modules/);
# 2. debian/libglint0.symbols is what debian/gen-symbols makes of
#    src/host/libglint.map (the build would fail otherwise);
# 3. the source package (dpkg-buildpackage -S, the upstream tarball made
#    from the tree without debian/), then the binary packages
#    (dpkg-buildpackage -b -us -uc), in a clean environment (PATH without
#    /usr/local or pyenv); debian/rules runs scripts/test-install.sh as
#    its test step; missing build dependencies are installed (apt-get,
#    as scripts/deps.sh does);
# 4. lintian on the binary .changes and the .dsc: every error fails,
#    warnings are listed (debian/*.lintian-overrides and
#    debian/source/lintian-overrides say why each override is there);
# 5. each package holds what it should and nothing of its neighbours'
#    (dpkg-deb -c), its control data (Depends, symbols, conffiles,
#    postinst), and the binaries' hardening (PIE, RELRO, BIND_NOW);
# 6. the packages extracted into a throwaway root (dpkg-deb -x; nothing is
#    installed on this machine): glint --version, glintd --help, glintd's
#    libraries resolve, the Python module imports and loads the extracted
#    libglint.so.0, a guest built with the extracted glint-cc, a host
#    program built with the extracted headers and pkg-config file; where a
#    backend is usable, that program runs the guest and glintd --check
#    loads the packaged configuration and example guest;
# 7. the systemd unit: systemd-analyze verify finds nothing, and its system
#    call filter allows every call glint's backends make (docs/deploy.md).
# --keep leaves the scratch folder; --out DIR copies the packages and the
# .changes there.  Prints the time of each step; ends with "N passed,
# N failed"; exits 1 if anything failed, 2 if it cannot run.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 2
export LC_ALL=C.UTF-8

worktree=no
keep=no
out=""
while [ $# -gt 0 ]; do
    case $1 in
    --worktree) worktree=yes ;;
    --keep) keep=yes ;;
    --out) out=${2:?--out needs a folder}; shift ;;
    --help | -h) sed -n '2,/^set -uo/p' "$0" | sed -e '/^set -uo/d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test-deb.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
skip() { echo "SKIP $*"; }
die() { echo "test-deb.sh: $*" >&2; exit 2; }
# check NAME COMMAND...: PASS if the command succeeds, else FAIL with its output.
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then pass "$name"; else fail "$name"; [ -z "$out" ] || printf '    %s\n' "${out//$'\n'/$'\n'    }"; fi
}
start=$SECONDS
step_start=$SECONDS
step() { # step NAME: ends the previous step's timing, starts another
    echo "== $1 ($((SECONDS - start)) s so far)"
    step_start=$SECONDS
}
timings=""
step_done() { timings="$timings $1 $((SECONDS - step_start)) s,"; }
summary() {
    echo "timing:${timings} total $((SECONDS - start)) s"
    echo "$passed passed, $failed failed"
}

# ---------------------------------------------------------------------------
# Tools: dpkg-dev, debhelper, lintian (and git for the default mode).
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
apt_install() {
    command -v apt-get >/dev/null 2>&1 || return 1
    echo "test-deb.sh: installing:$*" >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y "$@" >/dev/null 2>&1 || {
        $SUDO apt-get update >/dev/null 2>&1 &&
            DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y "$@" >/dev/null
    }
}
need=""
command -v dpkg-buildpackage >/dev/null 2>&1 || need="$need dpkg-dev"
command -v dh >/dev/null 2>&1 || need="$need debhelper"
command -v lintian >/dev/null 2>&1 || need="$need lintian"
[ $worktree = yes ] || command -v git >/dev/null 2>&1 || need="$need git"
if [ -n "$need" ]; then
    # shellcheck disable=SC2086 # a list of package names
    apt_install $need || die "missing:$need (apt-get install$need)"
fi

VERSION=$(sed -n 's/^#define GLINT_VERSION_STRING "\(.*\)"/\1/p' include/glint/glint.h)
[ -n "$VERSION" ] || die "no GLINT_VERSION_STRING in include/glint/glint.h"
[ -d debian ] || die "no debian/ folder"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/glint-deb.XXXXXX")
if [ $keep = yes ]; then
    trap 'echo "scratch folder kept: $tmp"' EXIT
else
    trap 'rm -rf "$tmp"' EXIT
fi
src=$tmp/glint-$VERSION
mkdir -p "$src" "$tmp/home"

# ---------------------------------------------------------------------------
step "scratch copy of the source"
if [ $worktree = yes ]; then
    tar -C "$root" --exclude=./.git --exclude=./build --exclude='./build-*' --exclude=node_modules \
        -cf - . | tar -C "$src" -xf - || die "cannot copy the working tree"
    echo "the working tree, as it is"
else
    git -C "$root" rev-parse --verify -q HEAD >/dev/null || die "no git HEAD here (try --worktree)"
    git -C "$root" archive HEAD | tar -C "$src" -xf - || die "git archive HEAD failed"
    rm -rf "$src/debian"
    cp -a "$root/debian" "$src/debian"
    echo "HEAD ($(git -C "$root" rev-parse --short HEAD)) with the working tree's debian/"
    other=$(git -C "$root" status --porcelain --untracked-files=normal -- . ':!debian' | wc -l)
    [ "$other" -eq 0 ] || echo "note: $other uncommitted change(s) outside debian/ are not in this build (--worktree builds them)"
fi
step_done copy

# ---------------------------------------------------------------------------
step "symbols file"
symbols_current() {
    local want
    want=$(cd "$src" && debian/gen-symbols) || return 1
    if ! diff -u "$src/debian/libglint0.symbols" <(printf '%s\n' "$want"); then
        echo "debian/libglint0.symbols is out of date with src/host/libglint.map or the version;"
        echo "regenerate it: debian/gen-symbols > debian/libglint0.symbols"
        return 1
    fi
}
check "debian/libglint0.symbols is debian/gen-symbols's output for this tree" symbols_current
if [ "$failed" -gt 0 ]; then
    summary
    exit 1
fi

# ---------------------------------------------------------------------------
step "build dependencies"
unmet=$(cd "$src" && dpkg-checkbuilddeps 2>&1 | sed -n 's/.*Unmet build dependencies: //p')
if [ -n "$unmet" ]; then
    # "a (>= 1) | b, c <!nocheck>": install the first name of each group.
    pkgs=$(printf '%s\n' "$unmet" | sed -e 's/([^)]*)//g' -e 's/<[^>]*>//g' -e 's/\[[^]]*\]//g' |
        tr -s ' ' '\n' | grep -v '^|$' | awk 'prev != "|" { print } { prev = $0 }' | grep -v '^$' | tr '\n' ' ')
    # shellcheck disable=SC2086 # a list of package names
    apt_install $pkgs || die "unmet build dependencies: $unmet"
    unmet=$(cd "$src" && dpkg-checkbuilddeps 2>&1 | sed -n 's/.*Unmet build dependencies: //p')
    [ -z "$unmet" ] || die "unmet build dependencies: $unmet"
fi
pass "build dependencies installed (dpkg-checkbuilddeps)"
step_done deps

# ---------------------------------------------------------------------------
# A clean environment: no /usr/local, pyenv or virtualenv Python, no
# CFLAGS of the caller's.
build_env=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$tmp/home" LC_ALL=C.UTF-8 TMPDIR="${TMPDIR:-/tmp}")
[ -z "${DEB_BUILD_OPTIONS:-}" ] || build_env+=(DEB_BUILD_OPTIONS="$DEB_BUILD_OPTIONS")

step "source package (dpkg-buildpackage -S)"
# The upstream tarball is the scratch tree without debian/ (3.0 (quilt)).
dsc=$tmp/glint_${VERSION}-1.dsc
if tar -C "$tmp" --exclude="glint-$VERSION/debian" -cJf "$tmp/glint_$VERSION.orig.tar.xz" "glint-$VERSION" &&
    (cd "$src" && "${build_env[@]}" dpkg-buildpackage -S -us -uc -d) >"$tmp/source.log" 2>&1 && [ -f "$dsc" ]; then
    pass "source package $(basename "$dsc")"
else
    fail "source package; the end of its log:"
    tail -20 "$tmp/source.log" | sed 's/^/    /'
    dsc=""
fi
step_done source

step "dpkg-buildpackage -b -us -uc"
if (cd "$src" && "${build_env[@]}" dpkg-buildpackage -b -us -uc -jauto) >"$tmp/build.log" 2>&1; then
    pass "dpkg-buildpackage -b -us -uc ($((SECONDS - step_start)) s)"
else
    fail "dpkg-buildpackage -b -us -uc; the end of its log:"
    tail -40 "$tmp/build.log" | sed 's/^/    /'
    step_done build
    summary
    exit 1
fi
grep -E '^(PASS|FAIL|SKIP) |passed, .* failed' "$tmp/build.log" | tail -1 | sed 's/^/    scripts\/test-install.sh in the build: /'
step_done build

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
changes=$tmp/glint_${VERSION}-1_${arch}.changes
deb() { # deb PACKAGE: its .deb file
    local f
    for f in "$tmp/$1_"*"_$arch.deb" "$tmp/$1_"*"_all.deb"; do
        [ -f "$f" ] && { echo "$f"; return 0; }
    done
    return 1
}
packages="libglint0 libglint-dev glint-tools glintd python3-glint"
for p in $packages; do
    if deb "$p" >/dev/null; then pass "built $(basename "$(deb "$p")")"; else fail "no .deb for $p"; fi
done
if [ -n "$out" ]; then
    mkdir -p "$out" && cp "$tmp"/*.deb "$tmp"/*.changes "$tmp"/*.buildinfo "$tmp"/*.dsc "$tmp"/*.tar.* "$out"/ &&
        echo "copied the packages (binary and source), .changes and .buildinfo to $out"
fi

# ---------------------------------------------------------------------------
step "lintian"
lintian -I --pedantic --show-overrides "$changes" ${dsc:+"$dsc"} >"$tmp/lintian.log" 2>&1
lintian_rc=$?
grep -v 'running with root privileges is not recommended' "$tmp/lintian.log" | sed 's/^/    /'
nerr=$(grep -c '^E: ' "$tmp/lintian.log")
nwarn=$(grep -c '^W: ' "$tmp/lintian.log")
ninfo=$(grep -c '^[IP]: ' "$tmp/lintian.log")
nover=$(grep -c '^O: ' "$tmp/lintian.log")
echo "    lintian: $nerr error(s), $nwarn warning(s), $ninfo info/pedantic, $nover overridden"
# Exit status 2 is --fail-on's (an error, here also an overridden one that
# --show-overrides lists as O:); 1 is lintian's own failure.
if [ "$nerr" -eq 0 ] && [ "$lintian_rc" -ne 1 ]; then
    pass "lintian: no errors ($nwarn warnings)"
else
    fail "lintian: $nerr errors (exit status $lintian_rc)"
fi
step_done lintian

# ---------------------------------------------------------------------------
step "package contents and control data"
L=usr/lib/$multiarch
G=$L/glint
# holds DEB PATH...: every PATH (relative, no leading ./) is in the package.
holds() {
    local d=$1 list bad="" p
    shift
    list=$(dpkg-deb -c "$d" | awk '{ sub(/^\.\//, "", $6); print $6 }') || return 1
    for p in "$@"; do
        grep -qxF "$p" <<<"$list" || bad="$bad $p"
    done
    [ -z "$bad" ] || { echo "missing:$bad"; return 1; }
}
# lacks DEB REGEX...: no path of the package matches.
lacks() {
    local d=$1 list bad="" r
    shift
    list=$(dpkg-deb -c "$d" | awk '{ sub(/^\.\//, "", $6); print $6 }') || return 1
    for r in "$@"; do
        if grep -qE "$r" <<<"$list"; then bad="$bad $(grep -E "$r" <<<"$list" | tr '\n' ' ')"; fi
    done
    [ -z "$bad" ] || { echo "unexpected:$bad"; return 1; }
}
field_has() { # field_has DEB FIELD REGEX
    local v
    v=$(dpkg-deb -f "$1" "$2")
    grep -qE "$3" <<<"$v" || { echo "$2: $v (expected /$3/)"; return 1; }
}
depends_on() { # depends_on DEB PACKAGE...: each PACKAGE is in Depends
    local v p bad=""
    v=$(dpkg-deb -f "$1" Depends | sed -e 's/[,|]/\n/g' | sed -e 's/(.*//' -e 's/ //g')
    shift
    for p in "$@"; do grep -qxF "$p" <<<"$v" || bad="$bad $p"; done
    [ -z "$bad" ] || { echo "Depends lacks:$bad"; return 1; }
}
if d=$(deb libglint0); then
    check "libglint0 holds libglint.so.0 and libglint.so.$VERSION" holds "$d" "$L/libglint.so.0" "$L/libglint.so.$VERSION"
    check "libglint0 holds no development files" lacks "$d" '^usr/include' "libglint\.so$" '\.a$' '\.pc$'
    check "libglint0's symbols file has the API at GLINT_0.1, with the soname's upper bound" sh -c \
        "dpkg-deb -I '$d' symbols | grep -q '^libglint.so.0 libglint0 #MINVER#, libglint0 (<< ' &&
         dpkg-deb -I '$d' symbols | grep -q ' glint_sandbox_create@GLINT_0.1 $VERSION\$'"
    check "libglint0 has a shlibs-triggered ldconfig (triggers)" sh -c "dpkg-deb -I '$d' triggers | grep -q ldconfig"
    check "libglint0 is Multi-Arch: same, Section libs" sh -c \
        "[ \"\$(dpkg-deb -f '$d' Multi-Arch)\" = same ] && [ \"\$(dpkg-deb -f '$d' Section)\" = libs ]"
fi
if d=$(deb libglint-dev); then
    check "libglint-dev holds glint.pc, libglint.so, libglint.a, the host headers, libglint(3)" holds "$d" \
        "$L/pkgconfig/glint.pc" "$L/libglint.so" "$L/libglint.a" usr/include/glint/glint.h \
        usr/include/glint/abi.h usr/include/glint/http.h usr/include/glint/layout.h \
        usr/share/man/man3/libglint.3.gz
    check "libglint-dev holds no guest headers and no shared object" lacks "$d" \
        '^usr/include/glint/guest' 'libglint\.so\.0' 'glint-guest\.pc'
    check "libglint-dev depends on libglint0 of the same version" field_has "$d" Depends \
        'libglint0 \(= [^)]+\)'
fi
if d=$(deb glint-tools); then
    check "glint-tools holds glint, glint-cc, the guest toolchain, glint-guest.pc, glint(1), glint-cc(1)" \
        holds "$d" usr/bin/glint usr/bin/glint-cc "$G/libglint-guest.a" "$G/glint.ld" \
        "$G/include/glint/guest.h" "$G/include/glint/guest_http.h" "$G/include/stdio.h" \
        "$L/pkgconfig/glint-guest.pc" usr/share/man/man1/glint.1.gz usr/share/man/man1/glint-cc.1.gz
    check "glint-tools holds no host headers, library or daemon" lacks "$d" '^usr/include' \
        'libglint\.so' 'bin/glintd$'
    check "glint-tools depends on gcc (glint-cc runs it)" depends_on "$d" gcc
fi
if d=$(deb glintd); then
    check "glintd holds glintd, glintd(8), the unit, the configuration and the example guest" holds "$d" \
        usr/bin/glintd usr/share/man/man8/glintd.8.gz lib/systemd/system/glintd.service \
        etc/glintd/glintd.yaml usr/lib/glint/examples/http-guest.elf
    check "/etc/glintd/glintd.yaml is a conffile" sh -c "dpkg-deb -I '$d' conffiles | grep -qx /etc/glintd/glintd.yaml"
    check "glintd's postinst creates the system user glintd and adds it to group kvm" sh -c \
        "dpkg-deb -I '$d' postinst | grep -q 'adduser --quiet --system --group .*glintd' &&
         dpkg-deb -I '$d' postinst | grep -q 'adduser --quiet glintd kvm' &&
         dpkg-deb -I '$d' postinst | grep -q \"deb-systemd-helper enable 'glintd.service'\""
    check "glintd depends on adduser, procps (kill), libmicrohttpd, libyaml, jansson" depends_on "$d" \
        adduser procps libmicrohttpd12 libyaml-0-2 libjansson4
fi
if d=$(deb python3-glint); then
    check "python3-glint holds the glint module in /usr/lib/python3/dist-packages" holds "$d" \
        usr/lib/python3/dist-packages/glint/__init__.py usr/lib/python3/dist-packages/glint/_lib.py \
        usr/lib/python3/dist-packages/glint/_core.py usr/lib/python3/dist-packages/glint/py.typed
    check "python3-glint depends on python3 and on libglint0 of the same upstream version" field_has "$d" \
        Depends "libglint0 \\(<< ${VERSION}-[^)]*\\.1~\\), libglint0 \\(>= ${VERSION}-[^)]*\\).*python3"
fi
hardened() { # hardened FILE...: PIE or shared object, GNU_RELRO, BIND_NOW, stack protector
    local f bad="" h l d y
    for f in "$@"; do
        if ! { h=$(readelf -hW "$f") && l=$(readelf -lW "$f") && d=$(readelf -dW "$f") &&
            y=$(readelf -sW --dyn-syms "$f"); }; then
            bad="$bad $f:not-ELF"
            continue
        fi
        grep -q 'Type:.*DYN' <<<"$h" || bad="$bad $f:not-PIE"
        grep -q GNU_RELRO <<<"$l" || bad="$bad $f:no-RELRO"
        grep -qE 'BIND_NOW|FLAGS.*NOW' <<<"$d" || bad="$bad $f:no-BIND_NOW"
        grep -q '__stack_chk_fail' <<<"$y" || bad="$bad $f:no-stack-protector"
    done
    [ -z "$bad" ] || { echo "${bad# }"; return 1; }
}
step_done contents

# ---------------------------------------------------------------------------
step "extracted packages"
x=$tmp/root
mkdir -p "$x"
for p in $packages; do
    d=$(deb "$p") && dpkg-deb -x "$d" "$x"
done
export LD_LIBRARY_PATH=$x/$L
check "glint, glintd and libglint.so.0 are hardened (PIE, RELRO, BIND_NOW, stack protector)" \
    hardened "$x/usr/bin/glint" "$x/usr/bin/glintd" "$x/$L/libglint.so.$VERSION"
check "extracted glint --version says glint $VERSION" \
    sh -c "[ \"\$('$x/usr/bin/glint' --version)\" = 'glint $VERSION' ]"
check "extracted glintd --help and --version" \
    sh -c "'$x/usr/bin/glintd' --help >/dev/null && [ \"\$('$x/usr/bin/glintd' --version)\" = 'glintd $VERSION' ]"
check "every library glintd needs resolves (ldd)" sh -c \
    "ldd '$x/usr/bin/glintd' >'$tmp/ldd.txt' && ! grep 'not found' '$tmp/ldd.txt'"
py_loads_extracted() {
    local got
    got=$(cd "$tmp" && env -u GLINT_LIBRARY PYTHONPATH="$x/usr/lib/python3/dist-packages" /usr/bin/python3 -c '
import glint
maps = open("/proc/self/maps").read()
lib = [l.split()[-1] for l in maps.splitlines() if "libglint.so" in l]
print(glint.__version__, lib[0] if lib else "none")') || return 1
    [ "$got" = "$VERSION $x/$L/libglint.so.$VERSION" ] || { echo "got: $got"; return 1; }
}
check "python3 imports the extracted glint $VERSION, which loads the extracted libglint.so.0" py_loads_extracted
work=$tmp/work
mkdir -p "$work"
cp examples/hello/host.c examples/hello/guest.c "$work/" 2>/dev/null || cp "$src/examples/hello/host.c" "$src/examples/hello/guest.c" "$work/"
check "a guest built with the extracted glint-cc (GLINT_SYSROOT) lists its functions" sh -c \
    "cd '$work' && GLINT_SYSROOT='$x' '$x/usr/bin/glint-cc' -O2 -Wall -Werror -o hello-guest.elf guest.c &&
     '$x/usr/bin/glint' info hello-guest.elf | grep -q '^SayHello(string) -> string'"
check "a host program built with the extracted headers, glint.pc and libglint.so" sh -c \
    "cd '$work' && export PKG_CONFIG_LIBDIR='$x/$L/pkgconfig' PKG_CONFIG_SYSROOT_DIR='$x' &&
     cc -std=c17 -Wall -Werror \$(pkg-config --cflags glint) -o hello host.c \$(pkg-config --libs glint) &&
     readelf -d hello | grep -q 'NEEDED.*\\[libglint.so.0\\]'"
if "$x/usr/bin/glint" info --host >"$tmp/host.txt" 2>&1; then
    check "hello (extracted libglint.so.0) runs the extracted glint-cc's guest" sh -c \
        "cd '$work' && ./hello ./hello-guest.elf World | grep -qE '^Hello, World! Today is [A-Z][a-z]+day\\.\$'"
    sed "s|/usr/lib/glint/examples/|$x/usr/lib/glint/examples/|" "$x/etc/glintd/glintd.yaml" >"$tmp/glintd.yaml"
    check "glintd --check loads the packaged configuration and example guest" sh -c \
        "'$x/usr/bin/glintd' --check '$tmp/glintd.yaml' | grep -q '^ok: '"
    check "python3-glint sees a usable backend (glint.backends())" sh -c \
        "cd '$tmp' && PYTHONPATH='$x/usr/lib/python3/dist-packages' /usr/bin/python3 -c 'import glint; assert glint.backends(), glint.backends()'"
else
    skip "running guests: no backend usable here ($(tr '\n' ' ' <"$tmp/host.txt"))"
fi
unset LD_LIBRARY_PATH
check "the packaged configuration listens on the loopback interface only" \
    grep -qE '^listen: "127\.0\.0\.1:[0-9]+"' "$x/etc/glintd/glintd.yaml"
step_done extracted

# ---------------------------------------------------------------------------
step "systemd unit"
unit=$x/lib/systemd/system/glintd.service
unit_settings() { # the unit's effective key=value lines (no comments)
    grep -E '^[A-Za-z]+=' "$unit"
}
unit_has() { # unit_has REGEX...: every REGEX matches a line of the unit
    local r bad="" u
    u=$(unit_settings)
    for r in "$@"; do
        grep -qE "$r" <<<"$u" || bad="$bad /$r/"
    done
    [ -z "$bad" ] || { echo "not in the unit:$bad"; return 1; }
}
# shellcheck disable=SC2016 # $MAINPID is the unit's, literally
check "the unit runs glintd as user glintd, reloads with SIGHUP, allows /dev/kvm" unit_has \
    '^User=glintd$' '^ExecStart=/usr/bin/glintd /etc/glintd/glintd\.yaml$' \
    '^ExecReload=/bin/kill -HUP \$MAINPID$' '^DeviceAllow=/dev/kvm rw$' '^NoNewPrivileges=yes$' \
    '^SystemCallErrorNumber=EPERM$' '^RestrictNamespaces=user ipc uts$'
unit_no_breakers() { # settings that would break the process backend (see the unit's comments)
    local bad
    bad=$(unit_settings | grep -E '^(MemoryDenyWriteExecute=(yes|true|1)|PrivateDevices=(yes|true|1)|RestrictNamespaces=(yes|true|1)$|SystemCallArchitectures=)')
    [ -z "$bad" ] || { echo "$bad"; return 1; }
}
check "the unit sets nothing that breaks the process backend" unit_no_breakers
if command -v systemd-analyze >/dev/null 2>&1; then
    verify_unit() {
        local d=$tmp/verify out
        mkdir -p "$d"
        # verify wants ExecStart's program to exist: point it at the extracted one.
        sed "s|/usr/bin/glintd|$x/usr/bin/glintd|" "$unit" >"$d/glintd.service"
        out=$(cd "$d" && systemd-analyze verify --man=no glintd.service 2>&1 |
            grep -v -e 'Unit sysinit.target not found' -e 'Failed to create glintd.service/start' \
                -e "Command /bin/kill is not executable")
        [ -z "$out" ] || { echo "$out"; return 1; }
    }
    check "systemd-analyze verify finds nothing wrong in the unit" verify_unit
    # Every system call glintd and its jailed children make must pass the
    # unit's filter: the stub's (src/stub/stub.c), and the host side's.
    filter_allows_glint() {
        local allow deny need s missing=""
        # shellcheck disable=SC2046 # word splitting wanted: lists of names
        expand() { # expand NAME...: system call names, groups expanded
            local n
            for n in "$@"; do
                case $n in
                @*) expand $(systemd-analyze syscall-filter --no-pager "$n" | tail -n +2 |
                        sed -e 's/#.*//' -e 's/^ *//' | grep -v '^$') ;;
                *) echo "$n" ;;
                esac
            done
        }
        # shellcheck disable=SC2046
        allow=$(expand $(unit_settings | sed -n 's/^SystemCallFilter=\([^~]\)/\1/p') | sort -u)
        # shellcheck disable=SC2046
        deny=$(expand $(unit_settings | sed -n 's/^SystemCallFilter=~//p') | sort -u)
        [ -n "$allow" ] || { echo "no SystemCallFilter allow list"; return 1; }
        need=$( {
            sed -n 's/^#define SYS_\([a-z_0-9]*\) [0-9]*$/\1/p' "$src/src/stub/stub.c"
            echo rt_sigreturn memfd_create execveat vfork pidfd_open pidfd_send_signal waitid \
                close_range pread64 ftruncate mprotect madvise | tr ' ' '\n'
        } | sort -u)
        for s in $need; do
            grep -qxF "$s" <<<"$allow" && ! grep -qxF "$s" <<<"$deny" || missing="$missing $s"
        done
        [ -z "$missing" ] || { echo "refused by the unit's SystemCallFilter:$missing"; return 1; }
        echo "$(wc -w <<<"$need") system calls checked"
    }
    check "the unit's system call filter allows every call of the process backend" filter_allows_glint
else
    skip "systemd-analyze is not installed: unit verification"
fi
step_done unit

summary
[ "$failed" -eq 0 ]
