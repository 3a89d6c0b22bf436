#!/usr/bin/env bash
# medcom.sh - throughput of POST /fhir/$process-message for MedCom HospitalNotification
# admissions (bench/wrk/medcom.lua): a Release build on 127.0.0.1 with a fresh SQLite
# database on a real disk, driven by wrk over loopback, acknowledgements included (each
# answer is checked to be a 200 with an ok acknowledgement; any other answer fails the run).
#
# Settings (environment): BENCH_SECONDS=10, BENCH_CONNECTIONS=8, BENCH_WRK_THREADS=2,
# BENCH_SERVER_THREADS= (empty: the server's default), BENCH_MEDCOM_REPEAT=1 (admissions
# per citizen), BENCH_MEDCOM_CITIZENS=0 (N > 0: the municipality's N citizens are loaded first,
# with bench/medcom-load.mjs preload, and every message admits one of them: the realistic case;
# 0: every message brings a new citizen), BENCH_BUILD=build-bench, BENCH_BIN= (a binary to run
# instead of building one, e.g. main's for a comparison), BENCH_TMPDIR=$TMPDIR,
# BENCH_PERF=FILE (record the server with `perf record ${BENCH_PERF_OPTS:--g}` into FILE during
# the run; `perf report -i FILE` reads it).
# It never leaves a process behind: the EXIT trap stops the server.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
seconds=${BENCH_SECONDS:-10}
connections=${BENCH_CONNECTIONS:-8}
wrk_threads=${BENCH_WRK_THREADS:-2}
server_threads=${BENCH_SERVER_THREADS:-}
build_dir=${BENCH_BUILD:-$repo/build-bench}
tmp_parent=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}

command -v wrk >/dev/null 2>&1 || { echo "bench: wrk is missing: apt-get install wrk" >&2; exit 1; }
if [ -n "${BENCH_BIN:-}" ]; then # a binary built elsewhere (e.g. main's, to compare)
    bin=$BENCH_BIN
else
    cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build_dir" --target samverka -j"$(nproc)" >/dev/null
    bin=$build_dir/samverka
fi

work=$(mktemp -d "$tmp_parent/samverka-medcom.XXXXXX")
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

args=(serve --listen 127.0.0.1:0 --db "$work/bench.db" --log-level warn)
[ -z "$server_threads" ] || args+=(--threads "$server_threads")
# BENCH_SERVER_ARGS: more arguments for the server (e.g. "--medcom-batch-wait 1").
read -r -a extra_args <<<"${BENCH_SERVER_ARGS:-}"
args+=("${extra_args[@]}")
"$bin" "${args[@]}" >"$work/stdout" 2>"$work/stderr" &
server_pid=$!
base=
for _ in $(seq 1 200); do
    base=$(grep -o 'http://[^ ]*' "$work/stdout" 2>/dev/null | head -n 1 || true)
    [ -n "$base" ] && break
    sleep 0.05
done
[ -n "$base" ] || { echo "bench: the server did not start" >&2; cat "$work/stderr" >&2; exit 1; }

citizens=${BENCH_MEDCOM_CITIZENS:-0}
if [ "$citizens" -gt 0 ]; then
    command -v node >/dev/null 2>&1 || { echo "bench: node is missing" >&2; exit 1; }
    node "$repo/bench/medcom-load.mjs" "$base" preload "$citizens"
    echo "bench: $citizens citizens loaded"
fi

echo "bench: $(nproc) cpus, $(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
echo "bench: database on $(df --output=fstype "$work" | tail -n 1), samverka $("$bin" version)"
ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
uticks() { awk '{print $14}' "/proc/$server_pid/stat"; }
hz=$(getconf CLK_TCK)
echo "bench: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench: $wrk_threads wrk threads, $connections connections, ${seconds}s, repeat=${BENCH_MEDCOM_REPEAT:-1}, citizens=$citizens"
perf_pid=
if [ -n "${BENCH_PERF:-}" ]; then
    perf record ${BENCH_PERF_OPTS:--g} -q -o "$BENCH_PERF" -p "$server_pid" 2>/dev/null &
    perf_pid=$!
fi
# Read system calls of the server (/proc/PID/io syscr): the page-cache misses of
# SQLite's connections are preads.
reads() { awk '/^syscr/ {print $2}' "/proc/$server_pid/io"; }
cpu_before=$(ticks)
reads_before=$(reads)
user_before=$(uticks)
times >"$work/times"; client_before=$(tail -n 1 "$work/times")
out=$(BENCH_WRK_DIR="$repo/bench/wrk" BENCH_MEDCOM_CITIZENS=$citizens BENCH_MEDCOM_TEMPLATE="$repo/tests/data/medcom/a1_stin.json" \
    wrk -t"$wrk_threads" -c"$connections" -d"${seconds}s" --latency \
    -s "$repo/bench/wrk/medcom.lua" "$base" 2>&1)
cpu_after=$(ticks)
reads_after=$(reads)
user_after=$(uticks)
times >"$work/times"; client_after=$(tail -n 1 "$work/times")
if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
fi
printf '%s\n' "$out"
check=$(printf '%s\n' "$out" | grep '^bench-check:' || true)
ok=$(printf '%s\n' "$check" | sed -n 's/.*ok=\([0-9]*\).*/\1/p')
bad=$(printf '%s\n' "$check" | sed -n 's/.*unexpected=\([0-9]*\).*/\1/p')
[ "${bad:-1}" = 0 ] || { echo "bench: FAILED: $bad answers were not ok acknowledgements" >&2; exit 1; }
printf 'bench: %s acknowledged messages, %.0f msg/s, server CPU %.0f us per message (user+system; user %.0f)\n' \
    "$ok" "$(echo "$ok / $seconds" | bc -l)" \
    "$(echo "($cpu_after - $cpu_before) * 1000000 / $hz / ($ok + 0.000001)" | bc -l)" \
    "$(echo "($user_after - $user_before) * 1000000 / $hz / ($ok + 0.000001)" | bc -l)"
# times: "0m1.234s 0m0.567s" for the shell's children (wrk), user and system.
secs() { echo "$1" | awk '{t = 0; for (i = 1; i <= 2; i++) {split($i, a, /[ms]/); t += a[1] * 60 + a[2]} print t}'; }
printf 'bench: server read system calls %.1f per message\n' \
    "$(echo "($reads_after - $reads_before) / ($ok + 0.000001)" | bc -l)"
printf 'bench: client (wrk) CPU %.0f us per message\n' \
    "$(echo "($(secs "$client_after") - $(secs "$client_before")) * 1000000 / ($ok + 0.000001)" | bc -l)"
echo "bench: server resident memory after the run: $(awk '/^VmRSS/ {printf "%.1f MiB", $2 / 1024}' "/proc/$server_pid/status")"
echo "bench: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
# The writer's counters: transactions per commit, messages per batch, how many ran in a savepoint.
metrics=$(curl -sf "$base/metrics" || true)
metric() { printf '%s\n' "$metrics" | awk -v m="$1" '$1 == m {print $2 + 0}'; }
echo "bench: writer: $(metric samverka_db_write_transactions_total) transactions," \
    "$(metric samverka_db_commits_total) commits, $(metric samverka_db_write_transactions_joined_total) joined," \
    "$(metric samverka_db_log_syncs_total) syncs, $(metric samverka_db_checkpoints_total) checkpoints;" \
    "medcom $(metric samverka_medcom_batches_total) batches, $(metric samverka_medcom_batch_messages_total) messages," \
    "$(metric samverka_medcom_refusals_total) refused;" \
    "seconds: applying $(metric samverka_medcom_apply_seconds_total)" \
    "(CPU $(metric samverka_medcom_apply_cpu_seconds_total))," \
    "in COMMIT $(metric samverka_db_commit_seconds_total) (of it the writer's checkpoints" \
    "$(metric samverka_db_writer_checkpoint_seconds_total)), syncing $(metric samverka_db_log_sync_seconds_total);" \
    "log frames $(metric samverka_db_log_frames_total)"
