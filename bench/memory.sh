#!/usr/bin/env bash
# memory.sh - the server's resident memory with a large database open (issue 9: under
# 50 MB with the 1M-resource dataset):
#
#   bench/memory.sh DB        (a samverka SQLite database, e.g. one bench/search.sh made)
#
# DB is opened read-write (a token is added, the read audit appends records): give it a
# copy (`cp --reflink=auto`), never a database you must keep unchanged.
# Builds the Release binary (as bench/run.sh, in build-bench/), starts it with
# authentication on (a system/*.* bearer token, so the access policy and the read audit
# run on every request), takes VmRSS, RssAnon, RssFile and VmHWM after start-up, every 5 s
# of a mixed read and search load (bench/memory.mjs: reads of Patients and Tasks, Patient
# by CPR, a citizen's open Tasks, Encounters and CarePlans, the first page of
# $everything, for citizens drawn from the whole database), and again idle after it.
# Fails (exit 1) on any error answer.
#
# Settings (environment): MEMORY_REQUESTS=20000, MEMORY_CONNECTIONS=8,
# MEMORY_THREADS= (samverka --threads; empty: its default), MEMORY_BUILD=build-bench,
# MEMORY_OUT=bench/out/memory.md.  Run it under `nice` on a shared machine.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
db=${1:-}
build_dir=${MEMORY_BUILD:-$repo/build-bench}
export MEMORY_OUT=${MEMORY_OUT:-$repo/bench/out/memory.md}
threads=${MEMORY_THREADS:-}
bench_name=memory
. "$repo/bench/lib.sh"
[ -n "$db" ] && [ -f "$db" ] || die "usage: bench/memory.sh DB (a copy of a samverka database)"
for tool in node cmake sqlite3; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"
done

bench_build_release "$build_dir"
mkdir -p "$(dirname "$MEMORY_OUT")"
work=$(mktemp -d "${TMPDIR:-/tmp}/samverka-memory.XXXXXX")
server_log=$work/server.log

# Citizens and Tasks from the whole database, drawn before the server starts (read-only).
sqlite3 -readonly "$db" "SELECT id FROM resource WHERE type = 'Patient' AND deleted = 0
    ORDER BY random() LIMIT 2000" >"$work/patients"
sqlite3 -readonly "$db" "SELECT id FROM resource WHERE type = 'Task' AND deleted = 0
    ORDER BY random() LIMIT 2000" >"$work/tasks"
resources=$(sqlite3 -readonly "$db" "SELECT count(*) FROM resource WHERE deleted = 0")
[ -s "$work/patients" ] && [ -s "$work/tasks" ] || die "$db holds no Patients or no Tasks"

token=$("$bin" token create --client memory --scope 'system/*.*' --db "$db") ||
    die "token create failed"
mkfifo "$work/stdout"
exec 3<>"$work/stdout"
t0=$(date +%s%N)
"$bin" serve --listen 127.0.0.1:0 --db "$db" --auth on ${threads:+--threads "$threads"} \
    >&3 2>"$work/server.log" &
server_pid=$!
read -r -t 120 -u 3 line || die "the server was not listening after 120 s"
t1=$(date +%s%N)
[[ $line =~ ^samverka\ listening\ on\ (http://127\.0\.0\.1:[0-9]+)$ ]] ||
    die "unexpected first line from the server: '$line'"
url=${BASH_REMATCH[1]}
sleep 1

cat <<EOF
memory: $(date -u +%Y-%m-%dT%H:%M:%SZ), samverka $("$bin" version) at $(git -C "$repo" rev-parse --short HEAD), Release
memory: $(nproc) x $(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo), loadavg $(cut -d' ' -f1-3 /proc/loadavg)
memory: database $db: $resources resources, $(du -m "$db" | cut -f1) MiB; start-up $(((t1 - t0) / 1000000)) ms
EOF

MEMORY_URL=$url MEMORY_PID=$server_pid MEMORY_TOKEN=$token MEMORY_PATIENTS=$work/patients \
    MEMORY_TASKS=$work/tasks node "$repo/bench/memory.mjs"

kill -TERM "$server_pid"
src=0
wait "$server_pid" || src=$?
server_pid=""
[ "$src" -eq 0 ] || die "the server exited with status $src after SIGTERM"
echo "memory: the server stopped cleanly; table in $MEMORY_OUT"
