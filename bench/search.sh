#!/usr/bin/env bash
# search.sh - search latencies on a coordination dataset (issue 3): a Release build of
# samverka, a seeded dataset from bench/dataset.mjs (cached in BENCH_OUT), imported with
# `samverka import` into a fresh database, served on 127.0.0.1 and driven by wrk.
#
# Measures, each for BENCH_SECONDS at BENCH_CONNECTIONS connections and again at one
# connection (the latency one client sees when wrk does not take the second core),
# single-citizen queries (Patient by CPR, CarePlan, CareTeam, Task, Encounter of a citizen,
# the first page of Patient/{id}/$everything), single-organisation queries (open Tasks by
# deadline, stays in progress, messages received) and `_total=accurate` counts over
# 100,000 matches or more.  Values are drawn per request from lists this script prepares.
# Also reports the import time and rate, the database size and the server's memory.
# Fails (exit 1) on any non-2xx answer, socket error or timeout, on a failed import, and
# when a sampled query (checked with curl first) does not answer what it should.
#
# Settings (environment):
#   BENCH_RESOURCES=1000000  dataset size (resources); BENCH_SEED=1 its seed
#   BENCH_SECONDS=10         duration of each wrk test
#   BENCH_CONNECTIONS=16     wrk connections (the one-connection run is always 1)
#   BENCH_SINGLE=1           0: skip the one-connection runs
#   BENCH_WRK_THREADS=2      wrk threads
#   BENCH_SERVER_THREADS=    samverka --threads (empty: the server's default)
#   BENCH_BUILD=build-bench  build directory of the Release binary
#   BENCH_OUT=bench/out      dataset cache, raw wrk output, search-summary.txt
#   BENCH_TMPDIR=$TMPDIR     parent of the temporary database directory (a real disk)
#   BENCH_KEEP=0             1: keep the temporary directory (database, server log)
#   BENCH_DB_DIR=            a directory for the database instead of the temporary one: kept
#                            after the run, and reused (not imported again) when it holds
#                            the database of this dataset; the import figures are then
#                            those of the run that imported it
#
# The EXIT trap stops wrk and the server, also when a step fails or the run is interrupted.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
resources=${BENCH_RESOURCES:-1000000}
seed=${BENCH_SEED:-1}
seconds=${BENCH_SECONDS:-10}
connections=${BENCH_CONNECTIONS:-16}
single=${BENCH_SINGLE:-1}
wrk_threads=${BENCH_WRK_THREADS:-2}
server_threads=${BENCH_SERVER_THREADS:-}
build_dir=${BENCH_BUILD:-$repo/build-bench}
out_dir=${BENCH_OUT:-$repo/bench/out}
tmp_parent=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
keep=${BENCH_KEEP:-0}
db_dir=${BENCH_DB_DIR:-}
wrk_dir=$repo/bench/wrk
bench_name=bench
. "$repo/bench/lib.sh"
is_count "$resources" || die "BENCH_RESOURCES must be a positive number, not '$resources'"
[[ $seed =~ ^[0-9]+$ ]] || die "BENCH_SEED must be a number, not '$seed'"
is_count "$seconds" || die "BENCH_SECONDS must be a whole number of seconds, not '$seconds'"
is_count "$connections" || die "BENCH_CONNECTIONS must be a positive number, not '$connections'"
is_count "$wrk_threads" || die "BENCH_WRK_THREADS must be a positive number"
[ "$wrk_threads" -le "$connections" ] || die "BENCH_WRK_THREADS exceeds BENCH_CONNECTIONS"
[ -z "$server_threads" ] || is_count "$server_threads" ||
    die "BENCH_SERVER_THREADS must be a positive number, not '$server_threads'"
[ -n "${EPOCHREALTIME:-}" ] || die "bash 5 or later is needed (EPOCHREALTIME)"
for tool in wrk curl node cmake; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"
done


# --- build, dataset, database ----------------------------------------------------------

bench_build_release "$build_dir"
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$repo" diff --quiet HEAD -- src 2>/dev/null || commit="$commit+changes"

mkdir -p "$out_dir"
data=$out_dir/dataset-$resources-$seed
if [ ! -s "$data.stats.txt" ] || [ ! -s "$data.ndjson" ] ||
    [ "$data.ndjson" -ot "$repo/bench/dataset.mjs" ]; then
    echo "bench: generating $resources resources (seed $seed) into $data.*"
    node "$repo/bench/dataset.mjs" --resources "$resources" --seed "$seed" --out "$data" >/dev/null ||
        die "dataset.mjs failed"
fi
total=$(awk '$1 == "total" {print $2}' "$data.stats.txt")
citizens=$(awk '$1 == "citizens" {print $2}' "$data.stats.txt")
[ "${total:-0}" -ge "$resources" ] || die "the dataset has ${total:-no} resources, not $resources"

work=$(mktemp -d "$tmp_parent/samverka-search.XXXXXX")
if [ -n "$db_dir" ]; then
    mkdir -p "$db_dir"
    db=$(cd "$db_dir" && pwd)/samverka.db
else
    db=$work/samverka.db
fi
db_fs=$(df -PT "$(dirname "$db")" | awk 'NR == 2 {print $2 " on " $1}')
case $db_fs in tmpfs*) echo "bench: warning: the database is on tmpfs" >&2 ;; esac

import_note=$(dirname "$db")/import.txt
if [ -n "$db_dir" ] && [ -s "$import_note" ] && [ -s "$db" ] &&
    [ "$(sed -n 's/^dataset //p' "$import_note")" = "$data.ndjson" ]; then
    read -r import_s import_rate < <(sed -n 's/^import //p' "$import_note")
    echo "bench: reusing $db (imported earlier in $import_s s)"
else
    rm -f "$db" "$db-wal" "$db-shm" "$import_note"
    echo "bench: importing $total resources into $db"
    t0=$EPOCHREALTIME
    "$bin" import --db "$db" "$data.ndjson" >"$work/import.out" 2>"$work/import.err" ||
        { tail -n 5 "$work/import.err" >&2; die "the import failed"; }
    t1=$EPOCHREALTIME
    grep -q "^loaded $total resources, 0 failed$" "$work/import.out" ||
        die "the import did not load every resource: $(cat "$work/import.out")"
    import_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
    import_rate=$(awk -v s="$import_s" -v n="$total" 'BEGIN {printf "%.0f", n / s}')
    printf 'dataset %s\nimport %s %s\n' "$data.ndjson" "$import_s" "$import_rate" >"$import_note"
fi
db_mib=$(du -cm "$db"* | awk 'END {print $1}')
echo "bench: imported in $import_s s ($import_rate resources/s); database $db_mib MiB"

# --- the server ----------------------------------------------------------------------

# The server's stdout goes through a fifo, from which its "listening" line is read.
mkfifo "$work/stdout"
exec 3<>"$work/stdout"
start_server() {
    server_log=$work/server.log
    local args=(serve --listen 127.0.0.1:0 --db "$db" --log-level warn)
    [ -z "$server_threads" ] || args+=(--threads "$server_threads")
    "$bin" "${args[@]}" >&3 2>"$server_log" &
    server_pid=$!
    bench_await_listening 60
}

start_server
echo "bench: serving on port $port (pid $server_pid)"

# --- the queries -------------------------------------------------------------------------
# One file of paths per query; wrk picks one at random per request.  Citizens and
# organisations are sampled with a fixed seed, so two runs ask the same questions.

paths_dir=$work/paths
mkdir -p "$paths_dir"
sample() { # file, count: the first count lines of file in a seeded random order
    # (awk, not head, ends the pipe: head would stop sort with SIGPIPE, fatal under pipefail)
    awk -v seed="$seed" 'BEGIN {srand(seed)} {print rand() "\t" $0}' "$1" | sort -k1,1 |
        awk -v n="$2" 'NR <= n' | cut -f2-
}
sample "$data.patients.txt" 5000 >"$work/patients"
while read -r id ident; do
    echo "/fhir/Patient?identifier=${ident/|/%7C}" >&4
    echo "/fhir/CarePlan?subject=Patient/$id&status=active" >&5
    echo "/fhir/CareTeam?subject=Patient/$id" >&6
    echo "/fhir/Task?patient=Patient/$id" >&7
    echo "/fhir/Encounter?subject=Patient/$id" >&8
    echo "/fhir/Patient/$id/\$everything" >&9
done <"$work/patients" 4>"$paths_dir/patient-cpr" 5>"$paths_dir/careplan" 6>"$paths_dir/careteam" \
    7>"$paths_dir/task-patient" 8>"$paths_dir/encounter" 9>"$paths_dir/everything"
sed 's|.*|/fhir/Task?owner=Organization/&\&status=requested,accepted,in-progress\&_sort=deadline|' \
    "$data.owners.txt" >"$paths_dir/task-owner"
sed 's|.*|/fhir/Encounter?service-provider=Organization/&\&status=in-progress|' \
    "$data.providers.txt" >"$paths_dir/encounter-provider"
sed 's|.*|/fhir/Communication?recipient=Organization/&\&_sort=-sent|' \
    "$data.recipients.txt" >"$paths_dir/communication"
echo "/fhir/Task?status=completed&_summary=count&_total=accurate" >"$paths_dir/count-completed"
echo "/fhir/Task?intent=order&_summary=count&_total=accurate" >"$paths_dir/count-tasks"
echo "/fhir/Observation?code=http://loinc.org%7C29463-7&_summary=count&_total=accurate" \
    >"$paths_dir/count-observations"

queries=(patient-cpr careplan careteam task-patient encounter everything
    task-owner encounter-provider communication count-completed count-tasks count-observations)
declare -A describe=(
    [patient-cpr]="Patient?identifier={cpr system}|{cpr}"
    [careplan]="CarePlan?subject=Patient/{id}&status=active"
    [careteam]="CareTeam?subject=Patient/{id}"
    [task-patient]="Task?patient=Patient/{id}"
    [encounter]="Encounter?subject=Patient/{id}"
    [everything]="Patient/{id}/\$everything (first page)"
    [task-owner]="Task?owner={org}&status=requested,accepted,in-progress&_sort=deadline"
    [encounter-provider]="Encounter?service-provider={org}&status=in-progress"
    [communication]="Communication?recipient={org}&_sort=-sent"
    [count-completed]="Task?status=completed&_summary=count"
    [count-tasks]="Task?intent=order&_summary=count"
    [count-observations]="Observation?code=loinc|29463-7&_summary=count"
)

# Checks a few paths of each query with curl: 200, a searchset Bundle, and its total;
# records the range of totals seen (the number of matches the query has).
declare -A matches
check_query() {
    local q=$1 path body t lo="" hi="" found=0
    while read -r path; do
        body=$(curl -sS --fail -H 'Accept: application/fhir+json' "http://127.0.0.1:$port$path") ||
            die "$q: GET $path failed"
        [[ $body == *'"resourceType":"Bundle"'* ]] || die "$q: GET $path did not answer a Bundle"
        t=$(printf '%s' "$body" | sed -n 's/.*"total":\([0-9]*\).*/\1/p' | head -n 1)
        if [ -z "$t" ]; then
            t=$(printf '%s' "$body" | grep -o '"fullUrl"' | wc -l)
            t="${t}+"
        fi
        [ "$t" = 0 ] || found=1
        [ -z "$lo" ] || [ "${t%+}" -ge "${lo%+}" ] || lo=$t
        [ -n "$lo" ] || lo=$t
        [ -z "$hi" ] || [ "${t%+}" -le "${hi%+}" ] || hi=$t
        [ -n "$hi" ] || hi=$t
    done < <(sample "$paths_dir/$q" 5)
    # Some citizens have no active plan, but a query that never finds anything measures nothing.
    [ "$found" = 1 ] || die "$q: none of 5 sampled requests found anything"
    if [ "$lo" = "$hi" ]; then matches[$q]=$lo; else matches[$q]="$lo-$hi"; fi
}
for q in "${queries[@]}"; do
    check_query "$q"
done
case ${matches[patient-cpr]} in 1) ;; *) die "a CPR search did not find exactly one Patient" ;; esac

# --- wrk -----------------------------------------------------------------------------

to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        else if (u != "ms") n = -1
        printf "%.2f", n }'
}

# Who used the CPUs during a test, in % of one CPU (run.sh explains the columns): the
# server, wrk, and everything else (other people's work on a shared machine).
ncpu=$(nproc)
machine_jiffies() {
    awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit}' \
        /proc/stat
}
process_jiffies() { # pid [children]
    local stat fields
    read -r stat <"/proc/$1/stat"
    read -r -a fields <<<"${stat##*) }"
    if [ -n "${2:-}" ]; then
        echo $((fields[11] + fields[12] + fields[13] + fields[14]))
    else
        echo $((fields[11] + fields[12]))
    fi
}

# Runs one wrk test; sets run_result to "req/s p50 p99 server% other%".
run_wrk() { # query, connections, threads
    local q=$1 c=$2 t=$3 out=$out_dir/search-$1-c$2.txt rc=0 line
    local busy0 total0 server0 self0 busy total server self me=$BASHPID
    read -r busy0 total0 < <(machine_jiffies)
    server0=$(process_jiffies "$server_pid")
    self0=$(process_jiffies "$me" children)
    BENCH_WRK_DIR=$wrk_dir BENCH_PATHS=$paths_dir/$q \
        wrk -t"$t" -c"$c" -d"${seconds}s" --timeout 10s --latency \
        -s "$wrk_dir/paths.lua" "http://127.0.0.1:$port/" >"$out" 2>&1 &
    wrk_pid=$!
    wait "$wrk_pid" || rc=$?
    wrk_pid=""
    read -r busy total < <(machine_jiffies)
    server=$(process_jiffies "$server_pid")
    self=$(process_jiffies "$me" children)
    [ "$rc" -eq 0 ] || { cat "$out" >&2; die "$q: wrk exited with status $rc"; }
    if line=$(grep -E '^ *Non-2xx or 3xx responses:' "$out"); then
        die "$q: requests answered with an error status:${line#*:}"
    fi
    if line=$(grep -E '^ *Socket errors:' "$out"); then
        die "$q: socket errors or timeouts:${line#*:}"
    fi
    local rps p50 p99
    rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
    if [ -z "$rps" ] || [ "$p50" = -1.00 ] || [ "$p99" = -1.00 ]; then
        die "$q: could not read requests/s and latencies from wrk's output"
    fi
    run_result=$(awk -v n="$ncpu" -v b=$((busy - busy0)) -v t=$((total - total0)) -v s=$((server - server0)) \
        -v o=$((self - self0)) -v r="$rps $p50 $p99" 'BEGIN {
            if (t <= 0) t = 1
            other = b - s - o; if (other < 0) other = 0
            printf "%s %.0f %.0f\n", r, s / t * n * 100, other / t * n * 100 }')
}

declare -A loaded single_conn
for q in "${queries[@]}"; do
    echo "== $q: ${describe[$q]} (${matches[$q]} matches)"
    run_wrk "$q" "$connections" "$wrk_threads"
    loaded[$q]=$run_result
    echo "    $connections connections: req/s p50 p99 server% other% = ${loaded[$q]}"
    if [ "$single" = 1 ]; then
        run_wrk "$q" 1 1
        single_conn[$q]=$run_result
        echo "    1 connection:   req/s p50 p99 server% other% = ${single_conn[$q]}"
    else
        single_conn[$q]="- - - - -"
    fi
done

rss=$(awk '/^VmRSS/ {rss = $2} /^VmHWM/ {hwm = $2}
    END {printf "VmRSS %.1f MiB, peak (VmHWM) %.1f MiB", rss / 1024, hwm / 1024}' \
    "/proc/$server_pid/status")

# --- the summary -----------------------------------------------------------------------

cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
summary=$(
    echo "date        $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "samverka    $("$bin" version) at $commit, CMAKE_BUILD_TYPE=Release"
    echo "cpu         $(nproc) x ${cpu_model:-unknown}"
    echo "memory      $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
    echo "database    $db_fs; sqlite $(pkg-config --modversion sqlite3 2>/dev/null || echo ?)"
    echo "dataset     $total resources, $citizens citizens (bench/dataset.mjs --seed $seed)"
    echo "load        wrk, $connections connections ($wrk_threads threads) and 1 connection, ${seconds} s each, same machine"
    echo
    printf '| %-18s | %-70s | %11s | %6s | %6s | %7s | %5s | %6s | %6s | %5s |\n' query request \
        matches "req/s" "p50 ms" "p99 ms" other "1c p50" "1c p99" other
    echo "|--------------------|------------------------------------------------------------------------|------------:|-------:|-------:|--------:|------:|-------:|-------:|------:|"
    for q in "${queries[@]}"; do
        read -r r50 p50 p99 _ o16 <<<"${loaded[$q]}"
        read -r _ s50 s99 _ o1 <<<"${single_conn[$q]}"
        printf '| %-18s | %-70s | %11s | %6s | %6s | %7s | %5s | %6s | %6s | %5s |\n' "$q" \
            "${describe[$q]}" "${matches[$q]}" "$r50" "$p50" "$p99" "$o16" "$s50" "$s99" "$o1"
    done
    echo
    echo "req/s, p50, p99 at $connections connections; 1c: one connection (ms).  other: CPU used"
    echo "during the test by everything but the server and wrk, in % of one CPU (of $((ncpu * 100))%)."
    echo
    printf '%-28s %s\n' \
        "import" "$import_s s, $import_rate resources/s (samverka import, one NDJSON file)" \
        "database after import" "$db_mib MiB (main file, WAL and shm)" \
        "server memory after runs" "$rss"
)
printf '%s\n' "$summary" >"$out_dir/search-summary.txt"
echo
echo "== summary (also in $out_dir/search-summary.txt)"
printf '%s\n' "$summary"
