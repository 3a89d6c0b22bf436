#!/usr/bin/env bash
# medcom-icount.sh BIN COUNT [CITIZENS] - user-space instructions per MedCom admission
# (POST /fhir/$process-message, bench/medcom-load.mjs send), counted by callgrind like
# bench/icount.sh: steady on a loaded machine, where CPU time per message is not.  Kernel time
# (the WAL writes, fsync) is not in it; bench/medcom.sh measures CPU time.
#
#   BIN       the samverka binary (e.g. build-bench/samverka)
#   COUNT     messages counted, after BENCH_WARM (default 100) warm-up messages sent at full
#             speed and 20 more under valgrind
#   CITIZENS  0 (default): every message brings a new citizen; N: N citizens of the
#             municipality are loaded first (bench/medcom-load.mjs preload) and the messages
#             are admissions of them
#
# BENCH_CG_OUT=FILE keeps the callgrind output (callgrind_annotate --inclusive=yes FILE).
# The server runs with one worker thread; its other threads are counted too.
set -euo pipefail
bin=${1:?usage: medcom-icount.sh BIN COUNT [CITIZENS]}
count=${2:?}
citizens=${3:-0}
warm=${BENCH_WARM:-100}
repo=$(cd "$(dirname "$0")/.." && pwd)
for tool in valgrind callgrind_control node; do
    command -v "$tool" >/dev/null 2>&1 || { echo "icount: $tool is missing" >&2; exit 1; }
done
work=$(mktemp -d)
server_pid=""
stop() {
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap 'stop; rm -rf "$work"' EXIT
# start PREFIX...: the server on $work/db, its port in $port
start() {
    rm -f "$work/out"
    mkfifo "$work/out"
    "$@" "$bin" serve --listen 127.0.0.1:0 --db "$work/db" --log-level warn --watchdog 0 \
        --threads 1 >"$work/out" 2>>"$work/log" &
    server_pid=$!
    exec 3<"$work/out"
    read -r -t 600 -u 3 line || { echo "icount: the server did not start" >&2; cat "$work/log" >&2; exit 1; }
    port=${line##*:}
}
load() { node "$repo/bench/medcom-load.mjs" "http://127.0.0.1:$port" "$@"; }
known=()
[ "$citizens" -eq 0 ] || known=("$citizens")

start
[ "$citizens" -eq 0 ] || load preload "$citizens"
load send "$warm" 0 "${known[@]}"
stop
start valgrind --tool=callgrind --callgrind-out-file="$work/cg.%p"
load send 20 "$warm" "${known[@]}"
callgrind_control -z "$server_pid" >/dev/null 2>&1
load send "$count" $((warm + 20)) "${known[@]}"
callgrind_control -d "$server_pid" >/dev/null 2>&1
sleep 1
total=$(cat "$work"/cg.*.1 2>/dev/null | awk '/^summary:/ {s += $2} END {print s + 0}')
[ -z "${BENCH_CG_OUT:-}" ] || cat "$work"/cg.*.1 >"$BENCH_CG_OUT"
echo "medcom citizens=$citizens: $count messages $(awk -v t="$total" -v n="$count" \
    'BEGIN {printf "%.0f", t / n}') instructions/message"
