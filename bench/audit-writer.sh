#!/usr/bin/env bash
# audit-writer.sh - records per second of the read-audit writer alone (bench/audit_writer.c:
# the queue of api/audit_log.c and its flushing thread appending through store/audit.c),
# on a fresh SQLite file and, unless BENCH_BACKENDS leaves it out, a fresh database in a
# scratch PostgreSQL cluster (tools/pg-scratch.sh: fsync and synchronous_commit off).
#
#   bench/audit-writer.sh            # both backends, 200000 records each
#
# Settings (environment): BENCH_RECORDS (200000), BENCH_BACKENDS ("sqlite postgres"),
# BENCH_BUILD (build-bench, a Release build), BENCH_TMPDIR ($TMPDIR or /tmp; the SQLite file).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
records=${BENCH_RECORDS:-200000}
backends=${BENCH_BACKENDS:-sqlite postgres}
build_dir=${BENCH_BUILD:-$repo/build-bench}
tmp_parent=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}

die() {
    echo "audit-writer: FAILED: $*" >&2
    exit 1
}
[[ $records =~ ^[1-9][0-9]*$ ]] || die "BENCH_RECORDS must be a whole number, not '$records'"

work=""
pgdir=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ -z "$pgdir" ] || "$repo/tools/pg-scratch.sh" stop "$pgdir"
    [ -z "$work" ] || rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "audit-writer: building bench_audit_writer (Release) in $build_dir"
cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null || die "cmake failed"
cmake --build "$build_dir" --target bench_audit_writer -j"$(nproc)" >/dev/null || die "build failed"
bin=$build_dir/bench_audit_writer
work=$(mktemp -d "$tmp_parent/samverka-audit-writer.XXXXXX")

# utime + stime of the scratch cluster's processes (the postmaster's reaped children and
# the live ones), in clock ticks.
cluster_jiffies() {
    local pm t=0 p stat fields
    pm=$(head -n 1 "$pgdir/data/postmaster.pid")
    for p in "$pm" $(pgrep -P "$pm"); do
        read -r stat 2>/dev/null <"/proc/$p/stat" || continue
        read -r -a fields <<<"${stat##*) }"
        t=$((t + fields[11] + fields[12]))
        [ "$p" != "$pm" ] || t=$((t + fields[13] + fields[14]))
    done
    echo "$t"
}

echo "date         $(date -u +%Y-%m-%dT%H:%M:%SZ), $(git -C "$repo" rev-parse --short HEAD)"
echo "loadavg      $(cut -d' ' -f1-3 /proc/loadavg) before the run (1, 5, 15 min)"
for b in $backends; do
    case $b in
    sqlite) uri=$work/audit.db ;;
    postgres)
        pgdir=$(mktemp -d "$tmp_parent/samverka-audit-writer-pg.XXXXXX")
        uri=$("$repo/tools/pg-scratch.sh" start "$pgdir") || die "no scratch cluster"
        ;;
    *) die "BENCH_BACKENDS holds sqlite and/or postgres, not '$b'" ;;
    esac
    pg0=0
    [ "$b" != postgres ] || pg0=$(cluster_jiffies)
    "$bin" "$uri" "$records" || die "$b: the writer run failed"
    if [ "$b" = postgres ]; then
        awk -v a="$pg0" -v b="$(cluster_jiffies)" -v hz="$(getconf CLK_TCK)" -v n="$records" \
            'BEGIN { printf "pg cpu/rec   %.1f us (the cluster'"'"'s processes, migration included)\n", (b - a) / hz / n * 1e6 }'
    fi
    echo "loadavg      $(cut -d' ' -f1-3 /proc/loadavg) after"
done
