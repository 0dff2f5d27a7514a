#!/bin/sh
# scripts/install.sh - `make install` and `make uninstall`.
#
#   scripts/install.sh install | uninstall
#
# The Makefile passes every location in the environment: DESTDIR (may be
# empty), PREFIX, BINDIR, LIBDIR, INCLUDEDIR, DATADIR, MANDIR, DOCDIR,
# PKGCONFIGDIR, and VERSION, SONAME, GUEST_GCC, BUILD (the build folder).
# Paths are the final ones, without DESTDIR; files go to $DESTDIR$path.
#
# install puts there (GUESTDIR is $LIBDIR/glint):
#   BINDIR        glint, glintd, glint-cc (rewritten for these locations)
#   LIBDIR        libglint.so.VERSION, libglint.so.0 -> it, libglint.so ->
#                 libglint.so.0, libglint.a
#   INCLUDEDIR    glint/{glint,abi,layout,http}.h: the host's headers
#   GUESTDIR      libglint-guest.a, glint.ld, and include/: the guest's own
#                 include root (the guest C library's headers, and
#                 glint/{guest,guest_http,abi,layout,http}.h), which glint-cc
#                 puts first on the search path; a folder of its own, so
#                 that guest code never sees the system's headers
#   PKGCONFIGDIR  glint.pc (host programs), glint-guest.pc (guests)
#   MANDIR        glint(1), glint-cc(1), libglint(3), glintd(8)
#   DOCDIR        README.md and docs/*.md
# and writes $DATADIR/glint/install-manifest.txt: one line per file ("f
# PATH"), symbolic link ("l PATH") and folder it created ("d PATH"; folders
# that existed before are not listed).  Installing again over an install
# keeps the earlier manifest's entries that still exist.
#
# uninstall reads that manifest and removes exactly its files and links,
# then its folders, deepest first, each only if it is empty.  Both run
# ldconfig when root installs without DESTDIR.
set -eu

die() { echo "install.sh: $*" >&2; exit 1; }

action=${1:-}
case $action in install | uninstall) ;; *) die "usage: install.sh install|uninstall" ;; esac
for v in PREFIX BINDIR LIBDIR INCLUDEDIR DATADIR MANDIR DOCDIR PKGCONFIGDIR; do
    val=""
    eval "val=\${$v:-}"
    case $val in
    /*) ;;
    '') die "$v is not set (run make $action)" ;;
    *) die "$v must be an absolute path, not '$val'" ;;
    esac
done
D=${DESTDIR:-}
GUESTDIR=$LIBDIR/glint
MANIFEST=$DATADIR/glint/install-manifest.txt

# A manifest entry must be an absolute path without '..' components.
sane_path() {
    case $1 in
    /*) ;;
    *) return 1 ;;
    esac
    case /$1/ in
    */../* | */./*) return 1 ;;
    esac
    return 0
}

# A real install (no DESTDIR) by root refreshes the dynamic linker's cache,
# so that programs find libglint.so.0 in LIBDIR at once (if ld.so.conf
# lists it, as Debian's does /usr/local/lib).
refresh_ldconfig() {
    if [ -z "$D" ] && [ "$(id -u)" -eq 0 ] && command -v ldconfig >/dev/null 2>&1; then
        ldconfig || echo "install.sh: ldconfig failed (run it yourself)" >&2
    fi
}

if [ "$action" = uninstall ]; then
    [ -f "$D$MANIFEST" ] ||
        die "nothing to uninstall: no $D$MANIFEST (give make uninstall the PREFIX and DESTDIR of make install)"
    entries=$(grep -v '^#' "$D$MANIFEST" || true)
    nfiles=0
    ndirs=0
    kept=""
    # Files and links first (the manifest itself among them).
    while IFS=' ' read -r kind path; do
        [ -n "$kind" ] || continue
        sane_path "$path" || { echo "install.sh: skipping bad manifest entry '$kind $path'" >&2; continue; }
        case $kind in
        f | l)
            if [ -L "$D$path" ] || [ -f "$D$path" ]; then
                rm -f "$D$path"
                echo "removed $D$path"
                nfiles=$((nfiles + 1))
            elif [ -e "$D$path" ]; then
                echo "install.sh: $D$path is not a file, left alone" >&2
            fi
            ;;
        d) ;;
        *) echo "install.sh: skipping bad manifest entry '$kind $path'" >&2 ;;
        esac
    done <<EOF
$entries
EOF
    # Then the folders glint created, deepest first, if empty.
    dirs=$(printf '%s\n' "$entries" | awk '$1 == "d" { sub(/^d /, ""); print length($0) "\t" $0 }' |
        sort -rn | cut -f2-)
    while IFS= read -r path; do
        [ -n "$path" ] || continue
        sane_path "$path" || continue
        [ -d "$D$path" ] || continue
        if rmdir "$D$path" 2>/dev/null; then
            echo "removed $D$path/"
            ndirs=$((ndirs + 1))
        else
            kept="$kept $D$path"
        fi
    done <<EOF
$dirs
EOF
    refresh_ldconfig
    echo "glint: uninstalled $nfiles files and links, $ndirs folders"
    [ -z "$kept" ] || echo "glint: left folders that are not empty:$kept"
    exit 0
fi

# ---------------------------------------------------------------------------
# install
: "${BUILD:?}" "${VERSION:?}" "${SONAME:?}" "${GUEST_GCC:=gcc}"
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
for f in "$BUILD/bin/glint" "$BUILD/bin/glintd" "$BUILD/lib/libglint.so.$VERSION" \
    "$BUILD/lib/libglint.a" "$BUILD/lib/libglint-guest.a" "$BUILD/lib/glint.ld"; do
    [ -f "$f" ] || die "missing $f (run make first)"
done

work=$(mktemp -d)
list=$work/list
: >"$list"
done_ok=no
# Writes the manifest: this install's entries, plus those of an earlier
# install here that still exist (folders included, so that uninstall
# removes them).  Also after a failure, so that uninstall can undo a
# partial install.
write_manifest() {
    mkdirs "$(dirname "$MANIFEST")"
    echo "f $MANIFEST" >>"$list"
    if [ -f "$D$MANIFEST" ]; then
        grep -v '^#' "$D$MANIFEST" | while IFS=' ' read -r kind path; do
            sane_path "$path" || continue
            if [ -e "$D$path" ] || [ -L "$D$path" ]; then echo "$kind $path"; fi
        done >>"$list"
    fi
    {
        echo "# glint $VERSION: what make install put here (f file, l link, d folder it created)."
        echo "# make uninstall (same PREFIX and DESTDIR) removes exactly these."
        awk '!seen[$0]++' "$list"
    } >"$work/manifest"
    install -m 644 "$work/manifest" "$D$MANIFEST"
}
on_exit() {
    if [ "$done_ok" != yes ] && [ -s "$list" ]; then
        write_manifest 2>/dev/null &&
            echo "install.sh: install failed; $D$MANIFEST lists what it did (make uninstall undoes it)" >&2
    fi
    rm -rf "$work"
}
trap on_exit EXIT

# Creates folder $1 (a final path) under DESTDIR with its missing parents,
# listing each one it creates.  DESTDIR itself is made but not listed.
mkdirs() {
    [ -d "$D$1" ] && return 0
    if [ "$1" = / ]; then
        mkdir -p "$D/"
        return 0
    fi
    mkdirs "$(dirname "$1")"
    mkdir "$D$1"
    echo "d $1" >>"$list"
}

# inst MODE SOURCE DEST: install one file.
inst() {
    mkdirs "$(dirname "$3")"
    install -m "$1" "$2" "$D$3"
    echo "f $3" >>"$list"
    echo "installed $D$3"
}

# link TARGET DEST: a symbolic link DEST -> TARGET.
link() {
    mkdirs "$(dirname "$2")"
    ln -sfn "$1" "$D$2"
    echo "l $2" >>"$list"
    echo "installed $D$2 -> $1"
}

# pkg-config paths under the prefix are written relative to ${prefix}.
pcpath() {
    # shellcheck disable=SC2016 # a literal ${prefix}, for pkg-config
    case $1 in
    "$PREFIX") echo '${prefix}' ;;
    "$PREFIX"/*) echo "\${prefix}${1#"$PREFIX"}" ;;
    *) echo "$1" ;;
    esac
}

subst() {
    sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@VERSION@|$VERSION|g" -e "s|@GUEST_GCC@|$GUEST_GCC|g" \
        -e "s|@PC_LIBDIR@|$(pcpath "$LIBDIR")|g" -e "s|@PC_INCLUDEDIR@|$(pcpath "$INCLUDEDIR")|g" \
        -e "s|@PC_GUESTDIR@|$(pcpath "$GUESTDIR")|g" -e "s|@PC_BINDIR@|$(pcpath "$BINDIR")|g" \
        -e "s|@INCLUDE@|$GUESTDIR/include|g" -e "s|@LIBC_INCLUDE@|$GUESTDIR/include|g" \
        -e "s|@LIBDIR@|$GUESTDIR|g" "$1"
}

# Programs.
inst 755 "$BUILD/bin/glint" "$BINDIR/glint"
inst 755 "$BUILD/bin/glintd" "$BINDIR/glintd"
subst src/guest/glint-cc.in >"$work/glint-cc"
inst 755 "$work/glint-cc" "$BINDIR/glint-cc"

# The host library and its headers.
inst 755 "$BUILD/lib/libglint.so.$VERSION" "$LIBDIR/libglint.so.$VERSION"
link "libglint.so.$VERSION" "$LIBDIR/$SONAME"
link "$SONAME" "$LIBDIR/libglint.so"
inst 644 "$BUILD/lib/libglint.a" "$LIBDIR/libglint.a"
# wasm-guest.h is for WebAssembly modules (clang --target=wasm32
# -I$INCLUDEDIR): it includes only the compiler's stddef.h and stdint.h.
for h in glint abi layout http wasm-guest; do
    inst 644 "include/glint/$h.h" "$INCLUDEDIR/glint/$h.h"
done

# The guest toolchain: library, linker script, include root.
inst 644 "$BUILD/lib/libglint-guest.a" "$GUESTDIR/libglint-guest.a"
inst 644 "$BUILD/lib/glint.ld" "$GUESTDIR/glint.ld"
for h in src/guest/include/*.h; do
    inst 644 "$h" "$GUESTDIR/include/$(basename "$h")"
done
for h in guest guest_http abi layout http; do
    inst 644 "include/glint/$h.h" "$GUESTDIR/include/glint/$h.h"
done

# pkg-config.
subst src/host/glint.pc.in >"$work/glint.pc"
inst 644 "$work/glint.pc" "$PKGCONFIGDIR/glint.pc"
subst src/guest/glint-guest.pc.in >"$work/glint-guest.pc"
inst 644 "$work/glint-guest.pc" "$PKGCONFIGDIR/glint-guest.pc"

# Manual pages and documentation.
for m in man/*.[1-8]; do
    sec=${m##*.}
    inst 644 "$m" "$MANDIR/man$sec/$(basename "$m")"
done
inst 644 README.md "$DOCDIR/README.md"
for d in docs/*.md; do
    inst 644 "$d" "$DOCDIR/$(basename "$d")"
done

write_manifest
done_ok=yes
refresh_ldconfig
echo "installed $D$MANIFEST"
echo "glint $VERSION installed under $D$PREFIX ($(grep -vc '^#' "$D$MANIFEST") entries in $MANIFEST)"
