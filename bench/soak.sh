#!/usr/bin/env bash
# soak.sh - samverka under a steady mixed load for a long time (not in make check):
#
#   bench/soak.sh [SECONDS]        (default 600; SOAK_SECONDS also works)
#
# Builds the Release binary (as bench/run.sh, in build-bench/), starts it with
# authentication on (`--auth on`, a system/*.* bearer token from `samverka token create`,
# so policy and read audit run on every request) on a fresh SQLite database, and runs
# bench/soak.mjs: SOAK_CONNECTIONS keep-alive connections of reads, searches, creates,
# updates and transactions, a sample every SOAK_INTERVAL s of latency percentiles,
# errors, VmRSS, open fds and threads.  Fails (exit 1) when a request errs, resident
# memory grows more than SOAK_RSS_GROWTH after SOAK_WARMUP s, fds leak, threads grow,
# or the server does not stop cleanly on SIGTERM; `samverka audit verify` must pass after.
#
# Settings (environment, see soak.mjs for the rest): SOAK_THREADS=8 (--threads),
# SOAK_CONNECTIONS=8, SOAK_INTERVAL=30,
# SOAK_WARMUP=120, SOAK_RSS_GROWTH=0.05, SOAK_BUILD=build-bench, SOAK_TMPDIR=$TMPDIR,
# SOAK_OUT=bench/out/soak.md (the result table). Run it under `nice` on a shared machine.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
export SOAK_SECONDS=${1:-${SOAK_SECONDS:-600}}
build_dir=${SOAK_BUILD:-$repo/build-bench}
tmp_parent=${SOAK_TMPDIR:-${TMPDIR:-/tmp}}
export SOAK_OUT=${SOAK_OUT:-$repo/bench/out/soak.md}
bench_name=soak
. "$repo/bench/lib.sh"
[[ $SOAK_SECONDS =~ ^[1-9][0-9]*$ ]] || die "SECONDS must be a whole number, not '$SOAK_SECONDS'"
for tool in node cmake; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"
done

bench_build_release "$build_dir"

mkdir -p "$tmp_parent" "$(dirname "$SOAK_OUT")"
work=$(mktemp -d "$tmp_parent/samverka-soak.XXXXXX")
server_log=$work/server.log
db=$work/soak.db
token=$("$bin" token create --client soak --scope 'system/*.*' --db "$db") || die "token create failed"
mkfifo "$work/stdout"
exec 3<>"$work/stdout"
export SOAK_THREADS=${SOAK_THREADS:-8}
"$bin" serve --listen 127.0.0.1:0 --db "$db" --auth on --threads "$SOAK_THREADS" >&3 \
    2>"$work/server.log" &
server_pid=$!
read -r -t 30 -u 3 line || die "the server was not listening after 30 s"
[[ $line =~ ^samverka\ listening\ on\ (http://127\.0\.0\.1:[0-9]+)$ ]] ||
    die "unexpected first line from the server: '$line'"
url=${BASH_REMATCH[1]}

cat <<EOF
soak: $(date -u +%Y-%m-%dT%H:%M:%SZ), samverka $("$bin" version) at $(git -C "$repo" rev-parse --short HEAD), Release
soak: $(nproc) x $(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo), loadavg $(cut -d' ' -f1-3 /proc/loadavg)
soak: server pid $server_pid at $url, --auth on, database $(df --output=fstype "$work" | tail -n 1)
EOF

rc=0
SOAK_URL=$url SOAK_PID=$server_pid SOAK_TOKEN=$token node "$repo/bench/soak.mjs" &
client_pid=$!
wait "$client_pid" || rc=$?
client_pid=""

kill -TERM "$server_pid"
src=0
wait "$server_pid" || src=$?
server_pid=""
[ "$src" -eq 0 ] || die "the server exited with status $src after SIGTERM"
"$bin" audit verify --db "$db" >/dev/null || die "samverka audit verify failed after the soak"
echo "soak: the server stopped cleanly; audit verify passed; table in $SOAK_OUT"
exit "$rc"
