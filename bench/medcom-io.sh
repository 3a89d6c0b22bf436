#!/usr/bin/env bash
# medcom-io.sh BIN COUNT - server CPU time (utime+stime from /proc/PID/stat) and bytes
# written (/proc/PID/io write_bytes: the log and the checkpoints' copies into the database
# file) per MedCom admission, COUNT admissions sent one at a time (bench/medcom-load.mjs send,
# so one message per commit) after 200 warm-up ones, 10,000 known citizens preloaded.
# Steadier than bench/medcom.sh's throughput on a loaded machine; the bytes do not depend
# on the load at all.  BIN: the samverka binary (e.g. build/samverka).
set -euo pipefail
bin=${1:?usage: medcom-io.sh BIN COUNT}
count=${2:?}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d -p "${BENCH_TMPDIR:-/var/tmp}") # a real disk
mkfifo "$work/out"
"$bin" serve --listen 127.0.0.1:0 --db "$work/db" --log-level warn --watchdog 0 \
    >"$work/out" 2>"$work/log" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
exec 3<"$work/out"
read -r -t 600 -u 3 line || { echo "medcom-io: the server did not start" >&2; cat "$work/log" >&2; exit 1; }
port=${line##*:}
load() { node "$repo/bench/medcom-load.mjs" "http://127.0.0.1:$port" "$@"; }
load preload 10000 >/dev/null
load send 200 0 10000 >/dev/null
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
written() { awk '/^write_bytes/ {print $2}' "/proc/$pid/io"; }
t0=$(ticks)
w0=$(written)
load send "$count" 200 10000 >/dev/null
t1=$(ticks)
w1=$(written)
hz=$(getconf CLK_TCK)
echo "medcom-io: $count admissions, server CPU $(((t1 - t0) * 1000000 / hz / count)) us and" \
    "$(((w1 - w0) / count / 1024)) KB written per message"
