#!/usr/bin/env bash
# run.sh - the load runner (`make bench`): a Release build of samverka on 127.0.0.1 with a
# fresh SQLite database in a temporary directory, driven by wrk over loopback.
#
#   bench/run.sh [RESOURCES]     (make bench RESOURCES=...; default 50000)
#
# Measures, each for BENCH_SECONDS at BENCH_CONNECTIONS connections:
#   creates  POST /fhir/Patient, a ~1.6 KB Danish citizen, a new CPR each request (durable:
#            synchronous=FULL, each answered after its group commit is on disk)
#   reads    GET /fhir/Patient/{id}, ids picked at random from those the creates made
#   search   GET /fhir/Patient?identifier=urn:oid:1.2.208.176.1.2|{cpr}, one match each
#   update   PUT /fhir/Patient/{id}, a new version of a Patient the creates made
#   transaction  POST /fhir, a transaction Bundle of 10 linked new resources
#   nginx    GET of a static file as large as a Patient read, from nginx (Debian) on
#            loopback under the same load: the HTTP ceiling of this machine; every
#            samverka figure is also printed as a ratio to it
#   worklist GET /fhir/Task?owner={org}&status=requested,accepted,in-progress&_sort=deadline
#            on a coordination dataset of RESOURCES resources (bench/dataset.mjs, cached
#            in BENCH_OUT, imported with `samverka import`)
# and also start-up time (exec until the "listening" line), resident memory after the
# run and with the dataset open, and start-up again on the filled databases.  Fails
# (exit 1) when any request errs: a non-2xx answer, a socket error or timeout, a create
# that was not a 201, a transaction that was not a transaction-response.
#
# Settings (environment):
#   BENCH_RESOURCES=50000    dataset size of the worklist test (the argument wins)
#   BENCH_SEED=1             dataset seed
#   BENCH_SECONDS=10         duration of each wrk test
#   BENCH_CONNECTIONS=16     wrk connections
#   BENCH_WRK_THREADS=2      wrk threads (at most 6, see bench/wrk/create.lua)
#   BENCH_SERVER_THREADS=    samverka --threads (empty: the server's default)
#   BENCH_BUILD=build-bench  build directory of the Release binary
#   BENCH_CFLAGS=            extra C flags for that build (CMAKE_C_FLAGS), e.g.
#                            -Wno-error=maybe-uninitialized while an -O3-only warning waits
#                            for its fix
#   BENCH_OUT=bench/out      where the raw wrk output and the summary of this run go
#   BENCH_TMPDIR=$TMPDIR     parent of the temporary database directory (must be a real
#                            disk: on tmpfs fsync costs nothing and creates look too fast)
#   BENCH_KEEP=0             1: keep the temporary directory (database, server log); when a
#                            run fails the server log's last 200 lines go to BENCH_OUT
#
# It never leaves a process behind: the EXIT trap stops wrk and the server, also when
# a step fails or the run is interrupted.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
resources=${1:-${BENCH_RESOURCES:-50000}}
seed=${BENCH_SEED:-1}
seconds=${BENCH_SECONDS:-10}
connections=${BENCH_CONNECTIONS:-16}
wrk_threads=${BENCH_WRK_THREADS:-2}
server_threads=${BENCH_SERVER_THREADS:-}
build_dir=${BENCH_BUILD:-$repo/build-bench}
cflags=${BENCH_CFLAGS:-}
out_dir=${BENCH_OUT:-$repo/bench/out}
tmp_parent=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
keep=${BENCH_KEEP:-0}
wrk_dir=$repo/bench/wrk
bench_name=bench
. "$repo/bench/lib.sh"
is_count "$resources" || die "RESOURCES must be a positive number, not '$resources'"
[[ $seed =~ ^[0-9]+$ ]] || die "BENCH_SEED must be a number, not '$seed'"
is_count "$seconds" || die "BENCH_SECONDS must be a whole number of seconds, not '$seconds'"
is_count "$connections" || die "BENCH_CONNECTIONS must be a positive number, not '$connections'"
if ! is_count "$wrk_threads" || [ "$wrk_threads" -gt 6 ]; then
    die "BENCH_WRK_THREADS must be 1..6, not '$wrk_threads'"
fi
[ "$wrk_threads" -le "$connections" ] || die "BENCH_WRK_THREADS exceeds BENCH_CONNECTIONS"
[ -z "$server_threads" ] || is_count "$server_threads" ||
    die "BENCH_SERVER_THREADS must be a positive number, not '$server_threads'"
[ -n "${EPOCHREALTIME:-}" ] || die "bash 5 or later is needed (EPOCHREALTIME)"

# --- what the trap of bench/lib.sh does besides stopping the processes ----------------

nginx_dir=""
bench_cleanup_more() {
    [ -z "$nginx_dir" ] || [ "$keep" = 1 ] || rm -rf "$nginx_dir"
    if [ "$1" -ne 0 ] && [ -n "$server_log" ] && [ -s "$server_log" ]; then
        tail -n 200 "$server_log" >"$out_dir/server-log-tail.txt" 2>/dev/null &&
            echo "bench: the server log's last 200 lines are in $out_dir/server-log-tail.txt" >&2
    fi
}

# --- tools and build -----------------------------------------------------------------

if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "bench: installing wrk"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq wrk >/dev/null 2>&1 ||
            { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } ||
            die "apt-get install wrk failed"
    else
        die "wrk is missing: apt-get install wrk"
    fi
fi
if ! command -v nginx >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "bench: installing nginx"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq --no-install-recommends nginx >/dev/null 2>&1 ||
            { apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx >/dev/null; } ||
            die "apt-get install nginx failed"
    else
        die "nginx is missing: apt-get install nginx"
    fi
fi
for tool in curl node; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"
done

bench_build_release "$build_dir" -DCMAKE_C_FLAGS="$cflags"

mkdir -p "$out_dir"
# Only this script's own outputs: the dataset cache (shared with search.sh) stays.
rm -f "$out_dir"/{creates,reads,search,update,transaction,nginx,worklist,summary,server-log-tail}.txt
mkdir -p "$tmp_parent"
work=$(mktemp -d "$tmp_parent/samverka-bench.XXXXXX")
db=$work/bench.db
ids=$work/ids.txt
mkfifo "$work/stdout"
# Read-write, so that opening does not wait for the server and its exit does not end reads.
exec 3<>"$work/stdout"

# --- the machine -----------------------------------------------------------------------

cpu_model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
mem_total=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
hypervisor=$(lscpu 2>/dev/null | awk -F': *' '/Hypervisor vendor/ {print $2}')
db_fs=$(df --output=fstype,source "$work" | tail -n 1 | awk '{print $1 " on " $2}')
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$repo" status --porcelain -- src CMakeLists.txt 2>/dev/null)" ]; then
    commit="$commit (with uncommitted changes in src/)"
fi
case $db_fs in
tmpfs*) echo "bench: WARNING: $work is on tmpfs; fsync is free there and creates look too fast" >&2 ;;
esac

machine=$(
    cat <<EOF
date        $(date -u +%Y-%m-%dT%H:%M:%SZ)
samverka    $("$bin" version) at $commit, CMAKE_BUILD_TYPE=Release (asserts on)${cflags:+, CMAKE_C_FLAGS=$cflags}
cpu         $(nproc) x ${cpu_model:-unknown}${hypervisor:+ (virtual machine, $hypervisor)}
memory      $mem_total
kernel      $(uname -sr)
database    $db_fs ($work)
libraries   sqlite $(pkg-config --modversion sqlite3), libmicrohttpd $(pkg-config --modversion libmicrohttpd), jansson $(pkg-config --modversion jansson)
loadavg     $(cut -d' ' -f1-3 /proc/loadavg) before the run (1, 5, 15 min)
load        $(wrk -v 2>&1 | head -n 1 | awk '{print $1, $2}') on the same machine, loopback; $wrk_threads threads, $connections connections, ${seconds} s per test
EOF
)
echo
echo "$machine"
echo

# --- the server ----------------------------------------------------------------------

# Starts the server on the database; sets server_pid, port, startup_ms.
start_server() {
    local log=$1 t0 t1
    server_log=$log
    local args=(serve --listen 127.0.0.1:0 --db "${2:-$db}")
    [ -z "$server_threads" ] || args+=(--threads "$server_threads")
    t0=$EPOCHREALTIME
    "$bin" "${args[@]}" >&3 2>"$log" &
    server_pid=$!
    bench_await_listening 30
    t1=$EPOCHREALTIME
    startup_ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) * 1000}')
}

# Stops the server with SIGTERM; sets stop_ms; fails unless it exits 0 within 15 s.
stop_server() {
    local t0 rc=0
    t0=$EPOCHREALTIME
    kill -TERM "$server_pid"
    wait_exit "$server_pid" 15 || die "the server did not stop within 15 s of SIGTERM"
    stop_ms=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.0f", (b - a) * 1000}')
    wait "$server_pid" || rc=$?
    server_pid=""
    [ "$rc" -eq 0 ] || die "the server exited with status $rc after SIGTERM"
}

# "VmRSS VmHWM" of the server in MiB.
server_memory() {
    awk '/^VmRSS/ {rss = $2} /^VmHWM/ {hwm = $2}
         END {printf "%.1f %.1f\n", rss / 1024, hwm / 1024}' "/proc/$server_pid/status"
}

# --- CPU accounting ----------------------------------------------------------------
# The machine may be shared (builds, tests, fuzzers of other people), so each test
# reports who used the CPUs while it ran: the server, this script's children (wrk),
# and everything else.  Figures are percent of one CPU, up to nproc * 100.

ncpu=$(nproc)

# "busy total" jiffies of the whole machine.
machine_jiffies() {
    awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit}' \
        /proc/stat
}

# utime + stime of the processes in cpu_pids (default: the server).
measured_jiffies() {
    local pid sum=0
    for pid in ${cpu_pids:-$server_pid}; do
        sum=$((sum + $(process_jiffies "$pid")))
    done
    echo "$sum"
}

# utime + stime of process $1; with a second argument also of its reaped children.
process_jiffies() {
    local stat fields
    read -r stat <"/proc/$1/stat"
    # After "pid (comm) ": fields[0] is the state, fields[11..14] utime stime cutime cstime.
    read -r -a fields <<<"${stat##*) }"
    if [ -n "${2:-}" ]; then
        echo $((fields[11] + fields[12] + fields[13] + fields[14]))
    else
        echo $((fields[11] + fields[12]))
    fi
}

# Samples before a test; cpu_end prints "server% wrk% other% server-cpu-us-per-request".
cpu_begin() {
    read -r cpu_busy0 cpu_total0 < <(machine_jiffies)
    cpu_server0=$(measured_jiffies)
    cpu_self0=$(process_jiffies $$ children)
}
cpu_end() { # requests
    local busy total server self
    read -r busy total < <(machine_jiffies)
    server=$(measured_jiffies)
    self=$(process_jiffies $$ children)
    awk -v n="$ncpu" -v hz="$(getconf CLK_TCK)" -v req="$1" \
        -v b=$((busy - cpu_busy0)) -v t=$((total - cpu_total0)) \
        -v s=$((server - cpu_server0)) -v o=$((self - cpu_self0)) 'BEGIN {
            if (t <= 0) t = 1
            other = b - s - o; if (other < 0) other = 0
            printf "%.0f %.0f %.0f %.0f\n", s / t * n * 100, o / t * n * 100,
                other / t * n * 100, s / hz / req * 1e6 }'
}

# --- wrk -----------------------------------------------------------------------------

# Latency as wrk prints it (850.00us, 6.69ms, 1.20s, 1.01m) in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        else if (u != "ms") n = -1
        printf "%.2f", n }'
}

# Runs one wrk test and checks it; sets rps, p50_ms, p99_ms, requests.
run_wrk() { # name, script, url path, what it requests
    local name=$1 script=$2 path=$3 out=$out_dir/$1.txt rc=0 line
    echo "== $name: $4 ($connections connections, ${seconds} s)"
    cpu_begin
    BENCH_WRK_DIR=$wrk_dir BENCH_IDS=$ids BENCH_PATHS=${paths:-} \
        wrk -t"$wrk_threads" -c"$connections" -d"${seconds}s" --timeout 10s --latency \
        -s "$wrk_dir/$script" "http://127.0.0.1:$port$path" >"$out" 2>&1 &
    wrk_pid=$!
    wait "$wrk_pid" || rc=$?
    wrk_pid=""
    sed 's/^/    /' "$out"
    [ "$rc" -eq 0 ] || die "$name: wrk exited with status $rc"
    if line=$(grep -E '^ *Non-2xx or 3xx responses:' "$out"); then
        die "$name: requests answered with an error status:${line#*:}"
    fi
    if line=$(grep -E '^ *Socket errors:' "$out"); then
        die "$name: socket errors or timeouts:${line#*:}"
    fi
    if grep -qiE 'error|unable|panic' "$out"; then
        die "$name: wrk reported an error (see above)"
    fi
    if line=$(grep -E '^bench-check: .*unexpected=[1-9]' "$out"); then
        die "$name: answers of the wrong kind: $line"
    fi
    requests=$(awk '/ requests in / {print $1; exit}' "$out")
    rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")
    p50_ms=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
    p99_ms=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
    if [ -z "$requests" ] || [ "$requests" -eq 0 ]; then
        die "$name: no request completed"
    fi
    if [ -z "$rps" ] || [ "$p50_ms" = -1.00 ] || [ "$p99_ms" = -1.00 ]; then
        die "$name: could not read requests/s and latencies from wrk's output"
    fi
    read -r cpu_server cpu_wrk cpu_other cpu_per_request < <(cpu_end "$requests")
    echo "    cpu: server ${cpu_server}%, wrk ${cpu_wrk}%, other processes and kernel" \
        "${cpu_other}% (of $((ncpu * 100))%); server ${cpu_per_request} us CPU per request"
    result[$name]="$rps $p50_ms $p99_ms $requests $cpu_per_request $cpu_server $cpu_other"
}

declare -A result

# A few reads and searches by curl before timing them: each must find what it asks for,
# so a fast empty answer cannot pass for a fast search.
check_sample() {
    local id cpr body
    while read -r id cpr; do
        body=$(curl -sS --fail -H 'Accept: application/fhir+json' \
            "http://127.0.0.1:$port/fhir/Patient/$id") || die "reading Patient/$id failed"
        [[ $body == *"\"id\":\"$id\""* ]] || die "Patient/$id came back without its id"
        body=$(curl -sS --fail -H 'Accept: application/fhir+json' \
            "http://127.0.0.1:$port/fhir/Patient?identifier=urn:oid:1.2.208.176.1.2%7C$cpr") ||
            die "searching for identifier $cpr failed"
        [[ $body == *'"total":1,'* && $body == *"\"id\":\"$id\""* ]] ||
            die "searching for identifier $cpr did not find exactly Patient/$id"
    done < <(awk 'NR % 997 == 1' "$ids" | head -n 10)
}

# --- the run -------------------------------------------------------------------------

start_server "$work/server.log"
startup_fresh_ms=$startup_ms
read -r rss_start _ < <(server_memory)
echo "== start-up on a fresh database: $startup_fresh_ms ms (port $port, VmRSS $rss_start MiB)"

run_wrk creates create.lua /fhir/Patient "POST /fhir/Patient"
created="" unexpected=""
read -r created unexpected < <(sed -n 's/^bench-check: created=\([0-9]*\) unexpected=\([0-9]*\)$/\1 \2/p' \
    "$out_dir/creates.txt") || true
[ -n "${created:-}" ] || die "creates: create.lua did not report what it created"
[ "$unexpected" -eq 0 ] || die "creates: $unexpected answers were not 201 with a Location and the CPR"
[ "$created" -eq "$requests" ] || die "creates: $requests requests but $created recorded"

check_sample
read_bytes=$(curl -sS --fail -o "$work/patient.json" -w '%{size_download}' \
    -H 'Accept: application/fhir+json' "http://127.0.0.1:$port/fhir/Patient/$(head -n 1 "$ids" | cut -d' ' -f1)") ||
    die "reading a Patient for the nginx file failed"
run_wrk reads read.lua / "GET /fhir/Patient/{id}"
run_wrk search search.lua / "GET /fhir/Patient?identifier=urn:oid:1.2.208.176.1.2%7C{cpr}"
run_wrk update update.lua / "PUT /fhir/Patient/{id}"
run_wrk transaction transaction.lua / "POST /fhir, a transaction Bundle of 10 entries"

read -r rss_after hwm_after < <(server_memory)
threads_used=$(sed -n 's/.*event=listening .*threads=\([0-9]*\).*/\1/p' "$server_log" | head -n 1)
stop_server
stop_after_load_ms=$stop_ms
write_tx="?" durable_commits="?"
read -r write_tx durable_commits < <(sed -n \
    's/.*event=stopped write_transactions=\([0-9]*\) durable_commits=\([0-9]*\).*/\1 \2/p' \
    "$work/server.log") || true
db_mib=$(du -cm "$db"* | awk 'END {print $1}')

start_server "$work/server-restart.log"
startup_filled_ms=$startup_ms
stop_server

# --- nginx: the same load on a static file as large as a read ---------------------------
# An unprivileged process (nobody, when this runs as root) with a configuration of its own
# in a temporary directory, on a free loopback port; access log on, as the server's log.

nginx_dir=$(mktemp -d "$tmp_parent/samverka-bench-nginx.XXXXXX")
mkdir -p "$nginx_dir/html" "$nginx_dir/logs" "$nginx_dir/tmp"
cp "$work/patient.json" "$nginx_dir/html/patient.json"
ngx_port=""
for candidate in $(shuf -i 20000-60000 -n 50); do
    if ! (exec 9<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
        ngx_port=$candidate
        break
    fi
done
[ -n "$ngx_port" ] || die "no free loopback port for nginx"
cat >"$nginx_dir/nginx.conf" <<EOF
worker_processes $ncpu;
daemon off;
pid $nginx_dir/nginx.pid;
error_log $nginx_dir/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log $nginx_dir/logs/access.log;
    client_body_temp_path $nginx_dir/tmp/body;
    proxy_temp_path $nginx_dir/tmp/proxy;
    fastcgi_temp_path $nginx_dir/tmp/fastcgi;
    uwsgi_temp_path $nginx_dir/tmp/uwsgi;
    scgi_temp_path $nginx_dir/tmp/scgi;
    types { application/fhir+json json; }
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$ngx_port;
        root $nginx_dir/html;
    }
}
EOF
as_user=()
if [ "$(id -u)" -eq 0 ]; then
    chown -R nobody:nogroup "$nginx_dir"
    as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
"${as_user[@]}" nginx -p "$nginx_dir" -c "$nginx_dir/nginx.conf" -e "$nginx_dir/logs/error.log" \
    >"$out_dir/nginx-stdout.log" 2>&1 &
nginx_pid=$!
for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$ngx_port/patient.json" && break
    exited "$nginx_pid" && die "nginx exited: $(tail -n 3 "$nginx_dir/logs/error.log" 2>/dev/null)"
    sleep 0.05
done
ngx_bytes=$(curl -sS --fail -o /dev/null -w '%{size_download}' "http://127.0.0.1:$ngx_port/patient.json") ||
    die "nginx does not serve the file"
[ "$ngx_bytes" -eq "$read_bytes" ] || die "nginx served $ngx_bytes bytes, a read $read_bytes"
cpu_pids="$nginx_pid $(pgrep -P "$nginx_pid" | tr '\n' ' ')"
port_saved=$port
port=$ngx_port
paths=$work/nginx-paths
echo /patient.json >"$paths"
run_wrk nginx paths.lua / "GET /patient.json from nginx ($(nginx -v 2>&1 | sed 's/.*version: //'))"
port=$port_saved
cpu_pids=""
paths=""
kill -TERM "$nginx_pid"
wait "$nginx_pid" 2>/dev/null || true
nginx_pid=""

# --- the worklist on a coordination dataset ------------------------------------------

data=$out_dir/dataset-$resources-$seed
if [ ! -s "$data.ndjson" ] || [ ! -s "$data.owners.txt" ] ||
    [ "$data.ndjson" -ot "$repo/bench/dataset.mjs" ]; then
    echo "bench: generating a dataset of $resources resources (seed $seed)"
    node "$repo/bench/dataset.mjs" --resources "$resources" --seed "$seed" --out "$data" >/dev/null ||
        die "dataset.mjs failed"
fi
total=$(wc -l <"$data.ndjson")
dataset_db=$work/dataset.db
echo "bench: importing $total resources"
t0=$EPOCHREALTIME
"$bin" import --db "$dataset_db" "$data.ndjson" >"$work/import.out" 2>"$work/import.err" ||
    { tail -n 5 "$work/import.err" >&2; die "the import failed"; }
grep -q "^loaded $total resources, 0 failed$" "$work/import.out" ||
    die "the import did not load every resource: $(cat "$work/import.out")"
import_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}')
paths=$work/worklist-paths
sed 's|.*|/fhir/Task?owner=Organization/&\&status=requested,accepted,in-progress\&_sort=deadline|' \
    "$data.owners.txt" >"$paths"
start_server "$work/server-dataset.log" "$dataset_db"
startup_dataset_ms=$startup_ms
found=0
while read -r path; do
    body=$(curl -sS --fail -H 'Accept: application/fhir+json' "http://127.0.0.1:$port$path") ||
        die "GET $path failed"
    [[ $body == *'"type":"searchset"'* ]] || die "GET $path did not answer a searchset"
    [[ $body != *'"resourceType":"Task"'* ]] || found=$((found + 1))
done < <(head -n 10 "$paths")
[ "$found" -gt 0 ] || die "none of the first 10 worklists holds a Task"
run_wrk worklist paths.lua / "GET /fhir/Task?owner={org}&status=...&_sort=deadline"
read -r rss_dataset hwm_dataset < <(server_memory)
stop_server
dataset_mib=$(du -cm "$dataset_db"* | awk 'END {print $1}')

# --- the summary -----------------------------------------------------------------------

nginx_rps=${result[nginx]%% *}
row() { # name, request, req/s, x nginx, p50, p99, requests, us/req, server %, other %
    printf '| %-11s | %-46s | %7s | %7s | %7s | %7s | %8s | %7s | %7s | %7s |\n' "$@"
}
result_row() { # name, request
    local rps rest
    read -r rps rest <<<"${result[$1]}"
    # shellcheck disable=SC2086 # the fields of one result
    row "$1" "$2" "$rps" "$(awk -v a="$rps" -v b="$nginx_rps" 'BEGIN {printf "%.3f", a / b}')" $rest
}
summary=$(
    echo "$machine"
    echo "server      --threads ${threads_used:-?}, log level info (one line per request to a file)"
    echo
    row test request "req/s" "x nginx" "p50 ms" "p99 ms" requests "CPU us" "server" "other"
    echo "|-------------|------------------------------------------------|--------:|--------:|--------:|--------:|---------:|--------:|--------:|--------:|"
    result_row creates "POST /fhir/Patient (~1.6 KB, durable)"
    result_row reads "GET /fhir/Patient/{id}, $created stored"
    result_row search "GET /fhir/Patient?identifier=..."
    result_row update "PUT /fhir/Patient/{id} (durable)"
    result_row transaction "POST /fhir, Bundle of 10 entries (durable)"
    result_row worklist "GET /fhir/Task?owner=&status=&_sort=deadline"
    result_row nginx "GET /patient.json, $read_bytes bytes, static"
    echo
    echo "x nginx: requests/s as a share of nginx's on a static file as large as a read."
    echo "worklist: on the dataset of $total resources (bench/dataset.mjs --seed $seed); the"
    echo "others on the database the creates filled."
    echo "CPU us: server CPU time per request.  server, other: CPU used while the test ran, in %"
    echo "of one CPU (of $((ncpu * 100))%), by the server and by everything but the server and wrk"
    echo "(other processes, and kernel threads such as the filesystem journal our fsyncs wake)."
    echo
    printf '%-36s %s\n' \
        "start-up, fresh database" "$startup_fresh_ms ms" \
        "start-up, $created patients" "$startup_filled_ms ms" \
        "start-up, dataset of $total" "$startup_dataset_ms ms" \
        "stop after load (SIGTERM to exit)" "$stop_after_load_ms ms" \
        "memory at start" "VmRSS $rss_start MiB" \
        "memory after the run" "VmRSS $rss_after MiB, peak (VmHWM) $hwm_after MiB" \
        "memory, dataset open, after worklist" "VmRSS $rss_dataset MiB, peak (VmHWM) $hwm_dataset MiB" \
        "group commit" "$write_tx write transactions in $durable_commits durable commits" \
        "" "(creates, updates, transactions, read-audit flushes)" \
        "database after the run" "$db_mib MiB (main file, WAL and shm)" \
        "dataset database" "$dataset_mib MiB, imported in $import_s s"
)
printf '%s\n' "$summary" >"$out_dir/summary.txt"
echo
echo "== summary (also in $out_dir/summary.txt)"
printf '%s\n' "$summary"
