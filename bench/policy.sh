#!/usr/bin/env bash
# policy.sh - what the access policy costs (issue 4, must-show 5): read-by-id and search
# throughput of one practitioner with `--auth on` (session check, the access filter inside
# every query, the audit record with its purpose) against the same requests with
# `--auth off` (no credentials, no filter; reads are audited all the same), on the
# seeded coordination dataset of bench/dataset.mjs, driven by wrk.
#
# The practitioner is a nurse (role nurse: coordination, medication, clinical) of one
# home-care district D, which is on the CareTeam (onBehalfOf) of its citizens.  Queries,
# each with values drawn from D's citizens, so that every answer under the policy is the
# same as without it:
#   read        GET Observation/{id}
#   obs-patient GET Observation?patient={id}
#   task-owner  GET Task?owner=Organization/D&status=requested,accepted,in-progress&_sort=deadline
#   task-patient GET Task?patient=Patient/{id}
# Before the timed runs curl checks that the policy is on: a citizen of another district
# is 404 to the nurse, and a sampled read is 200 to her.
#
# Settings (environment):
#   BENCH_RESOURCES=100000  dataset size; BENCH_SEED=1 its seed
#   BENCH_SECONDS=10        duration of each wrk run; BENCH_CONNECTIONS=16; BENCH_WRK_THREADS=2
#   BENCH_BUILD=build-bench BENCH_OUT=bench/out BENCH_TMPDIR=$TMPDIR
#   BENCH_DB_DIR=            keep the imported database there and reuse it next time
# Beside throughput, the server's own CPU time per request (/proc/PID/stat), which other
# load on a shared machine disturbs far less.
# Writes BENCH_OUT/policy-summary.txt.  Exit 1 on any non-2xx answer, a failed check or import.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
resources=${BENCH_RESOURCES:-100000}
seed=${BENCH_SEED:-1}
seconds=${BENCH_SECONDS:-10}
connections=${BENCH_CONNECTIONS:-16}
wrk_threads=${BENCH_WRK_THREADS:-2}
build_dir=${BENCH_BUILD:-$repo/build-bench}
out_dir=${BENCH_OUT:-$repo/bench/out}
tmp_parent=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
wrk_dir=$repo/bench/wrk

die() {
    echo "bench: FAILED: $*" >&2
    exit 1
}
for tool in wrk curl node cmake sqlite3; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"
done

server_pid=""
work=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    exec 3>&- 2>/dev/null || true
    [ -z "$work" ] || rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "bench: building a Release binary in $build_dir"
cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null || die "cmake failed"
cmake --build "$build_dir" -j"$(nproc)" --target samverka >/dev/null || die "the build failed"
bin=$build_dir/samverka

mkdir -p "$out_dir"
data=$out_dir/dataset-$resources-$seed
if [ ! -s "$data.stats.txt" ] || [ ! -s "$data.ndjson" ] ||
    [ "$data.ndjson" -ot "$repo/bench/dataset.mjs" ]; then
    echo "bench: generating $resources resources (seed $seed)"
    node "$repo/bench/dataset.mjs" --resources "$resources" --seed "$seed" --out "$data" >/dev/null ||
        die "dataset.mjs failed"
fi
total=$(awk '$1 == "total" {print $2}' "$data.stats.txt")

work=$(mktemp -d "$tmp_parent/samverka-policy.XXXXXX")
db=$work/samverka.db
if [ -n "${BENCH_DB_DIR:-}" ]; then
    mkdir -p "$BENCH_DB_DIR"
    db=$(cd "$BENCH_DB_DIR" && pwd)/policy-$resources-$seed.db
fi
paths=$work/paths
mkdir -p "$paths"

# The district with the most citizens, its citizens, their Observations, and a citizen
# of another district (the negative check).
node - "$data.ndjson" "$paths" <<'JS' || die "choosing the district failed"
const fs = require("node:fs");
const [file, dir] = process.argv.slice(2);
const team = new Map(); // district -> [patient]
const obs = new Map(); // patient -> [observation id]
for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (!line) continue;
    const r = JSON.parse(line);
    if (r.resourceType === "CareTeam") {
        const d = r.participant.find((p) => p.onBehalfOf)?.onBehalfOf.reference.slice(13);
        const p = r.subject.reference.slice(8);
        if (!team.has(d)) team.set(d, []);
        team.get(d).push(p);
    } else if (r.resourceType === "Observation") {
        const p = r.subject.reference.slice(8);
        if (!obs.has(p)) obs.set(p, []);
        obs.get(p).push(r.id);
    }
}
const [district, mine] = [...team].sort((a, b) => b[1].length - a[1].length)[0];
const other = [...team].find(([d]) => d !== district)[1][0];
const w = (name, lines) => fs.writeFileSync(`${dir}/${name}`, lines.join("\n") + "\n");
w("district", [district]);
w("other", [`/fhir/Patient/${other}`]);
w("read", mine.flatMap((p) => (obs.get(p) || []).map((o) => `/fhir/Observation/${o}`)));
w("obs-patient", mine.map((p) => `/fhir/Observation?patient=${p}`));
w("task-patient", mine.map((p) => `/fhir/Task?patient=Patient/${p}`));
w("task-owner", [`/fhir/Task?owner=Organization/${district}&status=requested,accepted,in-progress&_sort=deadline`]);
console.log(`${district} ${mine.length}`);
JS
district=$(cat "$paths/district")
mkdir -p "$out_dir/policy-paths" && cp "$paths"/* "$out_dir/policy-paths/" # for bench/icount.sh
echo "bench: district $district with $(wc -l <"$paths/obs-patient") citizens"

# The nurse of the district, as a PractitionerRole next to the dataset.
cat >"$work/nurse.ndjson" <<JSON
{"resourceType":"PractitionerRole","id":"bench-nurse","active":true,"organization":{"reference":"Organization/$district"},"code":[{"coding":[{"system":"http://samverka.dk/fhir/CodeSystem/role","code":"nurse"}]}]}
JSON
import_s=reused
if [ ! -s "$db" ] || ! "$bin" user list --db "$db" | grep -q '^nurse'; then
    rm -f "$db" "$db-wal" "$db-shm"
    echo "bench: importing $total resources"
    t0=$EPOCHREALTIME
    "$bin" import --db "$db" "$data.ndjson" "$work/nurse.ndjson" >"$work/import.out" 2>&1 ||
        { tail -n 5 "$work/import.out" >&2; die "the import failed"; }
    import_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}')s
    echo 'bench-pw-Secret-1' | "$bin" user add --db "$db" --username nurse --kind practitioner \
        --practitioner-role bench-nurse --password-stdin >/dev/null || die "user add failed"
fi

mkfifo "$work/stdout"
start_server() { # auth on|off
    local line=""
    "$bin" serve --listen 127.0.0.1:0 --db "$db" --log-level warn --auth "$1" --watchdog 0 \
        >"$work/stdout" 2>"$work/server-$1.log" &
    server_pid=$!
    exec 3<"$work/stdout"
    read -r -t 120 -u 3 line || die "the server did not start (auth $1)"
    [[ $line =~ listening\ on\ http://127\.0\.0\.1:([0-9]+)$ ]] || die "unexpected: '$line'"
    port=${BASH_REMATCH[1]}
}
stop_server() {
    kill -TERM "$server_pid"
    wait "$server_pid" || die "the server did not exit cleanly"
    server_pid=""
    exec 3<&-
}

# The server's CPU time so far (user + system, clock ticks): on a shared machine the
# CPU a request costs the server moves far less than its throughput does.
server_ticks() {
    awk '{print $14 + $15}' "/proc/$server_pid/stat"
}

run_wrk() { # query, mode; prints req/s, p50 and server CPU µs per request, fails on errors
    local out=$out_dir/policy-$1-$2.txt
    local t0
    t0=$(server_ticks)
    BENCH_WRK_DIR=$wrk_dir BENCH_PATHS=$paths/$1 BENCH_HEADER=$header \
        wrk -t"$wrk_threads" -c"$connections" -d"${seconds}s" --timeout 10s --latency \
        -s "$wrk_dir/paths.lua" "http://127.0.0.1:$port/" >"$out" 2>&1 || die "wrk failed: $(cat "$out")"
    ! grep -q "Non-2xx\|Socket errors" "$out" || die "$1 ($2): errors: $(grep 'Non-2xx\|Socket' "$out")"
    local rps p50 n cpu
    rps=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' "$out")
    p50=$(awk '$1 == "50%" {print $2}' "$out")
    n=$(awk '/requests in/ {print $1}' "$out")
    cpu=$(awk -v a="$t0" -v b="$(server_ticks)" -v n="$n" -v hz="$(getconf CLK_TCK)" \
        'BEGIN {printf "%.0f", (b - a) * 1e6 / hz / n}')
    echo "$rps $p50 $cpu"
}

read -r -a queries <<<"${BENCH_QUERIES:-read obs-patient task-patient task-owner}"
declare -A result
read -r -a modes <<<"${BENCH_MODES:-off on}" # the order, to see what running second gains
for mode in "${modes[@]}"; do
    start_server "$mode"
    header=""
    if [ "$mode" = on ]; then
        cookie=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' \
            -d '{"username":"nurse","password":"bench-pw-Secret-1"}' \
            "http://127.0.0.1:$port/auth/login" | sed -n 's/^Set-Cookie: \(samverka_session=[^;]*\).*/\1/p')
        [ -n "$cookie" ] || die "login failed"
        header="Cookie: $cookie"
        code=$(curl -s -o /dev/null -w '%{http_code}' -H "$header" "http://127.0.0.1:$port$(cat "$paths/other")")
        [ "$code" = 404 ] || die "a citizen of another district answered $code to the nurse, not 404"
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' ${header:+-H "$header"} \
        "http://127.0.0.1:$port$(head -n 1 "$paths/read")")
    [ "$code" = 200 ] || die "a sampled read answered $code (auth $mode)"
    n=$(curl -s ${header:+-H "$header"} "http://127.0.0.1:$port$(head -n 1 "$paths/obs-patient")&_total=accurate" |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).total))')
    echo "bench: auth $mode: Observation?patient= sample total $n"
    for q in "${queries[@]}"; do
        result[$q-$mode]=$(run_wrk "$q" "$mode")
        echo "bench: auth $mode $q: ${result[$q-$mode]}"
    done
    stop_server
done

summary=$out_dir/policy-summary.txt
{
    echo "policy cost: $total resources, district $district, $connections connections, ${seconds}s each, commit $(git -C "$repo" rev-parse --short HEAD)"
    echo "(cpu: the server's CPU µs per request; cpu off/on: the throughput that CPU allows, on against off)"
    printf '%-14s %10s %10s %8s %10s %10s %8s %8s %10s\n' query "off req/s" "off p50" "off cpu" \
        "on req/s" "on p50" "on cpu" "on/off" "cpu off/on"
    for q in "${queries[@]}"; do
        read -r off_rps off_p50 off_cpu <<<"${result[$q-off]}"
        read -r on_rps on_p50 on_cpu <<<"${result[$q-on]}"
        printf '%-14s %10s %10s %8s %10s %10s %8s %7s%% %9s%%\n' "$q" "$off_rps" "$off_p50" "$off_cpu" \
            "$on_rps" "$on_p50" "$on_cpu" \
            "$(awk -v a="$on_rps" -v b="$off_rps" 'BEGIN {printf "%.0f", 100 * a / b}')" \
            "$(awk -v a="$off_cpu" -v b="$on_cpu" 'BEGIN {printf "%.0f", 100 * a / b}')"
    done
    echo "import $import_s"
} | tee "$summary"
