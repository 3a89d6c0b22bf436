#!/usr/bin/env bash
# search-cpu.sh DB [ROUNDS] - server CPU per request of the organisation queries and counts
# of bench/search.sh, on a database it imported (BENCH_DB_DIR), with one client sending the
# requests one after another to `samverka serve --threads 1` (bench/search-cpu.mjs).
# The owners, providers and recipients come from the dataset's lists in BENCH_OUT
# (BENCH_RESOURCES, BENCH_SEED as for search.sh); each is asked ROUNDS times (default 3),
# each count ten times as often.  BENCH_BIN: the binary (default build-bench/samverka).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bench_name=search-cpu
. "$repo/bench/lib.sh"
db=${1:?usage: search-cpu.sh DB [ROUNDS]}
rounds=${2:-3}
bin=${BENCH_BIN:-$repo/build-bench/samverka}
data=${BENCH_OUT:-$repo/bench/out}/dataset-${BENCH_RESOURCES:-1000000}-${BENCH_SEED:-1}
[ -s "$data.owners.txt" ] || die "no dataset lists at $data.*"
work=$(mktemp -d)
sed 's|.*|/fhir/Task?owner=Organization/&\&status=requested,accepted,in-progress\&_sort=deadline|' \
    "$data.owners.txt" >"$work/task-owner"
sed 's|.*|/fhir/Encounter?service-provider=Organization/&\&status=in-progress|' \
    "$data.providers.txt" >"$work/encounter-provider"
sed 's|.*|/fhir/Communication?recipient=Organization/&\&_sort=-sent|' \
    "$data.recipients.txt" >"$work/communication"
echo "/fhir/Task?status=completed&_summary=count&_total=accurate" >"$work/count-completed"
echo "/fhir/Task?intent=order&_summary=count&_total=accurate" >"$work/count-tasks"
echo "/fhir/Observation?code=http://loinc.org%7C29463-7&_summary=count&_total=accurate" \
    >"$work/count-observations"
mkfifo "$work/stdout"
exec 3<>"$work/stdout"
"$bin" serve --listen 127.0.0.1:0 --db "$db" --log-level warn --threads 1 >&3 2>"$work/log" &
server_pid=$!
read -r -t 120 line <&3 || die "the server did not start"
port=${line##*:}
export CLK_TCK=$(getconf CLK_TCK)
node "$repo/bench/search-cpu.mjs" "$port" "$server_pid" "$rounds" \
    "$work/task-owner" "$work/encounter-provider" "$work/communication"
node "$repo/bench/search-cpu.mjs" "$port" "$server_pid" $((rounds * 10)) \
    "$work/count-completed" "$work/count-tasks" "$work/count-observations"
