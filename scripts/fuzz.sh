#!/bin/sh
# scripts/fuzz.sh SECONDS - build the libFuzzer targets in fuzz/ and run each.
#
# For every target fuzz/fuzz_NAME.c:
#   1. build it with clang -fsanitize=fuzzer,address,undefined into
#      $BUILD/fuzz/ (the library sources compiled directly, instrumented);
#   2. run it once over each input in fuzz/regressions/NAME/ (inputs that
#      crashed it once: they must pass now);
#   3. fuzz it for SECONDS seconds from a scratch copy of fuzz/corpus/NAME/
#      (the repository's corpus is never modified), and print executions
#      and coverage (cov = edges, ft = features) from libFuzzer's stats.
# Crashing inputs are saved in $BUILD/fuzz/crashes/NAME/; the script exits
# non-zero if any target crashed, leaked, hung or failed a regression.
#
# Environment: BUILD (default build; `make all` must have built its guest
# tools), CLANG (default clang), FUZZ_TARGETS (default: all).
# Targets that run guests (frames, sandbox) use the default backend (KVM if
# usable, else the process backend; GLINT_BACKEND chooses), and are skipped,
# with a message, only where no backend is usable.
set -eu

SECS=${1:-60}
case $SECS in *[!0-9]* | '') echo "usage: scripts/fuzz.sh SECONDS" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
mkdir -p "$BUILD"
B=$(cd "$BUILD" && pwd)
OUT=$B/fuzz
CLANG=${CLANG:-clang}
TARGETS=${FUZZ_TARGETS:-elf frames snapshot sandbox glintd wasm wasm_exec}

command -v "$CLANG" >/dev/null || { echo "fuzz: $CLANG not found (apt-get install clang)" >&2; exit 1; }
[ -x "$B/bin/glint-cc" ] || make --no-print-directory BUILD="$BUILD" guest >/dev/null

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
BASE="-std=c17 -O1 -g $SAN -D_GNU_SOURCE -Iinclude -Isrc/host"
# The library is gcc-clean with -Werror (the Makefile); clang has other
# opinions (GNU flexible-array extensions in kvm.c), so only the targets
# get -Werror here.
LIB_CFLAGS="$BASE -w"
CFLAGS="$BASE -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wvla -Wundef"

# --- build -----------------------------------------------------------------
mkdir -p "$OUT/obj"
echo "fuzz: building into $OUT"
pids=""
for f in src/host/*.c; do
    $CLANG $LIB_CFLAGS -fsanitize=fuzzer-no-link -c -o "$OUT/obj/$(basename "$f" .c).o" "$f" &
    pids="$pids $!"
done
# The WebAssembly engine and image builder (the Makefile links them into one
# renamed object; no program here has wasm_* symbols of its own to clash).
for f in src/wasm/*.c src/host/wasm/*.c; do
    $CLANG $LIB_CFLAGS -std=gnu17 -fsanitize=fuzzer-no-link -c -o "$OUT/obj/wasm_$(basename "$f" .c).o" "$f" &
    pids="$pids $!"
done
for p in $pids; do wait "$p" || { echo "fuzz: building the library failed" >&2; exit 1; }; done
# The stubs are data copied into the guest: assembled as the Makefile does.
${CC:-cc} -D_GNU_SOURCE -Iinclude -Isrc/host -c -o "$OUT/obj/x86_64_stubs.o" src/host/x86_64_stubs.S
# The process backend's stub program, built by the Makefile, embedded as it does.
make --no-print-directory BUILD="$BUILD" "$B/obj/stub/glint-stub" >/dev/null
${CC:-cc} -D_GNU_SOURCE -Iinclude -Isrc/host -DGLINT_STUB_PATH="\"$B/obj/stub/glint-stub\"" \
    -c -o "$OUT/obj/stub_blob.o" src/host/stub_blob.S
# The WebAssembly runtime guest, built by the Makefile, embedded as it does.
make --no-print-directory BUILD="$BUILD" "$B/lib/glint/wasm-runtime.elf" >/dev/null
${CC:-cc} -D_GNU_SOURCE -Iinclude -Isrc/host -DGLINT_WASM_RUNTIME_PATH="\"$B/lib/glint/wasm-runtime.elf\"" \
    -c -o "$OUT/obj/wasm_blob.o" src/host/wasm_blob.S
rm -f "$OUT/libglint-fuzz.a"
ar rcs "$OUT/libglint-fuzz.a" "$OUT"/obj/*.o
"$B/bin/glint-cc" -O2 -o "$OUT/fuzz_guest.elf" fuzz/guests/fuzz_guest.c
for t in $TARGETS; do
    extra_src=""
    # glintd's parsers: its configuration (libyaml) and the guest's HTTP response.
    [ $t = glintd ] && extra_src="src/glintd/config.c src/glintd/wire.c -lyaml"
    # shellcheck disable=SC2086
    $CLANG $CFLAGS -DGLINT_FUZZ_GUEST="\"$OUT/fuzz_guest.elf\"" -fsanitize=fuzzer -o "$OUT/fuzz_$t" "fuzz/fuzz_$t.c" \
        $extra_src "$OUT/libglint-fuzz.a" -lpthread
done

# --- run -------------------------------------------------------------------
usable=1
"$B/bin/glint" info --host >/dev/null 2>&1 || usable=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
summary=""
for t in $TARGETS; do
    bin=$OUT/fuzz_$t
    if [ $usable = 0 ] && { [ $t = frames ] || [ $t = sandbox ]; }; then
        echo "fuzz: SKIP fuzz_$t: no backend is usable here ($B/bin/glint info --host)"
        summary="$summary
  fuzz_$t: skipped (no usable backend)"
        continue
    fi
    mkdir -p "$OUT/crashes/$t"
    # Regression inputs: each runs once and must not crash.
    regs=$(find "fuzz/regressions/$t" -type f ! -name '*.md' 2>/dev/null | sort || true)
    nreg=0
    if [ -n "$regs" ]; then
        nreg=$(echo "$regs" | wc -l)
        # shellcheck disable=SC2086
        if ! "$bin" -timeout=20 -close_fd_mask=1 $regs >"$OUT/regress-$t.log" 2>&1; then
            echo "fuzz: FAIL fuzz_$t: a regression input crashes again (see $OUT/regress-$t.log)"
            tail -30 "$OUT/regress-$t.log"
            failed=1
        fi
    fi
    # Fuzzing from a scratch copy of the seed corpus.
    work=$OUT/work/$t
    rm -rf "$work" && mkdir -p "$work"
    [ -d "fuzz/corpus/$t" ] && cp -r "fuzz/corpus/$t/." "$work/"
    # Execution starts from the decoder's seeds and the test modules that
    # the build made (WAT kernels and examples), whatever is there.
    if [ $t = wasm_exec ]; then
        cp -r fuzz/corpus/wasm/. "$work/"
        for w in "$B"/wasm/*.wasm; do [ -s "$w" ] && cp "$w" "$work/"; done
    fi
    # The sandbox targets: inputs up to 8 KiB, and stdout closed (the
    # guest's print output is noise).
    extra=""
    [ $t = sandbox ] || [ $t = frames ] && extra="-max_len=8192 -close_fd_mask=1"
    rc=0
    "$bin" -max_total_time="$SECS" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="$OUT/crashes/$t/" $extra "$work" >"$OUT/fuzz-$t.log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/fuzz-$t.log" | tail -1)
    line=$(grep -aE '^#[0-9]+.*cov: ' "$OUT/fuzz-$t.log" | tail -1)
    cov=$(echo "$line" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$line" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$line" | sed -n 's/.*corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p')
    res="ok"
    if [ $rc -ne 0 ]; then
        res="CRASH (exit $rc; inputs in $OUT/crashes/$t/, log $OUT/fuzz-$t.log)"
        grep -aE 'ERROR: |SUMMARY: |runtime error|Test unit written' "$OUT/fuzz-$t.log" | head -8
        failed=1
    fi
    echo "fuzz: fuzz_$t: ${SECS}s, ${execs:-?} executions, cov ${cov:-?} ft ${ft:-?}, corpus ${corp:-?}, $nreg regression inputs: $res"
    summary="$summary
  fuzz_$t: ${execs:-?} execs in ${SECS}s, cov ${cov:-?}, ft ${ft:-?}: $res"
done
echo "fuzz: summary:$summary"
exit $failed
