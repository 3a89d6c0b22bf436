#!/usr/bin/env bash
# results.sh - time to evaluate Measures ($evaluate-measure) on the coordination dataset of
# bench/dataset.mjs (RESOURCES resources, default 100000), imported into a fresh SQLite
# database.  The dataset has Tasks with deadlines and stays, no discharge-ready marks: the
# stay-ready Measures are timed on an empty case list (the index range is still walked).
#
#   bench/results.sh [RESOURCES]      BENCH_BUILD=build BENCH_REPEAT=5 BENCH_OUT=bench/out
#
# Prints per Measure the median and the slowest of BENCH_REPEAT sequential requests (curl
# time_total, one connection each) for a whole year, with and without a municipality filter.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-${BENCH_RESOURCES:-100000}}
BUILD=${BENCH_BUILD:-build}
REPEAT=${BENCH_REPEAT:-5}
OUT=${BENCH_OUT:-bench/out}
PORT=${BENCH_PORT:-18472}
mkdir -p "$OUT"
DATA="$OUT/dataset-$N-1"
[ -f "$DATA.ndjson" ] || node bench/dataset.mjs --resources "$N" --seed 1 --out "$DATA" >/dev/null
TMP=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/sv-results.XXXXXX")
trap 'kill $PID 2>/dev/null || true; rm -rf "$TMP"' EXIT
"$BUILD/samverka" import --db "$TMP/db" "$DATA.ndjson" >/dev/null
"$BUILD/samverka" demo --db "$TMP/db" >/dev/null # the Measures (and the demo organisations)
"$BUILD/samverka" serve --listen "127.0.0.1:$PORT" --db "$TMP/db" --watchdog 0 >"$TMP/log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
MUN=$(grep -o '"id":"kommune-[^"]*"' "$DATA.ndjson" | head -1 | cut -d'"' -f4)
echo "results bench: $N resources, $REPEAT requests each, period the dataset's last year (2025-11-01..2026-10-31)"
printf '%-40s %-14s %10s %10s\n' measure filter median_ms max_ms
for m in task-deadlines-kept acute-readmission-30d coordinator-and-agreed-plan goals-achieved \
    discharge-ready-days discharge-ready-bed-days-per-1000-65; do
    for filter in "" "&municipality=Organization/$MUN"; do
        url="http://127.0.0.1:$PORT/fhir/Measure/$m/\$evaluate-measure?periodStart=2025-11-01&periodEnd=2026-10-31$filter"
        times=()
        for _ in $(seq "$REPEAT"); do
            t=$(curl -s -o "$TMP/body" -w '%{http_code} %{time_total}' "$url")
            [ "${t%% *}" = 200 ] || { echo "bench: $m answered ${t%% *}: $(head -c 300 "$TMP/body")"; exit 1; }
            times+=("${t#* }")
        done
        sorted=$(printf '%s\n' "${times[@]}" | sort -g)
        med=$(echo "$sorted" | sed -n "$(((REPEAT + 1) / 2))p")
        max=$(echo "$sorted" | tail -1)
        printf '%-40s %-14s %10.1f %10.1f\n' "$m" "${filter:+municipality}" \
            "$(echo "$med * 1000" | bc -l)" "$(echo "$max * 1000" | bc -l)"
    done
done
