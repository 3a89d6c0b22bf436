#!/usr/bin/env bash
# results.sh - time to evaluate every Measure of data/indicators ($evaluate-measure) on the
# coordination dataset of bench/dataset.mjs (RESOURCES resources, default 100000, with the
# inputs every indicator reads), imported into a SQLite database.
#
#   bench/results.sh [RESOURCES]      BENCH_BUILD=build BENCH_REPEAT=5 BENCH_OUT=bench/out
#                                     BENCH_DB=path (kept: imported once, reused after)
#
# Prints per Measure the median and the slowest of BENCH_REPEAT sequential requests (curl
# time_total, one connection each) for a whole year, with and without a municipality
# filter, and the server's CPU time per request (utime + stime of the server process over
# the requests, /proc; 10 ms ticks): on a machine shared with other work the wall time
# grows with the load, the CPU time does not.  The load is printed before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
bench_name=results
. bench/lib.sh
N=${1:-${BENCH_RESOURCES:-100000}}
BUILD=${BENCH_BUILD:-build}
REPEAT=${BENCH_REPEAT:-5}
OUT=${BENCH_OUT:-bench/out}
PORT=${BENCH_PORT:-18472}
mkdir -p "$OUT"
DATA="$OUT/dataset-$N-1"
[ -f "$DATA.ndjson" ] || node bench/dataset.mjs --resources "$N" --seed 1 --out "$DATA" >/dev/null
work=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/sv-results.XXXXXX")
TMP=$work
DB=${BENCH_DB:-$TMP/db}
if [ ! -f "$DB" ]; then
    "$BUILD/samverka" import --db "$DB" "$DATA.ndjson" >/dev/null
    "$BUILD/samverka" demo --db "$DB" >/dev/null # the Measures (and the demo organisations)
fi
"$BUILD/samverka" serve --listen "127.0.0.1:$PORT" --db "$DB" --watchdog 0 >"$TMP/log" 2>&1 &
server_pid=$!
server_log=$TMP/log
PID=$server_pid
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
MUN=$(grep -o '"id":"kommune-[^"]*"' "$DATA.ndjson" | head -1 | cut -d'"' -f4)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }
load() { echo "load average $(cut -d' ' -f1-3 /proc/loadavg), cpu pressure $(head -1 /proc/pressure/cpu 2>/dev/null | cut -d' ' -f2-3)"; }
TICK=$(getconf CLK_TCK)
echo "results bench: $N resources, $REPEAT requests each, period the dataset's last year (2025-11-01..2026-10-31)"
echo "before: $(load)"
printf '%-40s %-13s %7s %9s %9s %9s\n' measure filter cases median_ms max_ms cpu_ms
for m in $(ls data/indicators | sed 's/\.json$//'); do
    for filter in "" "&municipality=Organization/$MUN"; do
        url="http://127.0.0.1:$PORT/fhir/Measure/$m/\$evaluate-measure?periodStart=2025-11-01&periodEnd=2026-10-31$filter"
        times=()
        c0=$(cpu_ticks)
        for _ in $(seq "$REPEAT"); do
            t=$(curl -s -o "$TMP/body" -w '%{http_code} %{time_total}' "$url")
            [ "${t%% *}" = 200 ] || die "$m answered ${t%% *}: $(head -c 300 "$TMP/body")"
            times+=("${t#* }")
        done
        c1=$(cpu_ticks)
        cases=$(node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
            const p = (r.group || [])[0]?.population || [];
            const c = p.find((x) => x.code?.coding?.[0]?.code === "initial-population") || p[0];
            console.log(c ? (c.count ?? "masked") : "-")' "$TMP/body")
        sorted=$(printf '%s\n' "${times[@]}" | sort -g)
        med=$(echo "$sorted" | sed -n "$(((REPEAT + 1) / 2))p")
        max=$(echo "$sorted" | tail -1)
        printf '%-40s %-13s %7s %9.1f %9.1f %9.1f\n' "$m" "${filter:+municipality}" "$cases" \
            "$(echo "$med * 1000" | bc -l)" "$(echo "$max * 1000" | bc -l)" \
            "$(echo "($c1 - $c0) * 1000 / $TICK / $REPEAT" | bc -l)"
    done
done
echo "after: $(load)"
