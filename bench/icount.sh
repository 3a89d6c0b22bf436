#!/usr/bin/env bash
# icount.sh BIN MODE PATHS N [DB] - user-space instructions per request of the server, counted
# by callgrind: steady where CPU time is not (a shared, loaded machine moves CPU per request by
# half, instruction counts by a few per cent).  Kernel time (page copies, syscalls) is not in it.
#
#   BIN    the samverka binary (e.g. build-bench/samverka)
#   MODE   on | off: --auth; with on, logs in as the nurse bench/policy.sh creates
#          (user nurse, password bench-pw-Secret-1)
#   PATHS  a file of request paths, one a line (bench/policy.sh keeps its lists in
#          BENCH_OUT/policy-paths/; bench/search-cpu.sh's queries are built the same way)
#   N      requests counted, after BENCH_WARM (default 50) warm-up requests; the paths are
#          taken in a fixed order that strides through the file, so runs compare
#   DB     the database (default BENCH_OUT/policy-100000-1.db from BENCH_DB_DIR)
#
# The server runs under valgrind with one worker thread; its other threads (the audit log's
# writer) are counted too, as they work for the requests.  Under valgrind requests are ~50x
# slower, so the once-a-second audit flush makes the session and policy memos miss more often
# than at full speed: the figures for auth on are a little pessimistic.
set -euo pipefail
bin=${1:?usage: icount.sh BIN on|off PATHS N [DB]}
mode=${2:?}
paths=${3:?}
n=${4:?}
db=${5:?usage: icount.sh BIN on|off PATHS N DB}
warm=${BENCH_WARM:-50}
bench_name=icount cg_tools=curl
. "$(cd "$(dirname "$0")" && pwd)/callgrind.sh"
cg_start "$db" --auth "$mode"
header=()
if [ "$mode" = on ]; then
    cookie=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' \
        -d '{"username":"nurse","password":"bench-pw-Secret-1"}' \
        "http://127.0.0.1:$port/auth/login" | sed -n 's/^Set-Cookie: \(samverka_session=[^;]*\).*/\1/p')
    [ -n "$cookie" ] || { echo "icount: login failed" >&2; exit 1; }
    header=(-H "Cookie: $cookie")
fi
# curl config files: one url and output per request, so that one curl keeps one connection
awk -v n=$((n + warm)) '{a[NR] = $0} END {for (i = 0; i < n; i++) print a[1 + (i * 7919) % NR]}' \
    "$paths" | sed "s|^|url = \"http://127.0.0.1:$port|; s|\$|\"\noutput = \"/dev/null\"|" >"$work/urls"
head -n $((2 * warm)) "$work/urls" >"$work/warm"
tail -n +$((2 * warm + 1)) "$work/urls" >"$work/timed"
[ "$warm" -eq 0 ] || curl -s "${header[@]}" -K "$work/warm"
cg_zero
codes=$(curl -s -w '%{http_code}\n' "${header[@]}" -K "$work/timed" | sort | uniq -c | tr -s ' \n' ' ')
cg_dump
total=$(cg_total 1)
echo "$(basename "$paths") auth $mode: $n requests (status: $codes) $(awk -v t="$total" -v n="$n" \
    'BEGIN {printf "%.0f", t / n}') instructions/request"
