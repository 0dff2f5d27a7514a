#!/usr/bin/env bash
# test-install.sh - glint installed like any Linux library (issue 12).
#
#   scripts/test-install.sh            (BUILD=dir for another build folder)
#
# 1. make install DESTDIR=$tmp PREFIX=/usr into a temporary folder that
#    already holds a few unrelated files and folders;
# 2. the ABI: libglint.so exports exactly the functions declared in
#    include/glint/glint.h (nm -D --defined-only; the exceptions are listed
#    below with their reasons), each at version GLINT_0.1 (objdump -T), and
#    src/host/libglint.map lists the same names; soname libglint.so.0;
# 3. the layout: versioned library and its links, host and guest headers
#    apart, glint-cc and the .pc files point at /usr, not at the build tree
#    or the DESTDIR;
# 4. examples/hello built OUT OF TREE from the installed copy with
#    pkg-config alone (PKG_CONFIG_LIBDIR and PKG_CONFIG_SYSROOT_DIR into the
#    DESTDIR): the guest with the installed glint-cc (GLINT_SYSROOT) and with
#    gcc and glint-guest.pc, the host linked against libglint.so and, once,
#    statically; each run prints "Hello, World! Today is ...";
# 5. the man pages render without warnings (man --warnings), install where
#    man finds them, and name every option that each tool's --help lists;
# 6. installing again over an install, then make uninstall, leaves the
#    folder exactly as it was before (the unrelated files included); a
#    second uninstall is refused; an install under another PREFIX too.
# Ends with "N passed, N failed"; exits 1 if anything failed, 2 if a tool
# it needs is missing (scripts/deps.sh test installs them).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 2
BUILD=${BUILD:-build}
CC=${CC:-cc}
GUEST_GCC=${GUEST_GCC:-gcc}
export LC_ALL=C.UTF-8

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
skip() { echo "SKIP $*"; }
die() { echo "test-install.sh: $*" >&2; exit 2; }
# check NAME COMMAND...: PASS if the command succeeds, else FAIL with its output.
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then pass "$name"; else fail "$name"; [ -z "$out" ] || printf '    %s\n' "${out//$'\n'/$'\n'    }"; fi
}

tools="make $CC $GUEST_GCC nm objdump readelf pkg-config man groff perl"
for tool in $tools; do
    command -v "$tool" >/dev/null 2>&1 || { scripts/deps.sh test >&2 || true; break; }
done
for tool in $tools; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (scripts/deps.sh test installs it)"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest   # the DESTDIR
work=$tmp/work   # out-of-tree build of the example
mkdir -p "$work"

VERSION=$(sed -n 's/^#define GLINT_VERSION_STRING "\(.*\)"/\1/p' include/glint/glint.h)
[ -n "$VERSION" ] || die "no GLINT_VERSION_STRING in include/glint/glint.h"

# Symbols in libglint.so's dynamic table that glint.h does not declare, each
# with the reason it is there.  Anything else exported is a leak.
declare -A extra_ok=(
    [GLINT_0.1]="ld defines the version node's name as an absolute symbol (nm type A)"
)
# Functions glint.h declares that the library does not export, with reasons.
# (static inline functions such as glint_i32 are not declarations of exported
# functions at all; the parser skips them.)
declare -A missing_ok=()

# The functions include/glint/glint.h declares: preprocess it, keep its own
# lines, replace every brace block (struct bodies, inline function bodies)
# by ';', and take the declarator of each statement that is not a typedef or
# static.
header_functions() {
    "$CC" -E -D'__attribute__(x)=' -Iinclude include/glint/glint.h | perl -e '
        my ($keep, $s) = (0, "");
        while (<STDIN>) {
            if (/^# \d+ "([^"]*)"/) { $keep = ($1 =~ m{(^|/)include/glint/glint\.h$}); next; }
            $s .= $_ if $keep;
        }
        1 while $s =~ s/\{[^{}]*\}/;/g;
        for my $st (split /;/, $s) {
            $st =~ s/^\s+//;
            next if $st =~ /^(typedef|static)\b/;
            print "$1\n" if $st =~ /^[^(]*?\b([A-Za-z_]\w*)\s*\(/;
        }' | sort -u
}

# ---------------------------------------------------------------------------
# 1. Install into a DESTDIR that already holds unrelated things.
mkdir -p "$dest/usr/bin" "$dest/usr/share/man/man1" "$dest/usr/lib/pkgconfig"
echo unrelated >"$dest/usr/share/man/man1/other.1"
echo unrelated >"$dest/usr/lib/pkgconfig/other.pc"
snapshot() { (cd "$dest" && find . -mindepth 1 | LC_ALL=C sort); }
before=$(snapshot)

make_install() { # make_install TARGET [VAR=VALUE...]
    make -C "$root" --no-print-directory BUILD="$BUILD" "$@" >"$tmp/make.log" 2>&1 || {
        tail -20 "$tmp/make.log" | sed 's/^/    /'
        return 1
    }
}
if make_install install DESTDIR="$dest" PREFIX=/usr; then
    pass "make install DESTDIR=\$tmp PREFIX=/usr"
else
    fail "make install DESTDIR=\$tmp PREFIX=/usr"
    echo "$passed passed, $failed failed"
    exit 1
fi
so=$dest/usr/lib/libglint.so.$VERSION

# ---------------------------------------------------------------------------
# 2. The ABI.
header_functions >"$tmp/header" || die "cannot parse include/glint/glint.h"
[ "$(wc -l <"$tmp/header")" -ge 40 ] || die "parsed only $(wc -l <"$tmp/header") functions from glint.h"
nm -D --defined-only "$so" | awk '{ print $NF }' | sed 's/@.*//' | LC_ALL=C sort -u >"$tmp/exported"
{ cat "$tmp/header"; for s in "${!extra_ok[@]}"; do echo "$s"; done; } | LC_ALL=C sort -u >"$tmp/allowed"
leaked=$(LC_ALL=C comm -13 "$tmp/allowed" "$tmp/exported")
if [ -z "$leaked" ]; then
    pass "libglint.so exports nothing glint.h does not declare"
else
    fail "libglint.so exports symbols glint.h does not declare: ${leaked//$'\n'/ }"
fi
LC_ALL=C sort -u "$tmp/header" >"$tmp/header.sorted"
absent=$(LC_ALL=C comm -23 "$tmp/header.sorted" "$tmp/exported" | while read -r f; do
    [ -n "${missing_ok[$f]+x}" ] || echo "$f"; done)
if [ -z "$absent" ]; then
    pass "libglint.so exports every function of glint.h ($(wc -l <"$tmp/header"))"
else
    fail "glint.h declares functions libglint.so does not export: ${absent//$'\n'/ }"
fi
# objdump -T: "ADDR FLAGS SECTION SIZE VERSION NAME" for each dynamic symbol
# (the flag columns hold blanks, so count fields from the end).
dynsyms() { objdump -T "$so" | awk 'NF >= 4 && $1 ~ /^[0-9a-f]+$/ && !/\*UND\*/ { print $NF, $(NF-1) }'; }
badver=$(dynsyms |
    while read -r name ver; do
        grep -qxF "$name" "$tmp/header" || continue
        [ "$ver" = GLINT_0.1 ] || echo "$name($ver)"
    done)
nver=$(dynsyms | awk '$2 == "GLINT_0.1"' | wc -l)
if [ -z "$badver" ] && [ "$nver" -ge "$(wc -l <"$tmp/header")" ]; then
    pass "every exported function has version GLINT_0.1 ($nver)"
else
    fail "exported functions not at version GLINT_0.1: ${badver:-only $nver at GLINT_0.1}"
fi
sed -e 's|/\*.*\*/||' -e '/^ *\*/d' -e '/^\/\*/d' src/host/libglint.map |
    grep -oE '^ +[A-Za-z_][A-Za-z0-9_]*;' | tr -d ' ;' | LC_ALL=C sort -u >"$tmp/map"
mapdiff=$(LC_ALL=C diff "$tmp/header.sorted" "$tmp/map" | grep '^[<>]')
if [ -z "$mapdiff" ]; then
    pass "src/host/libglint.map lists exactly glint.h's functions"
else
    fail "src/host/libglint.map differs from glint.h (< only in glint.h, > only in the map): ${mapdiff//$'\n'/ }"
fi
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" = libglint.so.0 ]; then pass "soname libglint.so.0"; else fail "soname is '$soname', not libglint.so.0"; fi

# ---------------------------------------------------------------------------
# 3. The layout.
layout() {
    local bad="" f
    [ -f "$so" ] && [ ! -L "$so" ] || bad="$bad libglint.so.$VERSION-not-a-file"
    [ "$(readlink "$dest/usr/lib/libglint.so.0")" = "libglint.so.$VERSION" ] || bad="$bad libglint.so.0-link"
    [ "$(readlink "$dest/usr/lib/libglint.so")" = "libglint.so.0" ] || bad="$bad libglint.so-link"
    for f in usr/bin/glint usr/bin/glintd usr/bin/glint-cc; do [ -x "$dest/$f" ] || bad="$bad $f"; done
    for f in usr/lib/libglint.a usr/include/glint/glint.h usr/include/glint/abi.h \
        usr/include/glint/http.h usr/include/glint/layout.h usr/lib/glint/libglint-guest.a \
        usr/lib/glint/glint.ld usr/lib/glint/include/stdio.h usr/lib/glint/include/glint/guest.h \
        usr/lib/glint/include/glint/guest_http.h usr/lib/glint/include/glint/abi.h \
        usr/lib/pkgconfig/glint.pc usr/lib/pkgconfig/glint-guest.pc usr/share/man/man1/glint.1 \
        usr/share/man/man1/glint-cc.1 usr/share/man/man3/libglint.3 usr/share/man/man8/glintd.8 \
        usr/share/doc/glint/README.md usr/share/doc/glint/host.md usr/share/glint/install-manifest.txt; do
        [ -f "$dest/$f" ] || bad="$bad $f"
    done
    # Guest headers stay out of the host's include folder (and vice versa).
    for f in usr/include/glint/guest.h usr/include/glint/guest_http.h usr/include/glint/libc \
        usr/lib/glint/include/glint/glint.h; do
        [ ! -e "$dest/$f" ] || bad="$bad unexpected:$f"
    done
    [ -z "$bad" ] || { echo "missing or wrong:$bad"; return 1; }
}
check "installed layout (versioned .so and its links, host and guest headers apart)" layout
leaks() {
    local hits
    hits=$(grep -rlF -e "$tmp" -e "$root" "$dest/usr/bin/glint-cc" "$dest/usr/lib/pkgconfig/glint.pc" \
        "$dest/usr/lib/pkgconfig/glint-guest.pc" "$dest/usr/share/glint/install-manifest.txt")
    [ -z "$hits" ] || { echo "names the DESTDIR or the build tree: $hits"; return 1; }
    [ "$("$dest/usr/bin/glint-cc" --print-libdir)" = /usr/lib/glint ] || { echo "glint-cc --print-libdir"; return 1; }
    [ "$(GLINT_SYSROOT=$dest "$dest/usr/bin/glint-cc" --print-includedir)" = "$dest/usr/lib/glint/include" ] ||
        { echo "GLINT_SYSROOT glint-cc --print-includedir"; return 1; }
}
check "glint-cc, the .pc files and the manifest point at /usr, not at DESTDIR or the tree" leaks
versions() {
    [ "$("$dest/usr/bin/glint" --version)" = "glint $VERSION" ] &&
        [ "$("$dest/usr/bin/glintd" --version)" = "glintd $VERSION" ]
}
check "installed glint and glintd --version say $VERSION" versions

# ---------------------------------------------------------------------------
# 4. examples/hello out of tree, from the installed copy, with pkg-config alone.
cp examples/hello/host.c examples/hello/guest.c "$work/"
export PKG_CONFIG_LIBDIR=$dest/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
unset PKG_CONFIG_PATH
pc() { pkg-config "$@"; }
if [ "$(pc --modversion glint)" = "$VERSION" ] && [ "$(pc --modversion glint-guest)" = "$VERSION" ]; then
    pass "pkg-config finds glint and glint-guest $VERSION"
else
    fail "pkg-config --modversion glint glint-guest: $(pc --modversion glint glint-guest 2>&1)"
fi
in_work() { (cd "$work" && "$@"); }
check "guest built with the installed glint-cc (GLINT_SYSROOT)" \
    in_work env GLINT_SYSROOT="$dest" "$dest/usr/bin/glint-cc" -O2 -Wall -o hello-guest.elf guest.c
check "guest built with gcc and pkg-config glint-guest" in_work sh -c \
    "$GUEST_GCC \$(pkg-config --cflags glint-guest) -O2 -Wall -c -o guest.o guest.c &&
     $GUEST_GCC -o hello-guest-pc.elf guest.o \$(pkg-config --libs glint-guest)"
# Every installed guest header compiles, alone and together, both ways.
{
    for h in "$dest"/usr/lib/glint/include/*.h "$dest"/usr/lib/glint/include/glint/*.h; do
        echo "#include <${h#"$dest"/usr/lib/glint/include/}>"
    done
    echo 'static void Nop(const glint_args *a) { (void)a; }'
    echo 'GLINT_FUNCTION(Nop, GLINT_VOID);'
} >"$work/headers.c"
check "every installed guest header compiles (glint-cc and glint-guest.pc)" in_work sh -c \
    "GLINT_SYSROOT='$dest' '$dest/usr/bin/glint-cc' -Wall -Werror -o headers.elf headers.c &&
     $GUEST_GCC \$(pkg-config --cflags glint-guest) -Wall -Werror -c -o headers.o headers.c"
check "host program linked against libglint.so with pkg-config glint" in_work sh -c \
    "$CC -std=c17 -Wall -Werror \$(pkg-config --cflags glint) -o hello host.c \$(pkg-config --libs glint) &&
     readelf -d hello | grep -q 'NEEDED.*\\[libglint.so.0\\]'"
check "host program linked statically (pkg-config --static glint)" in_work sh -c \
    "$CC -std=c17 -Wall -Werror \$(pkg-config --cflags glint) -static -o hello-static host.c \
         \$(pkg-config --static --libs glint) && ! readelf -d hello-static | grep -q NEEDED"

hello_re='^Hello, World! Today is (Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\.$'
run_hello() { # run_hello HOST GUEST
    local out
    out=$(cd "$work" && LD_LIBRARY_PATH="$dest/usr/lib" "./$1" "./$2" World 2>&1) || { echo "$out"; return 1; }
    [[ $out =~ $hello_re ]] || { echo "output: $out"; return 1; }
}
uses_installed_so() {
    local libs
    libs=$(cd "$work" && LD_LIBRARY_PATH="$dest/usr/lib" ldd ./hello) || return 1
    [[ $libs == *"libglint.so.0 => $dest/usr/lib/libglint.so.0 "* ]] || { echo "$libs"; return 1; }
}
if "$dest/usr/bin/glint" info --host >"$tmp/host.txt" 2>&1; then
    check "hello (shared) loads the installed libglint.so.0" uses_installed_so
    check "hello (shared) + glint-cc guest: Hello, World! Today is ..." run_hello hello hello-guest.elf
    check "hello (shared) + glint-guest.pc guest: Hello, World! Today is ..." run_hello hello hello-guest-pc.elf
    check "hello (static) + glint-cc guest: Hello, World! Today is ..." run_hello hello-static hello-guest.elf
else
    skip "running hello: no backend usable on this host ($(tr '\n' ' ' <"$tmp/host.txt"))"
fi
unset PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR

# ---------------------------------------------------------------------------
# 5. Man pages.
for m in man/*.[1-8]; do
    warn=$(man --warnings -l -E UTF-8 "$m" 2>&1 >/dev/null)
    if [ -z "$warn" ]; then pass "$m renders without warnings"; else fail "$m: $warn"; fi
done
found_by_man() {
    local page bad=""
    for page in glint glint-cc libglint glintd; do
        man -M "$dest/usr/share/man" -w "$page" >/dev/null 2>&1 || bad="$bad $page"
    done
    [ -z "$bad" ] || { echo "man -M \$DESTDIR/usr/share/man -w cannot find:$bad"; return 1; }
}
check "man finds the installed glint(1), glint-cc(1), libglint(3), glintd(8)" found_by_man
# Every --option a tool's --help names appears in its man page.
options_agree() { # options_agree MANPAGE HELP-COMMAND...
    local page=$1 opt bad=""
    shift
    for opt in $("$@" 2>&1 | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
        grep -qF -- "$(printf '%s' "$opt" | sed 's/-/\\-/g')" "$page" || bad="$bad $opt"
    done
    [ -z "$bad" ] || { echo "in --help but not in $page:$bad"; return 1; }
}
check "man/glint.1 names every option of glint --help" options_agree man/glint.1 "$BUILD/bin/glint" --help
check "man/glintd.8 names every option of glintd --help" options_agree man/glintd.8 "$BUILD/bin/glintd" --help
check "man/glint-cc.1 names every option of glint-cc --help" \
    options_agree man/glint-cc.1 "$BUILD/bin/glint-cc" --help

# ---------------------------------------------------------------------------
# 6. Install again over it, then uninstall: the folder is as it was before.
manifest_complete() { # every file and link under DESTDIR is the manifest's or was there before
    local extra
    extra=$( (cd "$dest" && find . -mindepth 1 ! -type d | sed 's|^\.||' | LC_ALL=C sort) |
        LC_ALL=C comm -23 - <(awk '$1 != "d" && !/^#/ { print $2 }' \
            "$dest/usr/share/glint/install-manifest.txt" | LC_ALL=C sort) |
        grep -vxF -e /usr/share/man/man1/other.1 -e /usr/lib/pkgconfig/other.pc)
    [ -z "$extra" ] || { echo "installed but not in the manifest: $extra"; return 1; }
}
check "the manifest lists every file and link installed" manifest_complete
check "make install again over the install" make_install install DESTDIR="$dest" PREFIX=/usr
check "make uninstall DESTDIR=\$tmp PREFIX=/usr" make_install uninstall DESTDIR="$dest" PREFIX=/usr
after=$(snapshot)
if [ "$before" = "$after" ]; then
    pass "nothing glint installed is left, and nothing else was removed"
else
    fail "the DESTDIR differs from before the install (< before, > after):"
    diff <(echo "$before") <(echo "$after") | grep '^[<>]' | sed 's/^/    /'
fi
if make_install uninstall DESTDIR="$dest" PREFIX=/usr >/dev/null; then
    fail "a second make uninstall should be refused (no manifest)"
else
    pass "a second make uninstall is refused (no manifest)"
fi
other_prefix() {
    local d=$tmp/opt
    make_install install DESTDIR="$d" PREFIX=/opt/glint || return 1
    [ "$("$d/opt/glint/bin/glint-cc" --print-libdir)" = /opt/glint/lib/glint ] || { echo "glint-cc libdir"; return 1; }
    grep -qx 'prefix=/opt/glint' "$d/opt/glint/lib/pkgconfig/glint.pc" || { echo "glint.pc prefix"; return 1; }
    [ "$(PKG_CONFIG_LIBDIR=$d/opt/glint/lib/pkgconfig pkg-config --variable=libdir glint)" = /opt/glint/lib ] ||
        { echo "glint.pc libdir"; return 1; }
    make_install uninstall DESTDIR="$d" PREFIX=/opt/glint || return 1
    [ -z "$(ls -A "$d")" ] || { echo "left: $(cd "$d" && find . -mindepth 1)"; return 1; }
}
check "install and uninstall with PREFIX=/opt/glint" other_prefix

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
