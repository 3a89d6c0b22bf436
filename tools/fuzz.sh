#!/usr/bin/env bash
# fuzz.sh BUILD SECONDS - runs every libFuzzer target for SECONDS on a scratch copy of
# its seed corpus (new inputs stay out of the repo); crashes are saved under
# tests/fuzz/out/ to become regression inputs in tests/fuzz/corpus/.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$1
seconds=$2
mkdir -p tests/fuzz/out
for bin in "$build"/fuzz_*; do
    case "$bin" in *_replay) continue ;; esac
    [ -x "$bin" ] || continue
    name=$(basename "$bin" | sed 's/^fuzz_//')
    scratch=$(mktemp -d)
    cp -r tests/fuzz/corpus/"$name"/. "$scratch"/ 2>/dev/null || true
    echo "== fuzz $name for ${seconds}s"
    "$bin" -max_total_time="$seconds" -max_len=65536 -artifact_prefix=tests/fuzz/out/"$name"- \
        -print_final_stats=1 "$scratch" 2>&1 | grep -E 'stat::number_of_executed_units|Done|ERROR|SUMMARY' || true
    rm -rf "$scratch"
done
