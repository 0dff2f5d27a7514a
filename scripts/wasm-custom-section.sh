#!/bin/sh
# wasm-custom-section.sh MODULE.wasm NAME CONTENT_FILE
#
# Appends a custom section NAME holding the bytes of CONTENT_FILE to a
# WebAssembly module, in place.  Used by the Makefile to give the WAT test
# modules their "glint.sig" section (wabt's wat2wasm drops @custom), and
# usable by hand for toolchains that cannot emit custom sections
# (docs/wasm.md, AssemblyScript).
set -eu
[ $# -eq 3 ] || { echo "usage: $0 MODULE.wasm NAME CONTENT_FILE" >&2; exit 2; }
leb() {
    n=$1
    while :; do
        b=$((n & 127)); n=$((n >> 7))
        [ "$n" -ne 0 ] && b=$((b | 128))
        printf "\\$(printf %03o "$b")"
        [ "$n" -eq 0 ] && break
    done
}
name=$2
namelen=$(printf %s "$name" | wc -c)
textlen=$(wc -c < "$3")
payload=$((namelen + textlen + $(leb "$namelen" | wc -c)))
{ printf '\000'; leb "$payload"; leb "$namelen"; printf %s "$name"; cat "$3"; } >> "$1"
