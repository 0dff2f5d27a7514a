#!/bin/bash
# bench-wasm.sh - the WebAssembly section of the benchmark (issue 10;
# docs/benchmarks.md, "WebAssembly").
#
#   scripts/bench-wasm.sh [--quick] [--json FILE]
#
# The kernels of bench/wasm/kernels.c (fib, matmul, crc32, heapsort, sha256,
# nbody, lz77: plain C, no libc; each takes a size and returns a checksum)
# are built three ways from that one source, into $BUILD/bench/wasm/:
#
#   native_guest.elf  a C guest (bench/wasm/native_guest.c, glint-cc -O2): the
#                     reference; native_guest_clang.elf, the same compiled
#                     by clang (glint-cc's flags, linked by glint-cc), is
#                     timed beside it for reference, not judged
#   kernels.wasm      clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry
#                     -Wl,--export-dynamic: one export per kernel
#   wi_NAME.wasm      the same kernel behind run() -> checksum, for wabt's
#                     wasm-interp (which only calls exports without arguments)
#
# and timed, with the same sizes everywhere, by
#
#   glint             bench/wasm/glint_runner.c (linked against libglint.a):
#                     native guest and kernels.wasm side by side on each
#                     backend this host can use (kvm, process), REPS calls
#                     of glint_sandbox_call each on a sandbox made once;
#                     also the empty call (echo) wasm vs C guest, a pooled
#                     pristine sandbox + call wasm vs C guest, and module
#                     validation + translation throughput (glint_image_open_*)
#   V8                node bench/wasm/run_node.mjs: one instance, warm-up
#                     calls, then REPS calls; default tiering, then
#                     --liftoff-only
#   wasm-interp       the whole process per run (best of 2 runs), less an
#                     empty module's run (wi_echo.wasm, the best of 5)
#
# Kernel times are the best of the REPS calls (or runs) and ratios are
# those of the bests (the p50s are in the JSON too): this host is shared,
# and the best is what other work moves least.  Call figures are p50s.
#
# Every runtime's checksum must equal the native guest's.  Prints the table
# and the targets judged (geomean <= 12x native; >= 10x faster than
# wasm-interp; empty call <= 1.2x the C guest's; pooled sandbox + call
# <= 1.5x the C guest's), writes them as JSON to FILE (default
# $BUILD/bench/wasm.json) and as Markdown to $BUILD/bench/NAME.md (NAME:
# FILE's name without .json).
# Targets are reported, never asserted: the exit status is 0 unless the
# harness failed (a build, a runtime that errs, a checksum that differs).
# A runtime that is not installed (node, wasm-interp) is skipped with the
# reason; without clang for wasm32 and wasm-ld the whole section is.
# About 1 minute here; --quick (smaller sizes, fewer repetitions, targets
# not judged) about 15 s.  BUILD (default build) is the build folder
# (make lib guest: libglint.a, glint-cc).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath -m "${BUILD:-$root/build}")
src="$root/bench/wasm"
out="$build/bench/wasm"

quick=0
json="$build/bench/wasm.json"
usage() { echo "usage: $0 [--quick] [--json FILE]" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1 ;;
    --json) [ $# -ge 2 ] || usage; json=$2; shift ;;
    --json=*) json=${1#--json=} ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) usage ;;
    esac
    shift
done
json=$(realpath -m "$json")
md="$build/bench/$(basename "${json%.json}").md"
mkdir -p "$out" "$(dirname "$json")" "$(dirname "$md")"

# Time limits, so that the whole stays bounded on a loaded host: t_runner
# for glint_runner, t_node for each node run, t_wi for all of wasm-interp
# (each kernel's runs start only while within it).
# name:size:result type.  The same sizes for every runtime (the checksums
# are compared); chosen so that the native guest takes >= ~4 ms per call
# (a glint call costs ~2 to ~70 us), and wasm-interp ~1 s per kernel.
if [ $quick = 1 ]; then
    kernels="fib:29:i32 matmul:120:f64 crc32:50:i32 heapsort:30000:i32 sha256:512:i32 nbody:50000:f64 lz77:262144:i32"
    reps=3 warm=2 wi_runs=1 wi_base_runs=3 n_empty=2000 n_pool=500 open_ms=200
    t_runner=20 t_node=6 t_wi=8
else
    kernels="fib:32:i32 matmul:224:f64 crc32:200:i32 heapsort:100000:i32 sha256:1536:i32 nbody:100000:f64 lz77:1048576:i32"
    reps=7 warm=3 wi_runs=2 wi_base_runs=5 n_empty=20000 n_pool=5000 open_ms=1000
    t_runner=75 t_node=25 t_wi=45
fi

skip_all() {
    echo "bench-wasm: skipped: $1" >&2
    printf '{\n  "skipped": "%s"\n}\n' "$(printf '%s' "$1" | sed 's/["\\]/\\&/g')" >"$json"
    exit 0
}

for f in "$build/lib/libglint.a" "$build/bin/glint-cc"; do
    [ -f "$f" ] || { echo "bench-wasm: $f is missing: run make lib guest" >&2; exit 2; }
done
wasm_cc=${WASM_CLANG:-clang}
command -v "$wasm_cc" >/dev/null 2>&1 || skip_all "$wasm_cc is not installed (scripts/deps.sh installs clang and lld)"
"$wasm_cc" --target=wasm32 -print-targets >/dev/null 2>&1 || skip_all "$wasm_cc cannot target wasm32"
command -v wasm-ld >/dev/null 2>&1 || skip_all "wasm-ld is not installed (Debian: lld)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/glint-bench-wasm.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# ---- build ----------------------------------------------------------------
warn=(-Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes -Wvla -Wpointer-arith -Wundef)
echo "bench-wasm: building into $out" >&2
"$build/bin/glint-cc" -O2 -fno-math-errno "${warn[@]}" -o "$out/native_guest.elf" "$src/native_guest.c"
wasm_flags=(--target=wasm32 -O2 -nostdlib "${warn[@]}" "-Wl,--no-entry")
"$wasm_cc" "${wasm_flags[@]}" -Wl,--export-dynamic -o "$out/kernels.wasm" "$src/kernels.c"
${CC:-cc} -std=gnu17 -O2 -g "${warn[@]}" -I"$root/include" -o "$out/glint_runner" "$src/glint_runner.c" \
    "$build/lib/libglint.a" -lpthread -lm
# For reference only (not judged): the same C guest compiled by clang, the
# compiler of kernels.wasm, with glint-cc's compile flags (but
# -fno-toplevel-reorder, which clang lacks) and linked by glint-cc, to tell
# the engine's cost from gcc's and clang's different code.
native_clang=()
if "$wasm_cc" -O2 -fno-math-errno "${warn[@]}" -ffreestanding -nostdinc \
    -isystem "$("$build/bin/glint-cc" --print-libc-includedir)" -isystem "$("$wasm_cc" -print-file-name=include)" \
    -I"$("$build/bin/glint-cc" --print-includedir)" -fno-pic -fno-pie -fno-plt -fstack-protector-strong \
    -fstack-clash-protection -fno-asynchronous-unwind-tables -fno-unwind-tables -fcf-protection=none \
    -ffunction-sections -fdata-sections -c -o "$tmp/native_clang.o" "$src/native_guest.c" 2>"$tmp/clang.err" &&
    "$build/bin/glint-cc" -O2 -o "$out/native_guest_clang.elf" "$tmp/native_clang.o" 2>>"$tmp/clang.err"; then
    native_clang=(--native-clang "$out/native_guest_clang.elf")
else
    echo "bench-wasm: the clang-built native guest (for reference) did not build:" >&2
    cat "$tmp/clang.err" >&2
fi

ext="$tmp/ext.tsv"
: >"$ext"

# ---- V8 (node) --------------------------------------------------------------
node_specs=()
for k in $kernels; do
    IFS=: read -r name size type <<<"$k"
    node_specs+=("$name:$size:$reps:$warm:$type")
done
if command -v node >/dev/null 2>&1; then
    for mode in default liftoff; do
        rt=v8 flags=()
        [ $mode = liftoff ] && rt=v8_liftoff flags=(--liftoff-only)
        echo "bench-wasm: node ${flags[*]:-(default tiering)}" >&2
        nrc=0
        timeout "$t_node" node "${flags[@]}" "$src/run_node.mjs" "$out/kernels.wasm" "${node_specs[@]}" \
            >"$tmp/node.out" 2>"$tmp/node.err" || nrc=$?
        if [ $nrc = 0 ]; then
            sed "s/^/$rt\t/" "$tmp/node.out" >>"$ext"
        elif [ $nrc = 124 ]; then # a busy host: skipped, not a failure
            echo "bench-wasm: node ${flags[*]} ran past its time limit ($t_node s): skipped" >&2
            printf 'skip\t%s\tran past its time limit (%s s): the host is too busy\n' "$rt" "$t_node" >>"$ext"
        else
            echo "bench-wasm: node ${flags[*]} failed:" >&2
            cat "$tmp/node.err" >&2
            printf 'skip\t%s\tnode %s failed: %s\n' "$rt" "${flags[*]}" \
                "$(head -c 300 "$tmp/node.err" | tr '\n\t' '  ')" >>"$ext"
            node_failed=1
        fi
    done
else
    printf 'skip\tv8\tnode is not installed (scripts/bench-deps.sh installs nodejs)\n' >>"$ext"
    printf 'skip\tv8_liftoff\tnode is not installed (scripts/bench-deps.sh installs nodejs)\n' >>"$ext"
fi

# ---- wabt's wasm-interp -----------------------------------------------------
# Prints "run() => i32:3202476124" (unsigned) or "run() => i64:N" (the
# bits of an f64 result): made comparable with the native checksums.
wi_sum() {
    local v=${1##*=> }
    case $v in
    i32:*) v=${v#i32:}; [ "$v" -gt 2147483647 ] && v=$((v - 4294967296)); echo "$v" ;;
    i64:*) printf '0x%016x\n' "${v#i64:}" ;;
    *) echo "?$v" ;;
    esac
}
# Median of the numbers on stdin.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
# Runs wasm-interp on $1 once: prints "SECONDS OUTPUT".
wi_run() {
    local t0 t1 o
    t0=$EPOCHREALTIME
    o=$(timeout "$t_wi" wasm-interp --run-all-exports "$1" 2>&1) || { echo "FAIL ${o:-timed out}"; return 0; }
    t1=$EPOCHREALTIME
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }') $o"
}
wi_failed="" wi_late=""
if command -v wasm-interp >/dev/null 2>&1; then
    echo "bench-wasm: wasm-interp ($(wasm-interp --version 2>/dev/null || echo '?'))" >&2
    "$wasm_cc" "${wasm_flags[@]}" -DWI_KERNEL=echo -DWI_N=0 -o "$out/wi_echo.wasm" "$src/kernels.c"
    for _ in $(seq "$wi_base_runs"); do wi_run "$out/wi_echo.wasm"; done >"$tmp/wi_base"
    if grep -q '^FAIL' "$tmp/wi_base"; then
        wi_failed="the empty module failed: $(grep -m1 '^FAIL' "$tmp/wi_base")"
    fi
    base=$(cut -d' ' -f1 "$tmp/wi_base" | median)
    base_min=$(cut -d' ' -f1 "$tmp/wi_base" | sort -g | head -1)
    : >"$tmp/wi.tsv"
    wi_deadline=$((SECONDS + t_wi))
    for k in $kernels; do
        [ -z "$wi_failed" ] || break
        IFS=: read -r name size type <<<"$k"
        if [ "$SECONDS" -ge "$wi_deadline" ]; then # a busy host: skipped, not a failure
            wi_late="ran past its time limit ($t_wi s) before $name: the host is too busy"
            break
        fi
        f64=()
        [ "$type" = f64 ] && f64=(-DWI_F64)
        "$wasm_cc" "${wasm_flags[@]}" -DWI_KERNEL="$name" -DWI_N="$size" "${f64[@]}" -o "$out/wi_$name.wasm" \
            "$src/kernels.c"
        for _ in $(seq "$wi_runs"); do wi_run "$out/wi_$name.wasm"; done >"$tmp/wi_$name"
        if grep -q '^FAIL' "$tmp/wi_$name"; then
            wi_failed="$name: $(grep -m1 '^FAIL' "$tmp/wi_$name" | head -c 300)"
            break
        fi
        t=$(cut -d' ' -f1 "$tmp/wi_$name" | median)
        tmin=$(cut -d' ' -f1 "$tmp/wi_$name" | sort -g | head -1)
        sum=$(wi_sum "$(head -1 "$tmp/wi_$name" | cut -d' ' -f2-)")
        awk -v n="$name" -v s="$size" -v t="$t" -v m="$tmin" -v b="$base" -v bm="$base_min" -v c="$sum" \
            'BEGIN { printf "wasm_interp\t%s\t%s\t%.6f\t%.6f\t%s\n", n, s, t - b, m - bm, c }' >>"$tmp/wi.tsv"
        printf '  %-9s wasm-interp best %8.3f s (less the empty run'"'"'s %.3f s)  %s\n' "$name" "$tmin" "$base_min" "$sum" >&2
    done
    if [ -n "$wi_failed" ]; then
        echo "bench-wasm: wasm-interp failed: $wi_failed" >&2
        printf 'skip\twasm_interp\tfailed: %s\n' "$(printf '%s' "$wi_failed" | tr '\n\t' '  ')" >>"$ext"
    elif [ -n "$wi_late" ]; then
        echo "bench-wasm: wasm-interp $wi_late: skipped" >&2
        printf 'skip\twasm_interp\t%s\n' "$wi_late" >>"$ext"
    else
        cat "$tmp/wi.tsv" >>"$ext"
    fi
else
    printf 'skip\twasm_interp\twasm-interp is not installed (Debian: wabt)\n' >>"$ext"
fi

# ---- glint, and the report --------------------------------------------------
runner_args=()
for k in $kernels; do
    IFS=: read -r name size type <<<"$k"
    runner_args+=(--kernel "$name:$size:$reps:$type")
done
# Named relative to the source tree where they are in it (the JSON is kept).
cd "$root"
runner_args+=(--open "${out#"$root"/}/kernels.wasm")
bigger="$build/examples/wasm/wasi/hello.wasm"
if [ -f "$bigger" ]; then
    runner_args+=(--open "${bigger#"$root"/}")
else
    echo "bench-wasm: $bigger is missing (make wasm-modules, with wasi-libc): throughput on kernels.wasm only" >&2
fi
[ $quick = 1 ] && runner_args+=(--quick)
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo '?')
runner_args+=(--meta "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" --meta "cpu=$cpu" --meta "cpus=$(nproc)"
    --meta "kernel=$(uname -r)" --meta "node=$(node --version 2>/dev/null || echo none)"
    --meta "wasm_interp=$(wasm-interp --version 2>/dev/null || echo none)"
    --meta "wasm_cc=$("$wasm_cc" --version | head -1)"
    --meta "native_cc=$(${GLINT_GUEST_GCC:-gcc} --version | head -1) (glint-cc -O2 -fno-math-errno)"
    --meta "sizes=$kernels" --meta "reps=$reps glint and V8 calls (after $warm warm-up calls in V8, 1 in glint), $wi_runs wasm-interp runs")

echo "bench-wasm: glint" >&2
rc=0
timeout "$t_runner" "$out/glint_runner" --native "$out/native_guest.elf" --wasm "$out/kernels.wasm" "${native_clang[@]}" \
    "${runner_args[@]}" --empty "$n_empty" --pool "$n_pool" --open-ms "$open_ms" --ext "$ext" \
    --json "$json" --markdown "$md" || rc=$?
echo
echo "bench-wasm: wrote $json and $md" >&2
if [ $rc -ne 0 ]; then
    echo "bench-wasm: FAILED (glint_runner exit status $rc: a measurement failed or a checksum differs, see above)" >&2
    exit 1
fi
if [ -n "$wi_failed" ] || [ -n "${node_failed:-}" ]; then
    echo "bench-wasm: FAILED (a runtime failed, see above)" >&2
    exit 1
fi
