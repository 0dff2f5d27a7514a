#!/bin/bash
# bench-gateway.sh - the gateway section of the benchmark: glintd under wrk.
#
#   scripts/bench-gateway.sh [--quick] [--json FILE]
#
# For each backend this host can use (`glint --backend B info --host`; one
# that cannot be used is reported as skipped, with the reason), starts
# build/bin/glintd on 127.0.0.1 (port 0, read back from its "listening" log
# line) with a generated configuration in a temporary folder, and measures:
#
#   * requests/s, p50 and p99 with `wrk --latency -t2 -c8 -d1s`, each the
#     median of 5 rounds (1 with --quick) that run every route in turn,
#     each run after a 1 s warm-up run of the same that is thrown away, of
#       static    glintd's own /livez (fixed body, same server, no sandbox)
#       pristine  basic.elf Add, typed, GET /pristine?a=3&b=4, prefill 2
#       warm      the same in mode warm
#       fresh     the same in mode fresh (same 8 connections)
#     each also as a ratio to static's requests/s, with the targets judged
#     (pristine >= 0.5x, warm >= 0.8x, fresh >= 0.02x static; pristine p99
#     <= 3x its p50).  A non-2xx response (wrk's count, and glintd's own
#     glintd_requests_total for the route) or a socket error in a measured
#     run makes that figure INVALID, loudly; its targets are then not judged.
#   * the first request after scale to zero: a route with idle_timeout_s 1
#     and prefill 0, N times (10; 3 with --quick): wait until /metrics says
#     the route has 0 live sandboxes, then time one request with curl
#     (time_total: a new connection, the request, the response); p50, max,
#     and glintd_cold_start_seconds' sum and count over those requests.
#   * memory per idle pooled sandbox: the PSS of glintd and of every
#     descendant process (the process backend's sandboxes; found by ppid in
#     /proc/*/stat), summed from /proc/PID/smaps_rollup.  Two more glintds,
#     each with one pristine route (idle_timeout_s 2): prefill 0, read once
#     it listens; prefill 8 = max_idle 8, read once its 8 are idle; per
#     sandbox = (prefill 8 - prefill 0) / 8.  Beside it, in the second one:
#     read again after the route scaled to zero, and once more after one
#     request made the pool refill to 8 idle: (refilled - zero) / 8.
#
# Prints a table per backend and writes every figure as JSON to FILE
# (default build/bench/gateway.json).  Targets are reported, never asserted:
# the exit status is 0 unless the harness itself failed (glintd would not
# start or did not exit 0 on SIGTERM, a tool is missing, no usable backend).
# BUILD (default build) is the build folder (make daemon guests cli).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath -m "${BUILD:-$root/build}")
glintd="$build/bin/glintd"
glint="$build/bin/glint"
guest="$build/guests/basic.elf"

quick=0
json="$build/bench/gateway.json"
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

if [ $quick = 1 ]; then rounds=1 cold_n=3; else rounds=5 cold_n=10; fi
dur=1
threads=2 conns=8 warmup_s=1
mem_n=8

for f in "$glintd" "$glint" "$guest"; do
    [ -x "$f" ] || [ -f "$f" ] || { echo "bench-gateway: $f is missing: run make daemon guests cli" >&2; exit 2; }
done
for t in curl awk; do
    command -v $t >/dev/null 2>&1 || { echo "bench-gateway: $t is not installed" >&2; exit 2; }
done
# Without wrk the requests/s figures are skipped (with the reason), the rest is measured.
no_wrk=""
command -v wrk >/dev/null 2>&1 ||
    no_wrk="wrk is not installed (scripts/bench-deps.sh, run by make bench, installs it)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/glint-bench-gateway.XXXXXX")
gd_pid=""
# Whatever happens: glintd stopped, the temporary folder removed.
# shellcheck disable=SC2317  # (called by the trap)
cleanup() {
    local rc=$?
    if [ -n "$gd_pid" ] && kill -0 "$gd_pid" 2>/dev/null; then
        kill -TERM "$gd_pid" 2>/dev/null || true
        for _ in $(seq 50); do
            case $(proc_state "$gd_pid") in Z|gone) break ;; esac
            sleep 0.1
        done
        kill -KILL "$gd_pid" 2>/dev/null || true
        wait "$gd_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

harness_failed=0
loud() { echo "!! bench-gateway: $*" >&2; echo "!! $*"; }

json_str() {
    local s=$1
    s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/\\n}; s=${s//$'\t'/\\t}; s=${s//$'\r'/}
    printf '"%s"' "$s"
}
# calc EXPR: awk arithmetic on numbers, printed with %.6g.
calc() { awk "BEGIN { printf \"%.6g\", $1 }"; }
# g3 NUMBER: three significant digits, for the table ("null" stays).
g3() { case $1 in null|'') echo "${1:-null}" ;; *) awk -v v="$1" 'BEGIN { printf "%.3g", v }' ;; esac; }
# fmt_us MICROSECONDS: 539us, 4.03ms.
fmt_us() { awk -v v="$1" 'BEGIN { if (v < 1000) printf "%.0fus", v; else printf "%.2fms", v / 1e3 }'; }

# ---------------------------------------------------------------------------
# glintd

# start_glintd CONFIG LOG: starts glintd, sets gd_pid and gd_port.
start_glintd() {
    local cfg=$1 log=$2
    "$glintd" "$cfg" 2>"$log" &
    gd_pid=$!
    gd_port=""
    local deadline=$((SECONDS + 30)) line
    while [ $SECONDS -lt $deadline ]; do
        line=$(grep -m1 '"msg":"listening"' "$log" 2>/dev/null || true)
        if [ -n "$line" ]; then
            gd_port=$(printf '%s\n' "$line" | grep -o '"port":[0-9]*' | head -1 | cut -d: -f2)
            gd_version=$(printf '%s\n' "$line" | grep -o '"version":"[^"]*"' | head -1 | cut -d'"' -f4)
            [ -n "$gd_port" ] && return 0
        fi
        if [ "$(proc_state "$gd_pid")" = Z ] || [ "$(proc_state "$gd_pid")" = gone ]; then
            local rc=0
            wait "$gd_pid" || rc=$?
            gd_pid=""
            echo "bench-gateway: glintd exited with status $rc before listening:" >&2
            sed 's/^/    /' "$log" >&2
            return 1
        fi
        sleep 0.05
    done
    echo "bench-gateway: glintd did not say it was listening within 30 s (killed):" >&2
    sed 's/^/    /' "$log" >&2
    kill -KILL "$gd_pid" 2>/dev/null || true
    wait "$gd_pid" 2>/dev/null || true
    gd_pid=""
    return 1
}

# proc_state PID: its state letter (Z once it has exited), or "gone".
proc_state() {
    local st
    { read -r st <"/proc/$1/stat"; } 2>/dev/null || { echo gone; return; }
    st=${st##*) }
    echo "${st%% *}"
}

# stop_glintd LOG: SIGTERM, wait (SIGKILL after 20 s), check exit status 0.
stop_glintd() {
    local log=$1 pid=$gd_pid rc=0 s
    [ -n "$pid" ] || return 0
    kill -TERM "$pid"
    for _ in $(seq 400); do
        s=$(proc_state "$pid")
        [ "$s" = Z ] || [ "$s" = gone ] && break
        sleep 0.05
    done
    s=$(proc_state "$pid")
    if [ "$s" != Z ] && [ "$s" != gone ]; then
        loud "glintd did not exit within 20 s of SIGTERM: killed"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" || rc=$?
    gd_pid=""
    if [ $rc -ne 0 ]; then
        loud "glintd exited with status $rc on SIGTERM (expected 0); its log:"
        sed 's/^/    /' "$log" >&2
        harness_failed=1
    fi
    return 0
}

url() { echo "http://127.0.0.1:$gd_port$1"; }
metrics() { curl -sS --max-time 5 "$(url /metrics)"; }
# metric_value FILE PREFIX: the sum of every sample whose line starts with PREFIX.
metric_value() { awk -v p="$2" 'index($0, p) == 1 { s += $NF; n++ } END { printf "%.9g", n ? s : 0 }' "$1"; }
# mdelta BEFORE AFTER PREFIX: metric_value in AFTER minus in BEFORE.
mdelta() { awk -v a="$(metric_value "$2" "$3")" -v b="$(metric_value "$1" "$3")" 'BEGIN { printf "%.9g", a - b }'; }
# hist_quantiles BEFORE AFTER METRIC ROUTE: "P50 P99" of the histogram's
# growth between the two files, each as the upper bound of its bucket, in us
# (files of several reads: each bucket's lines are summed).
hist_quantiles() {
    awk -v p="$3_bucket{route=\"$4\"," '
        index($0, p) != 1 { next }
        { match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5) }
        FNR == NR { b[le] += $NF; next }
        !(le in at) { n++; les[n] = le; at[le] = n }
        { c[at[le]] += $NF }
        END { for (i = 1; i <= n; i++) c[i] -= b[les[i]] }
        END {
            if (!n || c[n] <= 0) { print "null null"; exit }
            split("0.5 0.99", q, " ")
            for (k = 1; k <= 2; k++)
                for (i = 1; i <= n; i++)
                    if (c[i] >= q[k] * c[n]) {
                        out = out (k > 1 ? " " : "") (les[i] == "+Inf" ? "null" : sprintf("%.0f", les[i] * 1e6)); break
                    }
            print out
        }' "$1" "$2"
}
# non2xx_total FILE ROUTE: glintd_requests_total of ROUTE with a code outside 2xx.
non2xx_total() {
    awk -v r="glintd_requests_total{route=\"$2\"," \
        'index($0, r) == 1 && $0 !~ /code="2[0-9][0-9]"/ { s += $NF } END { printf "%d", s }' "$1"
}
# sandboxes ROUTE STATE (live|idle), from a fresh /metrics.
sandboxes() {
    metrics | awk -v p="glintd_sandboxes{route=\"$1\"," -v st="state=\"$2\"}" \
        'index($0, p) == 1 && index($0, st) { print $NF; found = 1 } END { if (!found) print "?" }'
}
# wait_sandboxes ROUTE STATE N DEADLINE_S: polls /metrics until the gauge is N.
wait_sandboxes() {
    local end=$(($(date +%s%N) + $4 * 1000000000)) v
    while :; do
        v=$(sandboxes "$1" "$2")
        [ "$v" = "$3" ] && return 0
        [ "$(date +%s%N)" -lt $end ] || { echo "bench-gateway: $1 $2 sandboxes stayed at $v, not $3, for $4 s" >&2; return 1; }
        sleep 0.02
    done
}

# ---------------------------------------------------------------------------
# wrk

# to_us VALUE: wrk's 123.45us / 1.20ms / 2.00s / 1.00m in microseconds.
to_us() {
    awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        m = (u == "us") ? 1 : (u == "ms") ? 1e3 : (u == "s") ? 1e6 : (u == "m") ? 6e7 : (u == "h") ? 3.6e9 : -1
        if (m < 0) print ""; else printf "%.1f", n * m }'
}

# median NUMBERS...: the median (the mean of the middle two for an even count).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (!NR) { print "null"; exit }
    if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The figures are measured in rounds: every route's warm-up first, then
# `rounds` rounds of one `wrk -d${dur}s` run per route in turn, and each
# figure is the median of its rounds.  On this 2-CPU host a wrk run lands in
# one of two modes set by where its connections end up (the static route
# read 113-130k or 195-237k requests/s in ten 1 s runs in a row, the others
# likewise), so one run per route made every ratio a coin toss.
#
# run_round NAME PATH ROUTE: one measured run; adds to the figure's rounds.
declare -A r_rps=() r_p50=() r_p99=() r_req=() r_cpu=() r_non2xx=() r_se=() r_why=() r_rounds=()
run_round() {
    local name=$1 path=$2
    local out="$tmp/wrk-$backend-$name.txt"
    local wrc=0 cpu0 cpu1
    cpu0=$(cpu_ticks "$gd_pid")
    wrk --latency -t$threads -c$conns -d${dur}s "$(url "$path")" >"$out" 2>&1 || wrc=$?
    cpu1=$(cpu_ticks "$gd_pid")
    # Every line wrk prints that we use; absent lines (errors) mean 0.
    local rps req p50 p99 non2xx se
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    req=$(awk '/ requests in / { print $1 }' "$out")
    p50=$(to_us "$(awk '$1 == "50%" { print $2 }' "$out")")
    p99=$(to_us "$(awk '$1 == "99%" { print $2 }' "$out")")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
    se=$(awk '/Socket errors:/ { gsub(",", ""); print $4, $6, $8, $10 }' "$out")
    read -r se_connect se_read se_write se_timeout <<<"${se:-0 0 0 0}"
    local -a prev=(${r_se[$name]:-0 0 0 0})
    r_se[$name]="$((prev[0] + se_connect)) $((prev[1] + se_read)) $((prev[2] + se_write)) $((prev[3] + se_timeout))"
    r_non2xx[$name]=$((${r_non2xx[$name]:-0} + ${non2xx:-0}))
    r_req[$name]=$((${r_req[$name]:-0} + ${req:-0}))
    r_cpu[$name]=$((${r_cpu[$name]:-0} + cpu1 - cpu0))
    r_rps[$name]+=" ${rps:-0}"
    r_p50[$name]+=" ${p50:-0}"
    r_p99[$name]+=" ${p99:-0}"
    r_rounds[$name]+="${r_rounds[$name]:+, }{\"rps\": ${rps:-null}, \"p50_us\": ${p50:-null}, \"p99_us\": ${p99:-null}}"
    if [ $wrc -ne 0 ] || [ -z "$rps" ] || [ -z "$p50" ] || [ -z "$p99" ]; then
        r_why[$name]+="${r_why[$name]:+; }a round's wrk failed (status $wrc) or printed no figures"
        loud "$backend $name ($path): wrk said:"
        sed 's/^/!!     /' "$out"
    fi
}

# finish_fig NAME PATH ROUTE: the figure from its rounds, with glintd's own
# view of them (its histograms over the measured runs: the metrics read
# before and after each, appended to one file each, are summed);
# sets the per-figure arrays and fig_json[NAME].
finish_fig() {
    local name=$1 path=$2 route=$3 before="$tmp/m-before-$1" after="$tmp/m-after-$1"
    w_rps=$(median ${r_rps[$name]})
    w_p50=$(median ${r_p50[$name]})
    w_p99=$(median ${r_p99[$name]})
    w_requests=${r_req[$name]:-0}
    w_non2xx=${r_non2xx[$name]:-0}
    read -r se_connect se_read se_write se_timeout <<<"${r_se[$name]:-0 0 0 0}"
    w_sockerr=$((se_connect + se_read + se_write + se_timeout))
    w_srv_non2xx=0
    w_srv_2xx=""
    w_server=""
    if [ -n "$route" ]; then
        w_srv_non2xx=$(($(non2xx_total "$after" "$route") - $(non2xx_total "$before" "$route")))
        w_srv_2xx=$(awk -v a="$(metric_value "$after" "glintd_requests_total{route=\"$route\",owner=\"bench\",code=\"200\"}")" \
                        -v b="$(metric_value "$before" "glintd_requests_total{route=\"$route\",owner=\"bench\",code=\"200\"}")" \
                        'BEGIN { printf "%d", a - b }')
        # Where the time went: mean microseconds per request of each part,
        # and the acquires that found no sandbox ready.
        local h sum cnt
        for h in request_duration sandbox_acquire guest_call sandbox_release; do
            sum=$(mdelta "$before" "$after" "glintd_${h}_seconds_sum{route=\"$route\",")
            cnt=$(mdelta "$before" "$after" "glintd_${h}_seconds_count{route=\"$route\",")
            w_server+="\"${h}_mean_us\": $(awk -v s="$sum" -v c="$cnt" 'BEGIN { if (c > 0) printf "%.1f", s * 1e6 / c; else printf "null" }'), "
        done
        w_server+="\"cold_starts\": $(mdelta "$before" "$after" "glintd_cold_start_seconds_count{route=\"$route\",")"
        local q50 q99
        read -r q50 q99 <<<"$(hist_quantiles "$before" "$after" glintd_request_duration_seconds "$route")"
        w_server+=", \"request_duration_p50_le_us\": $q50, \"request_duration_p99_le_us\": $q99"
    fi
    # glintd's CPU time (with its sandbox processes) per request wrk counted.
    w_cpu=$(awk -v d="${r_cpu[$name]:-0}" -v hz="$(getconf CLK_TCK)" -v n="$w_requests" \
        'BEGIN { if (n > 0) printf "%.1f", d / hz * 1e6 / n; else printf "null" }')
    w_valid=true
    w_why=${r_why[$name]:-}
    [ -z "$w_why" ] || w_valid=false
    if [ "$w_non2xx" != 0 ] || [ "$w_srv_non2xx" != 0 ]; then
        w_valid=false; w_why="${w_why:+$w_why; }$w_non2xx non-2xx responses seen by wrk, $w_srv_non2xx counted by glintd"
    fi
    if [ $w_sockerr -ne 0 ]; then
        w_valid=false
        w_why="${w_why:+$w_why; }socket errors: connect $se_connect, read $se_read, write $se_write, timeout $se_timeout"
    fi
    [ $w_valid = true ] || loud "$backend $name ($path): INVALID: $w_why"
    rps[$name]=${w_rps:-0}
    fpath[$name]=$path
    cpu[$name]=$w_cpu
    nonx[$name]=$w_non2xx
    sock[$name]=$w_sockerr
    p50[$name]=${w_p50:-0}
    p99[$name]=${w_p99:-0}
    valid[$name]=$w_valid
    fig_json[$name]=$(printf '{"path": %s, "wrk": %s, "rounds": [%s], "requests": %s, "rps": %s, "p50_us": %s, "p99_us": %s, "non_2xx": %s, "server_non_2xx": %s, "server_2xx": %s, "socket_errors": {"connect": %s, "read": %s, "write": %s, "timeout": %s}, "server": {%s}, "glintd_cpu_us_per_request": %s, "valid": %s%s' \
        "$(json_str "$path")" "$(json_str "wrk --latency -t$threads -c$conns -d${dur}s, $rounds rounds, medians")" \
        "${r_rounds[$name]:-}" "$w_requests" "${w_rps:-null}" "${w_p50:-null}" "${w_p99:-null}" \
        "$w_non2xx" "$w_srv_non2xx" "${w_srv_2xx:-null}" "$se_connect" "$se_read" "$se_write" "$se_timeout" \
        "$w_server" "$w_cpu" "$w_valid" "${w_why:+, \"invalid_because\": $(json_str "$w_why")}")
}

# ---------------------------------------------------------------------------
# memory

# pss_tree PID: "KIB NPROC": the PSS of PID and all its descendants.
pss_tree() {
    local -A kids=()
    local f st rest pp p
    for f in /proc/[0-9]*/stat; do
        { read -r st <"$f"; } 2>/dev/null || continue
        rest=${st##*) }                      # after the command name
        read -r _ pp _ <<<"$rest"
        p=${f#/proc/}; p=${p%/stat}
        kids[$pp]="${kids[$pp]:-} $p"
    done
    local -a queue=("$1") all=()
    while [ ${#queue[@]} -gt 0 ]; do
        p=${queue[0]}; queue=("${queue[@]:1}")
        all+=("$p")
        for f in ${kids[$p]:-}; do queue+=("$f"); done
    done
    local total=0 n=0 v
    for p in "${all[@]}"; do
        v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null) || continue
        [ -n "$v" ] || continue
        total=$((total + v)); n=$((n + 1))
    done
    echo "$total $n"
}
# cpu_ticks PID: clock ticks of CPU used by glintd (its utime + stime, and
# cutime + cstime of the children it has reaped) and by its live descendants.
cpu_ticks() {
    local -A kids=()
    local f st rest pp p total=0
    local -a v
    for f in /proc/[0-9]*/stat; do
        { read -r st <"$f"; } 2>/dev/null || continue
        rest=${st##*) }
        read -r -a v <<<"$rest"
        pp=${v[1]}
        p=${f#/proc/}; p=${p%/stat}
        kids[$pp]="${kids[$pp]:-} $p"
        # fields 14-17 of stat are v[11..14] after the command name
        if [ "$p" = "$1" ]; then total=$((total + v[11] + v[12] + v[13] + v[14])); fi
    done
    local -a queue=()
    read -r -a queue <<<"${kids[$1]:-}"
    while [ ${#queue[@]} -gt 0 ]; do
        p=${queue[0]}; queue=("${queue[@]:1}")
        if { read -r st <"/proc/$p/stat"; } 2>/dev/null; then
            rest=${st##*) }; read -r -a v <<<"$rest"
            total=$((total + v[11] + v[12]))
        fi
        for f in ${kids[$p]:-}; do queue+=("$f"); done
    done
    echo "$total"
}
memavailable() { awk '/^MemAvailable:/ { print $2 }' /proc/meminfo; }

# ---------------------------------------------------------------------------
# configuration

write_config() { # FILE BACKEND ROUTES...
    local f=$1 b=$2
    shift 2
    {
        cat <<EOF
listen: "127.0.0.1:0"
backend: $b
server:
  threads: 2
  access_log: false
  shutdown_grace_s: 10
owners:
  bench:
    timeout_ms: 1000
    max_concurrency: 64
    max_idle: 8
    rate: 0
routes:
EOF
        local r path mode prefill idle
        for r in "$@"; do
            read -r path mode prefill idle <<<"$r"
            cat <<EOF
  - path: $path
    methods: [GET]
    owner: bench
    guest: $guest
    function: Add
    bind: typed
    mode: $mode
    prefill: $prefill
    idle_timeout_s: $idle
EOF
        done
    } >"$f"
}

# judge NAME VALUE OP LIMIT DETAIL VALID: prints the line, sets j_json.
judge() {
    local name=$1 value=$2 op=$3 limit=$4 detail=$5 ok=$6 verdict met why=""
    if [ "$ok" != true ]; then
        verdict="NOT JUDGED (figure invalid)"; met=null; why=', "not_judged": "a figure it uses is invalid"'
    elif awk -v v="$value" -v l="$limit" -v op="$op" 'BEGIN { exit !(op == ">=" ? v >= l : v <= l) }'; then
        verdict="MET"; met=true
    else
        verdict="NOT MET"; met=false
    fi
    printf '  %-30s %-7s %-8s (%s)\n' "$name $op $limit:" "$(g3 "$value")" "$verdict" "$detail"
    j_json+="${j_json:+, }$(json_str "$name") : {\"value\": $value, \"target\": $(json_str "$op $limit"), \"met\": $met$why}"
}

# ---------------------------------------------------------------------------

model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
glintd_sha=$(sha256sum "$glintd" | cut -c1-16)
git_rev=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)
date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)
wrk_version=""
[ -n "$no_wrk" ] || wrk_version=$(wrk -v 2>&1 | head -1 || true)  # (wrk -v exits 1)
[ -z "$no_wrk" ] || echo "bench-gateway: SKIPPED requests/s and latency: $no_wrk" >&2
echo "bench-gateway: glintd under wrk on $(nproc) CPU(s) ($model), kernel $(uname -r), $date_utc"
echo "  client and server share this host: wrk's $threads threads compete with glintd's 2 for the CPUs."
[ $quick = 1 ] && echo "  --quick: $rounds round of ${dur} s runs, $cold_n cold starts: smoke figures, not for comparison."
read -r load1 _ </proc/loadavg
if awk -v l="$load1" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
    echo "  NOTE: load average $load1 on $(nproc) CPUs at start: other work on this host will perturb these figures."
fi

declare -A backend_json=()
usable=0
for backend in kvm process; do
    if ! line=$(GLINT_BACKEND='' "$glint" --backend "$backend" info --host 2>&1) || [ -z "$line" ]; then
        why=$(printf '%s\n' "$line" | awk -v b="$backend" '$1 == b { $1 = ""; sub(/^ +/, ""); print; exit }')
        why=${why:-$line}
        echo
        echo "== $backend backend: SKIPPED, not usable on this host: $why"
        backend_json[$backend]="{\"skipped\": $(json_str "$why")}"
        continue
    fi
    usable=$((usable + 1))
    echo
    echo "== $backend backend"
    load_before=$(cut -d' ' -f1-3 /proc/loadavg)

    # --- throughput and latency, and cold start: one glintd
    cfg="$tmp/glintd-$backend.yaml"
    log="$tmp/glintd-$backend.log"
    write_config "$cfg" "$backend" \
        "/pristine pristine 2 60" "/warm warm 0 60" "/fresh fresh 0 60" "/cold pristine 0 1"
    if ! start_glintd "$cfg" "$log"; then
        harness_failed=1
        backend_json[$backend]="{\"error\": $(json_str "glintd did not start: $(tail -n 1 "$log")")}"
        continue
    fi
    version=$gd_version
    for p in /pristine /warm /fresh /cold; do
        body=$(curl -sS --max-time 5 "$(url "$p?a=3&b=4")" 2>&1) || true
        [ "$body" = '{"result":7}' ] || loud "$backend: GET $p?a=3&b=4 answered '$body', not {\"result\":7}"
    done

    declare -A rps=() p50=() p99=() valid=() fig_json=() ratio=() fpath=() nonx=() sock=() cpu=()
    if [ -z "$no_wrk" ]; then
        r_rps=() r_p50=() r_p99=() r_req=() r_cpu=() r_non2xx=() r_se=() r_why=() r_rounds=()
        rm -f "$tmp"/m-before-* "$tmp"/m-after-*
        for _ in $(seq "$rounds"); do
            for m in static pristine warm fresh; do
                p=/livez; [ $m = static ] || p="/$m?a=3&b=4"
                wrk -t$threads -c$conns -d${warmup_s}s "$(url "$p")" >"$tmp/wrk-warmup.txt" 2>&1 ||
                    { loud "$backend $m: wrk warm-up failed:"; cat "$tmp/wrk-warmup.txt" >&2; }
                metrics >>"$tmp/m-before-$m"
                run_round $m "$p"
                metrics >>"$tmp/m-after-$m"
            done
        done
        finish_fig static /livez ""
        for m in pristine warm fresh; do
            finish_fig $m "/$m?a=3&b=4" "/$m"
        done
    fi

    # first request after scale to zero
    before="$tmp/m-cold-before"
    metrics >"$before"
    cold_times=()
    cold_ok=true
    for _ in $(seq "$cold_n"); do
        if ! wait_sandboxes /cold live 0 10; then cold_ok=false; break; fi
        r=$(curl -sS -o /dev/null --max-time 5 -w '%{http_code} %{time_total}' "$(url '/cold?a=3&b=4')") || true
        [ -n "$r" ] || r="000 0"
        [ "${r%% *}" = 200 ] || { loud "$backend: /cold answered ${r%% *}"; cold_ok=false; }
        cold_times+=("${r#* }")
    done
    after="$tmp/m-cold-after"
    metrics >"$after"
    cs_sum=$(awk -v a="$(metric_value "$after" 'glintd_cold_start_seconds_sum{route="/cold"')" \
                 -v b="$(metric_value "$before" 'glintd_cold_start_seconds_sum{route="/cold"')" 'BEGIN { printf "%.6f", a - b }')
    cs_count=$(awk -v a="$(metric_value "$after" 'glintd_cold_start_seconds_count{route="/cold"')" \
                   -v b="$(metric_value "$before" 'glintd_cold_start_seconds_count{route="/cold"')" 'BEGIN { printf "%d", a - b }')
    read -r cold_p50 cold_max < <(printf '%s\n' "${cold_times[@]}" | sort -g |
        awk '{ v[NR] = $1 } END { if (!NR) { print "null null"; exit } i = int((NR + 1) / 2); printf "%.3f %.3f\n", v[i] * 1e3, v[NR] * 1e3 }')
    cs_mean=$( [ "$cs_count" -gt 0 ] && calc "$cs_sum * 1e3 / $cs_count" || echo null)
    [ "$cs_count" = "${#cold_times[@]}" ] ||
        loud "$backend: glintd counted $cs_count cold starts for the ${#cold_times[@]} requests after scale to zero"
    stop_glintd "$log"

    # --- memory per idle pooled sandbox.  Two glintds with one route each:
    # the same pristine route with prefill 0 (no sandbox made after start-up's
    # snapshot), then with prefill 8 = max_idle 8 (8 idle once it listens).
    mem_json='{"error": "not measured"}'
    mem_line="not measured"
    mcfg="$tmp/glintd-$backend-mem0.yaml"
    mlog="$tmp/glintd-$backend-mem0.log"
    write_config "$mcfg" "$backend" "/mem pristine 0 2"
    pss_none=""
    if start_glintd "$mcfg" "$mlog"; then
        if wait_sandboxes /mem live 0 5; then
            sleep 0.2
            read -r pss_none n_none <<<"$(pss_tree "$gd_pid")"
        fi
        stop_glintd "$mlog"
    else
        harness_failed=1
    fi
    mcfg="$tmp/glintd-$backend-mem8.yaml"
    mlog="$tmp/glintd-$backend-mem8.log"
    write_config "$mcfg" "$backend" "/mem pristine $mem_n 2"
    if [ -n "$pss_none" ] && start_glintd "$mcfg" "$mlog"; then
        if wait_sandboxes /mem idle $mem_n 5; then
            sleep 0.2
            read -r pss_start n_start <<<"$(pss_tree "$gd_pid")"
            # The same process after scale to zero, then refilled to 8 idle by
            # the pool's thread after one request (min_idle = prefill).
            if wait_sandboxes /mem live 0 15; then
                sleep 0.2
                read -r pss_zero n_zero <<<"$(pss_tree "$gd_pid")"; ma_zero=$(memavailable)
                curl -sS -o /dev/null --max-time 5 "$(url '/mem?a=3&b=4')" || true
                if wait_sandboxes /mem idle $mem_n 1; then
                    read -r pss_full n_full <<<"$(pss_tree "$gd_pid")"; ma_full=$(memavailable)
                    still=$(sandboxes /mem idle)
                    [ "$still" = $mem_n ] || loud "$backend: /mem had $still idle sandboxes, not $mem_n, once its PSS was read"
                    per=$(calc "($pss_start - $pss_none) / $mem_n")
                    per_refill=$(calc "($pss_full - $pss_zero) / $mem_n")
                    per_ma=$(calc "($ma_zero - $ma_full) / $mem_n")
                    mem_json=$(printf '{"sandboxes": %d, "pss_kib_prefill0": %d, "pss_kib_prefill8": %d, "pss_kib_after_scale_to_zero": %d, "pss_kib_refilled": %d, "processes": {"prefill0": %d, "prefill8": %d, "after_scale_to_zero": %d, "refilled": %d}, "pss_kib_per_sandbox": %s, "pss_kib_per_sandbox_refill": %s, "memavailable_kib_per_sandbox_refill": %s, "how": %s}' \
                        $mem_n "$pss_none" "$pss_start" "$pss_zero" "$pss_full" "$n_none" "$n_start" "$n_zero" "$n_full" "$per" "$per_refill" "$per_ma" \
                        "$(json_str "PSS from /proc/PID/smaps_rollup summed over glintd and its descendant processes (by ppid in /proc/*/stat). pss_kib_per_sandbox: (glintd with the route at prefill 8 = max_idle 8, read once 8 are idle - a glintd with the same route at prefill 0) / 8, both read right after start. _refill: in the prefill-8 glintd, (8 idle again after scale to zero and one request, which one of them served - 0 after scale to zero) / 8. memavailable: /proc/meminfo MemAvailable drop over the refill / 8: includes kernel memory (KVM's per-VM structures), noisy")")
                    mem_line=$(printf '%s KiB PSS: %s KiB with 8 idle, %s KiB with prefill 0; processes %s -> %s\n  over scale to zero and refill in one glintd: %s KiB PSS (%s -> %s KiB); MemAvailable drop over the refill %s KiB (kernel memory included, noisy)' \
                        "$per" "$pss_start" "$pss_none" "$n_none" "$n_start" "$per_refill" "$pss_zero" "$pss_full" "$per_ma")
                fi
            fi
        fi
        stop_glintd "$mlog"
    else
        harness_failed=1
    fi

    # --- table
    j_json=""
    if [ -n "$no_wrk" ]; then
        echo "glintd $version, backend $backend: requests/s and latency SKIPPED: $no_wrk; targets not judged"
        for m in static pristine warm fresh; do fig_json[$m]="{\"skipped\": $(json_str "$no_wrk")}"; done
        j_json="\"not_judged\": $(json_str "$no_wrk")"
    else
        echo "glintd $version, backend $backend; wrk --latency -t$threads -c$conns -d${dur}s, $rounds round$([ "$rounds" = 1 ] || echo s) (one run per route in turn; medians), after a ${warmup_s} s warm-up; glintd threads 2"
        printf '  %-9s %-19s %10s %9s %10s %10s %8s %8s  %s\n' figure path req/s "x static" p50 p99 non-2xx sockerr valid
        for m in static pristine warm fresh; do
            if [ "${rps[static]}" != 0 ]; then ratio[$m]=$(calc "${rps[$m]} / ${rps[static]}"); else ratio[$m]=null; fi
            printf '  %-9s %-19s %10.0f %9s %10s %10s %8s %8s  %s\n' "$m" "${fpath[$m]}" "${rps[$m]}" "$(g3 "${ratio[$m]}")" \
                "$(fmt_us "${p50[$m]}")" "$(fmt_us "${p99[$m]}")" "${nonx[$m]}" "${sock[$m]}" \
                "$([ "${valid[$m]}" = true ] && echo yes || echo 'NO: INVALID')"
            fig_json[$m]+=", \"ratio_to_static\": ${ratio[$m]}}"
        done
        echo "  glintd's own histograms over the measured runs: mean us per request (acquire / guest call / release / whole request);"
        echo "  the request's p50 and p99 as the upper bound of their buckets; acquires that found no sandbox ready;"
        echo "  and glintd's CPU time (all threads, and its sandbox processes) per request:"
        printf '    %-9s (no sandbox); CPU %s us\n' static "${cpu[static]}"
        for m in pristine warm fresh; do
            printf '%s\n' "${fig_json[$m]}" | grep -o '"server": {[^}]*}' | awk -v m="$m" -v c="${cpu[$m]}" '{
                gsub(/[{}",:]/, " "); for (i = 1; i < NF; i++) v[$i] = $(i + 1)
                printf "    %-9s %s / %s / %s / %s; p50 <= %s us, p99 <= %s us; %s cold; CPU %s us\n", m, v["sandbox_acquire_mean_us"],
                    v["guest_call_mean_us"], v["sandbox_release_mean_us"], v["request_duration_mean_us"],
                    v["request_duration_p50_le_us"], v["request_duration_p99_le_us"], v["cold_starts"], c }'
        done
        echo "targets (ratios of requests/s to static's, on this host):"
        ok_p=$([ "${valid[pristine]}" = true ] && [ "${valid[static]}" = true ] && echo true || echo false)
        ok_w=$([ "${valid[warm]}" = true ] && [ "${valid[static]}" = true ] && echo true || echo false)
        ok_f=$([ "${valid[fresh]}" = true ] && [ "${valid[static]}" = true ] && echo true || echo false)
        judge "pristine req/s / static" "${ratio[pristine]}" ">=" 0.5 "$(printf '%.0f / %.0f req/s' "${rps[pristine]}" "${rps[static]}")" "$ok_p"
        judge "warm req/s / static" "${ratio[warm]}" ">=" 0.8 "$(printf '%.0f / %.0f req/s' "${rps[warm]}" "${rps[static]}")" "$ok_w"
        judge "fresh req/s / static" "${ratio[fresh]}" ">=" 0.02 "$(printf '%.0f / %.0f req/s' "${rps[fresh]}" "${rps[static]}")" "$ok_f"
        if [ "${p50[pristine]}" != 0 ]; then tail_ratio=$(calc "${p99[pristine]} / ${p50[pristine]}"); else tail_ratio=null; fi
        judge "pristine p99 / p50" "$tail_ratio" "<=" 3 "$(printf 'p99 %.0f us, p50 %.0f us' "${p99[pristine]}" "${p50[pristine]}")" "${valid[pristine]}"
    fi
    echo "Hyperlight's published KVM figures (hyperlight-bench, Azure D8ads v6, 8 vCPUs; another machine):"
    echo "  host-only 145,784 req/s (1.00, ~ static); reuse 114,382 (0.78, ~ warm);"
    echo "  restore per request 38,726 (0.27, ~ pristine); new sandbox per request 300 (0.002, ~ fresh)"
    echo "first request after scale to zero (/cold, idle_timeout_s 1, prefill 0; $cold_n times, curl time_total over a new connection):"
    printf '  p50 %s ms, max %s ms; glintd_cold_start_seconds: %s s over %s = %s ms each%s\n' \
        "$cold_p50" "$cold_max" "$cs_sum" "$cs_count" "$cs_mean" "$([ $cold_ok = true ] || echo ' (INCOMPLETE)')"
    echo "memory per idle pooled sandbox (PSS of glintd + descendants; a glintd with /mem at prefill 8 = max_idle 8 minus one at prefill 0, / 8):"
    echo "  $mem_line"

    load_after=$(cut -d' ' -f1-3 /proc/loadavg)
    echo "load average (1, 5, 15 min) before this backend's runs: $load_before; after: $load_after ($(nproc) CPUs)"
    backend_json[$backend]=$(printf '{"glintd_version": %s, "loadavg_before": %s, "loadavg_after": %s, "static": %s, "pristine": %s, "warm": %s, "fresh": %s, "targets": {%s}, "cold_start": {"route": "/cold", "idle_timeout_s": 1, "n": %d, "complete": %s, "client_ms": [%s], "client_p50_ms": %s, "client_max_ms": %s, "glintd_cold_start_seconds_sum": %s, "glintd_cold_start_seconds_count": %s, "glintd_cold_start_mean_ms": %s}, "memory_per_idle_sandbox": %s}' \
        "$(json_str "$version")" "$(json_str "$load_before")" "$(json_str "$load_after")" "${fig_json[static]}" "${fig_json[pristine]}" "${fig_json[warm]}" "${fig_json[fresh]}" "$j_json" \
        "$cold_n" "$cold_ok" "$(printf '%s\n' "${cold_times[@]}" | awk '{ printf "%s%.3f", (NR > 1 ? ", " : ""), $1 * 1e3 }')" \
        "$cold_p50" "$cold_max" "$cs_sum" "$cs_count" "$cs_mean" "$mem_json")
    unset rps p50 p99 valid fig_json ratio fpath nonx sock cpu
done

mkdir -p "$(dirname "$json")"
{
    printf '{\n  "date": %s,\n  "quick": %s,\n' "$(json_str "$date_utc")" "$([ $quick = 1 ] && echo true || echo false)"
    printf '  "machine": {"nproc": %d, "model_name": %s, "kernel": %s},\n' "$(nproc)" "$(json_str "$model")" "$(json_str "$(uname -r)")"
    printf '  "setup": {"client": %s, "warmup_s": %d, "duration_s": %d, "rounds": %d, "glintd_threads": 2, "same_host": true, "guest": "basic.elf Add(int32, int32), bind typed, GET ?a=3&b=4", "static": "glintd /livez", "glintd_sha256": %s, "git": %s},\n' \
        "$(json_str "$wrk_version")" $warmup_s $dur $rounds "$(json_str "$glintd_sha")" "$(json_str "$git_rev")"
    printf '  "hyperlight_published": {"source": "hyperlight-bench, Azure D8ads v6, 8 vCPUs, KVM", "host_only_rps": 145784, "reuse_rps": 114382, "reuse_ratio": 0.78, "restore_per_request_rps": 38726, "restore_ratio": 0.27, "new_sandbox_per_request_rps": 300, "new_sandbox_ratio": 0.002},\n'
    printf '  "backends": {\n'
    first=1
    for b in kvm process; do
        [ -n "${backend_json[$b]:-}" ] || continue
        [ $first = 1 ] || printf ',\n'
        printf '    %s: %s' "$(json_str "$b")" "${backend_json[$b]}"
        first=0
    done
    printf '\n  }\n}\n'
} >"$json.tmp"
mv "$json.tmp" "$json"
if command -v python3 >/dev/null 2>&1 && ! python3 -m json.tool "$json" >/dev/null; then
    loud "the JSON written to $json does not parse"
    harness_failed=1
fi
echo
echo "bench-gateway: wrote $json"
if [ $usable -eq 0 ]; then
    echo "bench-gateway: no backend is usable on this host" >&2
    exit 1
fi
exit $harness_failed
