#!/usr/bin/env bash
# pg-scratch.sh - a throw-away PostgreSQL cluster for tests: initdb in a temporary
# directory, a server on 127.0.0.1 and a free port, trust authentication, stopped and
# removed after.  Debian's PostgreSQL 15 binaries (/usr/lib/postgresql/15/bin, or
# $PG_BIN).  PostgreSQL refuses to run as root, so as root the cluster runs as the
# unprivileged user "postgres" (Debian's package creates it; else "nobody").
#
#   tools/pg-scratch.sh start DIR      # prints the URI of an admin connection
#   tools/pg-scratch.sh stop DIR       # stops the server and removes DIR
#   tools/pg-scratch.sh run CMD ARG... # start, run CMD with SAMVERKA_TEST_PG set, stop;
#                                      # exits with CMD's status
#
# The URI names the "postgres" database as superuser "samverka"; tests create their
# own databases in it (CREATE DATABASE) and drop them.  Durability is off (fsync,
# full_page_writes): the cluster lives only as long as one test run.
set -euo pipefail

bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
user=samverka

as_owner() { # runs a command as the cluster's owner
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$owner" -- "$@"
    else
        "$@"
    fi
}

pick_owner() {
    owner=$(id -un)
    if [ "$(id -u)" -eq 0 ]; then
        if id postgres >/dev/null 2>&1; then owner=postgres; else owner=nobody; fi
    fi
}

start() {
    local dir=$1
    if [ ! -x "$bin/initdb" ]; then
        echo "pg-scratch: $bin/initdb not found (apt-get install postgresql)" >&2
        return 1
    fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ -e "$dir/data" ]; then
        echo "pg-scratch: $dir/data exists already" >&2
        return 1
    fi
    pick_owner
    if [ "$(id -u)" -eq 0 ]; then
        chown "$owner" "$dir"
        if ! runuser -u "$owner" -- test -w "$dir"; then
            echo "pg-scratch: user $owner cannot reach $dir (a parent directory is closed);" \
                "use a directory under /tmp" >&2
            return 1
        fi
    fi
    as_owner "$bin/initdb" -D "$dir/data" -U "$user" --auth=trust --encoding=UTF8 \
        --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        return 1
    }
    # A port from a range the kernel does not hand out for port 0 (32768-60999);
    # tried until one is free.
    local port tries=0
    while :; do
        port=$((20000 + RANDOM % 10000))
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start \
            -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off \
                -c full_page_writes=off -c synchronous_commit=off -c max_connections=200" \
            >/dev/null 2>&1; then
            break
        fi
        tries=$((tries + 1))
        if [ $tries -ge 5 ]; then
            echo "pg-scratch: the server did not start:" >&2
            tail -n 20 "$dir/server.log" >&2
            return 1
        fi
    done
    echo "$port" >"$dir/port"
    echo "postgres://$user@127.0.0.1:$port/postgres"
}

stop() {
    local dir=$1
    pick_owner
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
start)
    [ $# -eq 2 ] || { echo "usage: $0 start DIR" >&2; exit 2; }
    start "$2"
    ;;
stop)
    [ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
    stop "$2"
    ;;
run)
    shift
    [ $# -ge 1 ] || { echo "usage: $0 run CMD [ARG...]" >&2; exit 2; }
    dir=$(mktemp -d "${TMPDIR:-/tmp}/sv-pg-XXXXXX")
    trap 'stop "$dir"' EXIT
    trap 'exit 130' INT TERM
    uri=$(start "$dir")
    status=0
    SAMVERKA_TEST_PG=$uri "$@" || status=$?
    exit $status
    ;;
*)
    echo "usage: $0 start DIR | stop DIR | run CMD [ARG...]" >&2
    exit 2
    ;;
esac
