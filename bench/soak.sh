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

die() {
    echo "soak: FAILED: $*" >&2
    exit 1
}
[[ $SOAK_SECONDS =~ ^[1-9][0-9]*$ ]] || die "SECONDS must be a whole number, not '$SOAK_SECONDS'"
for tool in node cmake; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"
done

server_pid=""
client_pid=""
work=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ -z "$client_pid" ] || kill -TERM "$client_pid" 2>/dev/null || true
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    exec 3>&- || true
    if [ "$rc" -ne 0 ] && [ -n "$work" ] && [ -s "$work/server.log" ]; then
        echo "soak: last lines of the server log:" >&2
        tail -n 10 "$work/server.log" | sed 's/^/    /' >&2
    fi
    [ -z "$work" ] || rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "soak: building a Release binary in $build_dir"
if ! log=$(cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release 2>&1 &&
    cmake --build "$build_dir" --target samverka -j"$(nproc)" 2>&1); then
    printf '%s\n' "$log" | tail -n 40 >&2
    die "the Release build failed"
fi
bin=$build_dir/samverka

mkdir -p "$tmp_parent" "$(dirname "$SOAK_OUT")"
work=$(mktemp -d "$tmp_parent/samverka-soak.XXXXXX")
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
