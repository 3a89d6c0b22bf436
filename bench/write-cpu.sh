#!/usr/bin/env bash
# write-cpu.sh - the server's CPU per durable write with authentication, policy and audit on
# (issue 9: creates at 16 connections): a practitioner (session cookie) POSTs Patients with
# bench/wrk/create.lua, then a system client (bearer token, system/Patient.*) PUTs new
# versions of them with bench/wrk/update.lua.  Fresh SQLite database on a real disk, one
# server, wrk on loopback.
#
#   bench/write-cpu.sh [BINARY]      (default build-bench/samverka; build it first, e.g. with
#                                     bench/run.sh or cmake -DCMAKE_BUILD_TYPE=Release)
#
# Prints per test: requests/s, p99, and the server's CPU time per request (utime + stime
# of the server from /proc/PID/stat across the wrk run): on a shared machine the CPU a
# request costs moves far less than its throughput does.
#
# Settings (environment):
#   BENCH_SECONDS=10 BENCH_CONNECTIONS=16 BENCH_WRK_THREADS=2 BENCH_TMPDIR=$TMPDIR
#   BENCH_TESTS="create update"   which tests, in this order (update needs a create first)
#   BENCH_PERF=                   a perf.data path: `perf record` the server during one test
#                                 (build with -g -fno-omit-frame-pointer for stacks)
#   BENCH_PERF_TEST=create        which test perf records
#   BENCH_PERF_ARGS=-g            perf record's options, e.g. "--call-graph dwarf -F 499"
#   BENCH_LOG_LEVEL=info          the server's --log-level (info: a line per request, as run.sh)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$repo/build-bench/samverka}
seconds=${BENCH_SECONDS:-10}
connections=${BENCH_CONNECTIONS:-16}
wrk_threads=${BENCH_WRK_THREADS:-2}
tmp_parent=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
tests=${BENCH_TESTS:-create update}
perf_out=${BENCH_PERF:-}
log_level=${BENCH_LOG_LEVEL:-info}
wrk_dir=$repo/bench/wrk
keep=${BENCH_KEEP:-0}
bench_name=write-cpu
. "$repo/bench/lib.sh"
for tool in wrk curl; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"
done
[ -x "$bin" ] || die "no binary at $bin"

work=$(mktemp -d "$tmp_parent/samverka-write.XXXXXX")
server_log=$work/server.log
db=$work/bench.db
cat >"$work/directory.ndjson" <<'JSON'
{"resourceType":"Organization","id":"bench-hospital","active":true,"name":"Bench Hospital"}
{"resourceType":"PractitionerRole","id":"bench-nurse","active":true,"organization":{"reference":"Organization/bench-hospital"},"code":[{"coding":[{"system":"http://samverka.dk/fhir/CodeSystem/role","code":"nurse"}]}]}
JSON
"$bin" import --db "$db" "$work/directory.ndjson" >"$work/import.out" 2>&1 ||
    { cat "$work/import.out" >&2; die "the import failed"; }
echo 'bench-pw-Secret-1' | "$bin" user add --db "$db" --username nurse --kind practitioner \
    --practitioner-role bench-nurse --password-stdin >/dev/null || die "user add failed"
token=$("$bin" token create --db "$db" --client bench --scope "system/Patient.*" 2>/dev/null) ||
    die "token create failed"

mkfifo "$work/stdout"
"$bin" serve --listen 127.0.0.1:0 --db "$db" --auth on --watchdog 0 --log-level "$log_level" \
    >"$work/stdout" 2>"$work/server.log" &
server_pid=$!
exec 3<"$work/stdout"
read -r -t 60 -u 3 line || die "the server did not start"
[[ $line =~ listening\ on\ http://127\.0\.0\.1:([0-9]+)$ ]] || die "unexpected: '$line'"
url=http://127.0.0.1:${BASH_REMATCH[1]}

login=$(curl -s -i -H 'Content-Type: application/json' \
    -d '{"username":"nurse","password":"bench-pw-Secret-1"}' "$url/auth/login")
cookie=$(sed -n 's/^Set-Cookie: \(samverka_session=[^;]*\).*/\1/p' <<<"$login")
csrf=$(sed -n 's/.*"csrf_token":"\([^"]*\)".*/\1/p' <<<"$login")
[ -n "$cookie" ] && [ -n "$csrf" ] || die "login failed"

server_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }

echo "write-cpu: $("$bin" version), auth on, $connections connections, ${seconds}s each, loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %9s %9s %9s %12s\n' test req/s p99 requests "CPU us/req"
for t in $tests; do
    case $t in
    create) header=$(printf 'Cookie: %s\nX-CSRF-Token: %s' "$cookie" "$csrf") script=create.lua ;;
    update) header="Authorization: Bearer $token" script=update.lua ;;
    *) die "unknown test '$t'" ;;
    esac
    out=$work/$t.txt
    if [ "$t" = "${BENCH_PERF_TEST:-create}" ] && [ -n "$perf_out" ]; then
        perf record ${BENCH_PERF_ARGS:--g} -o "$perf_out" -p "$server_pid" 2>"$work/perf.log" &
        perf_pid=$!
        sleep 0.5
    fi
    t0=$(server_ticks)
    BENCH_WRK_DIR=$wrk_dir BENCH_IDS=$work/ids.txt BENCH_IDS_OUT=$work/ids.txt BENCH_HEADER=$header \
        wrk -t"$wrk_threads" -c"$connections" -d"${seconds}s" --timeout 10s --latency \
        -s "$wrk_dir/$script" "$url/" >"$out" 2>&1 || die "wrk failed: $(cat "$out")"
    t1=$(server_ticks)
    if [ -n "$perf_pid" ]; then
        kill -INT "$perf_pid"
        wait "$perf_pid" || true
        perf_pid=""
    fi
    ! grep -q "Non-2xx\|Socket errors" "$out" || die "$t: errors: $(grep 'Non-2xx\|Socket' "$out")"
    ! grep -q "unexpected=[1-9]" "$out" || die "$t: $(grep 'bench-check' "$out")"
    n=$(awk '/requests in/ {print $1}' "$out")
    printf '%-8s %9.0f %9s %9d %12.0f\n' "$t" "$(awk '/^Requests\/sec/ {print $2}' "$out")" \
        "$(awk '$1 == "99%" {print $2}' "$out")" "$n" \
        "$(awk -v a="$t0" -v b="$t1" -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN {print (b - a) * 1e6 / hz / n}')"
done
kill -TERM "$server_pid"
wait "$server_pid" || die "the server did not exit cleanly"
server_pid=""
sed -n 's/.*event=stopped write_transactions=\([0-9]*\) durable_commits=\([0-9]*\) log_syncs=\([0-9]*\) checkpoints=\([0-9]*\).*/group commit: \1 write transactions in \2 commits, made durable by \3 syncs of the log; \4 checkpoints/p' "$work/server.log"
