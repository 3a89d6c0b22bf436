#!/usr/bin/env bash
# pg.sh - bench/run.sh's creates, reads and search on PostgreSQL, with one samverka
# process and then with two on the same database (`make bench-pg`).  The same wrk
# scripts and load (BENCH_CONNECTIONS over BENCH_WRK_THREADS threads); with two
# processes wrk's threads take the processes in turn (bench/wrk/common.lua,
# BENCH_PORTS), so each process gets half of the connections.
#
#   bench/pg.sh                      # a scratch cluster (tools/pg-scratch.sh) for the run
#   BENCH_PG=postgres://u@h:p/db bench/pg.sh   # an existing cluster: a database is
#                                              # created in it per run and dropped after
#
# Per test and number of processes: requests/s, p50/p99 latency, and CPU time per
# request of the samverka processes and (scratch cluster only) of PostgreSQL's
# processes; `other` is the CPU everything else used meanwhile (% of one CPU).  The
# scratch cluster runs with fsync and synchronous_commit off (tools/pg-scratch.sh):
# its creates are not durable, unlike run.sh's SQLite creates.
#
# Settings (environment): BENCH_SECONDS (10), BENCH_CONNECTIONS (16), BENCH_WRK_THREADS
# (2; even, so that two processes get the same share), BENCH_SERVER_THREADS, BENCH_BUILD
# (build-bench), BENCH_OUT (bench/out: pg-*.txt and pg-summary.txt), BENCH_PROCESSES
# ("1 2": the runs to make).  Fails when any request errs, as run.sh does.  Leaves no
# process behind: the EXIT trap stops wrk, the servers and the scratch cluster.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
seconds=${BENCH_SECONDS:-10}
connections=${BENCH_CONNECTIONS:-16}
wrk_threads=${BENCH_WRK_THREADS:-2}
server_threads=${BENCH_SERVER_THREADS:-}
build_dir=${BENCH_BUILD:-$repo/build-bench}
out_dir=${BENCH_OUT:-$repo/bench/out}
runs=${BENCH_PROCESSES:-1 2}
wrk_dir=$repo/bench/wrk
admin_uri=${BENCH_PG:-}
bench_name=bench-pg
. "$repo/bench/lib.sh"
[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "BENCH_SECONDS must be a whole number, not '$seconds'"
[[ $connections =~ ^[1-9][0-9]*$ ]] || die "BENCH_CONNECTIONS must be a number, not '$connections'"
[[ $wrk_threads =~ ^[1-6]$ ]] || die "BENCH_WRK_THREADS must be 1..6, not '$wrk_threads'"
for n in $runs; do [[ $n =~ ^[12]$ ]] || die "BENCH_PROCESSES holds 1 and/or 2, not '$n'"; done
for tool in wrk psql curl; do command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"; done

# pids: the samverka processes (the trap stops them)
pgdir=""
db_uri=""
# After the servers: the run's database, and the scratch cluster.
bench_cleanup_more() {
    [ -z "$db_uri" ] || psql -X -q -d "$admin_uri" -c "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null 2>&1 || true
    [ -z "$pgdir" ] || "$repo/tools/pg-scratch.sh" stop "$pgdir"
}

bench_build_release "$build_dir"
mkdir -p "$out_dir"
work=$(mktemp -d "${TMPDIR:-/tmp}/samverka-bench-pg.XXXXXX")
if [ -z "$admin_uri" ]; then
    # its own directory: as root the cluster's user (postgres) must reach it
    pgdir=$(mktemp -d "${TMPDIR:-/tmp}/samverka-bench-pg-cluster.XXXXXX")
    admin_uri=$("$repo/tools/pg-scratch.sh" start "$pgdir") || die "no scratch cluster"
fi
postmaster=""
[ -z "$pgdir" ] || postmaster=$(head -n 1 "$pgdir/data/postmaster.pid")
ncpu=$(nproc)
hz=$(getconf CLK_TCK)

# utime + stime (+ reaped children's with a second argument) of process $1, 0 when gone.
jiffies() {
    local stat fields
    read -r stat 2>/dev/null <"/proc/$1/stat" || { echo 0; return; }
    read -r -a fields <<<"${stat##*) }"
    if [ -n "${2:-}" ]; then echo $((fields[11] + fields[12] + fields[13] + fields[14]))
    else echo $((fields[11] + fields[12])); fi
}
# "samverka postgres busy total" jiffies now.
sample() {
    local s=0 g=0 p
    for p in "${pids[@]}"; do s=$((s + $(jiffies "$p"))); done
    if [ -n "$postmaster" ]; then
        g=$(jiffies "$postmaster" children)
        for p in $(pgrep -P "$postmaster"); do g=$((g + $(jiffies "$p"))); done
    fi
    read -r busy total < <(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9; exit}' /proc/stat)
    echo "$s $g $busy $total $(jiffies $$ children)"
}

to_ms() {
    awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        printf "%.2f", n }'
}

start_servers() { # count
    local i line t0
    pids=()
    ports=""
    for i in $(seq "$1"); do
        local args=(serve --listen 127.0.0.1:0 --db "$db_uri" --watchdog 0)
        [ -z "$server_threads" ] || args+=(--threads "$server_threads")
        # The previous run's file goes first: the background job truncates it only when it
        # starts, and the wait below could read the old server's port before that.
        rm -f "$work/server$i.out"
        "$bin" "${args[@]}" >"$work/server$i.out" 2>"$work/server$i.log" &
        pids+=($!)
        t0=$SECONDS
        until line=$(grep -m1 '^samverka listening on' "$work/server$i.out" 2>/dev/null); do
            [ $((SECONDS - t0)) -lt 30 ] || die "server $i was not listening after 30 s"
            kill -0 "${pids[-1]}" 2>/dev/null || die "server $i exited: $(tail -n 3 "$work/server$i.log")"
            sleep 0.05
        done
        ports="$ports ${line##*:}"
    done
    ports=${ports# }
}

# Killed, not stopped: at SIGTERM a server writes its queue of read-audit records
# first, and on PostgreSQL that queue outgrows the flush under this load (each record
# is several round trips, in one writer at a time): stopping took more than 6 minutes
# after a 5-second read test on the loaded development machine.  What the flush had
# written when the tests ended is reported instead (audit_backlog).
stop_servers() {
    local p
    audit_written=$(psql -X -A -t -d "$db_uri" -c 'SELECT records FROM audit_head')
    for p in "${pids[@]}"; do
        kill -0 "$p" 2>/dev/null || die "a server died during the run"
        kill -KILL "$p"
        wait "$p" 2>/dev/null || true
    done
    pids=()
}

declare -A result
declare -a stored audit_backlog
run_wrk() { # name, processes, script
    local name=$1 n=$2 out=$out_dir/pg-$1-$2.txt rc=0 line s0 s1
    echo "== $name, $n process(es) on ports $ports ($connections connections, ${seconds} s)"
    s0=$(sample)
    BENCH_WRK_DIR=$wrk_dir BENCH_IDS=$work/ids.txt BENCH_PORTS=$ports \
        wrk -t"$wrk_threads" -c"$connections" -d"${seconds}s" --timeout 10s --latency \
        -s "$wrk_dir/$3" "http://127.0.0.1:${ports%% *}/" >"$out" 2>&1 &
    wrk_pid=$!
    wait "$wrk_pid" || rc=$?
    wrk_pid=""
    s1=$(sample)
    sed 's/^/    /' "$out"
    [ "$rc" -eq 0 ] || die "$name: wrk exited with status $rc"
    ! line=$(grep -E '^ *(Non-2xx or 3xx responses|Socket errors):' "$out") || die "$name: $line"
    ! grep -qiE 'error|unable|panic' "$out" || die "$name: wrk reported an error"
    ! line=$(grep -E '^bench-check: .*unexpected=[1-9]' "$out") || die "$name: $line"
    local requests rps p50 p99
    requests=$(awk '/ requests in / {print $1; exit}' "$out")
    rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
    [ "${requests:-0}" -gt 0 ] || die "$name: no request completed"
    result[$name-$n]=$(awk -v a="$s0" -v b="$s1" -v req="$requests" -v hz="$hz" -v n="$ncpu" \
        -v rps="$rps" -v p50="$p50" -v p99="$p99" 'BEGIN {
            split(a, x, " "); split(b, y, " ")
            sv = y[1] - x[1]; pg = y[2] - x[2]; busy = y[3] - x[3]; total = y[4] - x[4]; me = y[5] - x[5]
            if (total <= 0) total = 1
            other = busy - sv - pg - me; if (other < 0) other = 0
            printf "%s %s %s %s %.0f %s %.0f\n", rps, p50, p99, req, sv / hz / req * 1e6,
                (pg > 0 ? sprintf("%.0f", pg / hz / req * 1e6) : "-"), other / total * n * 100 }')
}

machine="date        $(date -u +%Y-%m-%dT%H:%M:%SZ)
samverka    $("$bin" version) at $(git -C "$repo" rev-parse --short HEAD), Release
cpu         $ncpu x $(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
postgresql  $(psql -X -A -t -d "$admin_uri" -c 'SHOW server_version'), $(if [ -n "$pgdir" ]; then echo "scratch cluster (fsync off, synchronous_commit off)"; else echo "the cluster of BENCH_PG"; fi)
loadavg     $(cut -d' ' -f1-3 /proc/loadavg) before the run (1, 5, 15 min)
load        wrk on the same machine, loopback; $wrk_threads threads, $connections connections, ${seconds} s per test"
echo "$machine"

for n in $runs; do
    db_name=samverka_bench_$$_$n
    psql -X -q -d "$admin_uri" -c "CREATE DATABASE $db_name" >/dev/null || die "CREATE DATABASE failed"
    db_uri=$(node -e 'const u = new URL(process.argv[1]); u.pathname = "/" + process.argv[2]; console.log(u.href)' "$admin_uri" "$db_name")
    start_servers "$n"
    rm -f "$work/ids.txt"
    run_wrk creates "$n" create.lua
    [ -s "$work/ids.txt" ] || die "creates: create.lua wrote no ids"
    id=$(head -n 1 "$work/ids.txt" | cut -d' ' -f1)
    for p in $ports; do # what one process wrote, the other serves
        curl -sS --fail "http://127.0.0.1:$p/fhir/Patient/$id" | grep -q "\"id\":\"$id\"" ||
            die "Patient/$id is not served on port $p"
    done
    stored[$n]=$(wc -l <"$work/ids.txt")
    run_wrk reads "$n" read.lua
    run_wrk search "$n" search.lua
    stop_servers
    # every request of the three tests has an audit record once the queues are written
    asked=0
    for t in creates reads search; do asked=$((asked + $(echo "${result[$t-$n]}" | cut -d' ' -f4))); done
    audit_backlog[$n]="$audit_written of $asked"
    echo "== audit records written by the end of the tests: ${audit_backlog[$n]} requests"
    psql -X -q -d "$admin_uri" -c "DROP DATABASE $db_name WITH (FORCE)" >/dev/null
    db_uri=""
done

row() { printf '| %-7s | %-9s | %7s | %7s | %7s | %8s | %8s | %8s | %6s |\n' "$@"; }
summary=$(
    echo "$machine"
    echo
    row test processes "req/s" "p50 ms" "p99 ms" requests "sv CPU us" "pg CPU us" other
    echo "|---------|-----------|--------:|--------:|--------:|---------:|---------:|---------:|-------:|"
    for t in creates reads search; do
        for n in $runs; do
            # shellcheck disable=SC2086 # the fields of one result
            row "$t" "$n" ${result[$t-$n]}
        done
    done
    echo
    echo "reads and search over the Patients the creates of the same run stored ($(for n in $runs; do printf '%s: %s ' "$n" "${stored[$n]}"; done| sed 's/ $//'))."
    echo "audit records written when the tests ended: $(for n in $runs; do printf '%s: %s; ' "$n" "${audit_backlog[$n]}"; done | sed 's/; $//')"
    echo "(reads and searches are audited through a queue that one thread per process writes)."
    echo "sv CPU us, pg CPU us: CPU time per request of the samverka processes and of PostgreSQL's"
    echo "processes; other: CPU everything else used meanwhile, in % of one CPU (of $((ncpu * 100))%)."
)
printf '%s\n' "$summary" >"$out_dir/pg-summary.txt"
echo
echo "== summary (also in $out_dir/pg-summary.txt)"
printf '%s\n' "$summary"
