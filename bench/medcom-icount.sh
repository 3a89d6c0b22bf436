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
bench_name=icount cg_tools=node
. "$repo/bench/callgrind.sh"
load() { node "$repo/bench/medcom-load.mjs" "http://127.0.0.1:$port" "$@"; }
known=()
[ "$citizens" -eq 0 ] || known=("$citizens")

CG_PLAIN=1 cg_start "$work/db"
[ "$citizens" -eq 0 ] || load preload "$citizens"
load send "$warm" 0 "${known[@]}"
cg_stop
cg_start "$work/db"
load send 20 "$warm" "${known[@]}"
cg_zero
load send "$count" $((warm + 20)) "${known[@]}"
cg_dump
total=$(cg_total 1)
[ -z "${BENCH_CG_OUT:-}" ] || cat "$work"/cg.*.1 >"$BENCH_CG_OUT"
echo "medcom citizens=$citizens: $count messages $(awk -v t="$total" -v n="$count" \
    'BEGIN {printf "%.0f", t / n}') instructions/message"
