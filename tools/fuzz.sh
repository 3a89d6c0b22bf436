#!/usr/bin/env bash
# fuzz.sh BUILD SECONDS [TARGET...] - runs each libFuzzer target (all by default) for
# SECONDS on a scratch copy of its seed corpus; new inputs stay out of the repo unless
# FUZZ_KEEP=DIR is set (then DIR/<target>/ keeps them, for a later -merge=1 into the seeds).
# Crashes are saved under tests/fuzz/out/ to become regression inputs in tests/fuzz/corpus/.
# Extra read-only seed directories (libFuzzer reads them, writes only to the first): for
# medcom, the shared MedCom vectors (../shared/vectors/medcom/*) when they are present;
# they are not ours to commit, so the committed seeds come from tests/data/medcom.
# Prints per target: seconds, executions, exec/s, corpus entries and bytes, findings.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$1
seconds=$2
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for bin in "$build"/fuzz_*; do
        case "$bin" in *_replay) continue ;; esac
        [ -x "$bin" ] && targets+=("$(basename "$bin" | sed 's/^fuzz_//')")
    done
fi
mkdir -p tests/fuzz/out
status=0
for name in "${targets[@]}"; do
    bin="$build/fuzz_$name"
    if [ -n "${FUZZ_KEEP:-}" ]; then
        scratch="$FUZZ_KEEP/$name"
        mkdir -p "$scratch"
    else
        scratch=$(mktemp -d)
    fi
    cp -r tests/fuzz/corpus/"$name"/. "$scratch"/ 2>/dev/null || true
    log=tests/fuzz/out/"$name".log
    echo "== fuzz $name for ${seconds}s ($(date -u +%FT%TZ))"
    extra=()
    if [ "$name" = medcom ]; then
        for d in ../shared/vectors/medcom/*/; do
            [ -d "$d" ] && extra+=("$d")
        done
    fi
    rc=0
    "$bin" -max_total_time="$seconds" -max_len=65536 -artifact_prefix=tests/fuzz/out/"$name"- \
        -print_final_stats=1 "$scratch" ${extra[@]+"${extra[@]}"} >"$log" 2>&1 || rc=$?
    grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)|^Done|ERROR|SUMMARY' "$log" || true
    corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1 || true)
    echo "   final $corp; exit $rc; log $log"
    [ "$rc" -eq 0 ] || status=1
    [ -n "${FUZZ_KEEP:-}" ] || rm -rf "$scratch"
done
exit $status
