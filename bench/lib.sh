# lib.sh - what the bench scripts share (sourced, not run): die, the checks of a
# number and of a process's exit, the wait for the server's first line, the EXIT
# trap that stops whatever the script started, and the Release build of samverka.
#
#   repo=$(cd "$(dirname "$0")/.." && pwd)
#   bench_name=memory                  # the prefix of every message
#   . "$repo/bench/lib.sh"             # installs the traps
#   bench_build_release "$build_dir"   # sets bin
#
# The trap stops what these variables name, when set, in this order: perf_pid
# (SIGINT, so that perf writes its file), wrk_pid, client_pid, nginx_pid,
# server_pid (SIGTERM; SIGKILL after 15 s), every pid in the array pids; then it
# closes fd 3 (the fifo of the server's first line), prints the last lines of
# server_log when the script failed, calls bench_cleanup_more when the script
# defines it (a database to drop, a cluster to stop), and removes work unless
# keep=1.  A script sets a variable back to "" once it has stopped that process
# itself.  The script's exit status is kept.
# shellcheck shell=bash disable=SC2034,SC2154
# (sourced: bench_name and repo come from the script; bin, pids and the rest go to it)

server_pid=""
wrk_pid=""
client_pid=""
perf_pid=""
nginx_pid=""
pids=()
work=""
server_log=""
keep=${keep:-0}

die() {
    echo "$bench_name: FAILED: $*" >&2
    exit 1
}

is_count() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }

# True when process $1 has exited (gone, or a zombie waiting for `wait`).
exited() {
    local stat
    [ -r "/proc/$1/stat" ] || return 0
    read -r stat <"/proc/$1/stat" 2>/dev/null || return 0
    stat=${stat##*) }
    [ "${stat%% *}" = Z ]
}

# Waits up to $2 seconds for process $1 to exit; 0 when it did.
wait_exit() {
    local pid=$1 polls=$(($2 * 100))
    while ! exited "$pid"; do
        polls=$((polls - 1))
        [ "$polls" -gt 0 ] || return 1
        sleep 0.01
    done
}

# Sends signal $1 to process $2 and reaps it; a server gets 15 s before SIGKILL.
bench_stop() {
    local signal=$1 pid=$2
    kill -"$signal" "$pid" 2>/dev/null || true
    if [ "$signal" = TERM ] && ! wait_exit "$pid" 15; then
        echo "$bench_name: process $pid did not stop within 15 s of SIGTERM; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

bench_cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    [ -z "$perf_pid" ] || bench_stop INT "$perf_pid"
    [ -z "$wrk_pid" ] || bench_stop TERM "$wrk_pid"
    [ -z "$client_pid" ] || bench_stop TERM "$client_pid"
    [ -z "$nginx_pid" ] || bench_stop TERM "$nginx_pid"
    [ -z "$server_pid" ] || bench_stop TERM "$server_pid"
    for pid in "${pids[@]}"; do bench_stop TERM "$pid"; done
    exec 3>&- 2>/dev/null || true
    if [ "$rc" -ne 0 ] && [ -n "$server_log" ] && [ -s "$server_log" ]; then
        echo "$bench_name: last lines of the server log:" >&2
        tail -n 10 "$server_log" | sed 's/^/    /' >&2
    fi
    if declare -F bench_cleanup_more >/dev/null; then
        bench_cleanup_more "$rc" || true
    fi
    if [ -n "$work" ]; then
        if [ "$keep" = 1 ]; then
            echo "$bench_name: kept $work (BENCH_KEEP=1)" >&2
        else
            rm -rf "$work"
        fi
    fi
    exit "$rc"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits up to $1 seconds for the first line of server_pid on fd 3, "samverka listening
# on http://127.0.0.1:PORT"; sets port.  Dies when the server exits before it.
bench_await_listening() {
    local limit=$1 line="" t0=$EPOCHREALTIME
    while ! read -r -t 0.1 -u 3 line; do
        exited "$server_pid" && die "the server exited before it was listening"
        [ "$(awk -v a="$t0" -v b="$EPOCHREALTIME" -v l="$limit" 'BEGIN {print (b - a > l)}')" = 0 ] ||
            die "the server was not listening after $limit s"
    done
    [[ $line =~ ^samverka\ listening\ on\ http://127\.0\.0\.1:([0-9]+)$ ]] ||
        die "unexpected first line from the server: '$line'"
    port=${BASH_REMATCH[1]}
}

# A Release build of samverka in directory $1 (further arguments go to cmake's
# configure step); sets bin.  Prints the end of the build's output when it fails.
bench_build_release() {
    local dir=$1 log
    shift
    echo "$bench_name: building a Release binary in $dir"
    if ! log=$(cmake -S "$repo" -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" 2>&1 &&
        cmake --build "$dir" --target samverka -j"$(nproc)" 2>&1); then
        printf '%s\n' "$log" | tail -n 40 >&2
        die "the Release build failed"
    fi
    bin=$dir/samverka
}
