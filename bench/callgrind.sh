# callgrind.sh - what the instruction-count scripts share (sourced, not run): icount.sh,
# write-icount.sh and medcom-icount.sh start the server with one worker thread and one
# write thread (so that the warm-up opens every connection the count uses), count
# between a zero and a dump of callgrind, and sum the dump over the server's threads.
#
#   bench_name=icount cg_tools="curl"      # the prefix of every message, tools it needs
#   . "$repo/bench/callgrind.sh"           # checks the tools, makes work, installs the trap
#   cg_start DB ARGS...                    # under callgrind; sets server_pid and port
#   cg_zero; ...requests...; cg_dump       # count those requests
#   cg_total 1                             # instructions of the first dump
#
# CG_PLAIN=1 cg_start ... starts it without valgrind (warm-up runs); cg_stop stops it.
# shellcheck shell=bash disable=SC2034
# (sourced: bench_name and bin come from the script; work, server_pid and port go to it)

for tool in valgrind callgrind_control ${cg_tools:-}; do
    command -v "$tool" >/dev/null 2>&1 || { echo "$bench_name: $tool is missing" >&2; exit 1; }
done
work=$(mktemp -d)
server_pid=""
port=""

cg_stop() {
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap 'cg_stop; rm -rf "$work"' EXIT

# cg_start DB ARGS...: samverka serve on DB with ARGS and one worker thread, under callgrind
# (its files $work/cg.PID.N) unless CG_PLAIN=1; waits for its first line.
cg_start() {
    local db=$1 line
    shift
    local prefix=(valgrind --tool=callgrind --callgrind-out-file="$work/cg.%p")
    [ "${CG_PLAIN:-0}" != 1 ] || prefix=()
    rm -f "$work/out"
    mkfifo "$work/out"
    "${prefix[@]}" "$bin" serve --listen 127.0.0.1:0 --db "$db" --log-level warn --watchdog 0 \
        --threads 1 --write-threads 1 "$@" >"$work/out" 2>>"$work/log" &
    server_pid=$!
    exec 3<"$work/out"
    read -r -t 600 -u 3 line || {
        echo "$bench_name: the server did not start" >&2
        cat "$work/log" >&2
        exit 1
    }
    port=${line##*:}
}

cg_zero() { callgrind_control -z "$server_pid" >/dev/null 2>&1; }
cg_dump() {
    callgrind_control -d "$server_pid" >/dev/null 2>&1
    sleep 1
}
# cg_total PART: the instructions of dump PART (1 the first, 2 the second), all threads.
cg_total() { cat "$work"/cg.*."$1" 2>/dev/null | awk '/^summary:/ {s += $2} END {print s + 0}'; }
