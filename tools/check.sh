#!/usr/bin/env bash
# check.sh - every test: lint, generated code up to date, unit tests (ctest) and
# HTTP tests (node:test against the real binary), first on the normal build,
# then all again on the ASan+UBSan build; then the browser tests (tests/web) on the
# normal build.  Prints one summary line at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
asan=${2:-build-asan}
passed=0
failed=0
step() { # name, command...
    local name=$1; shift
    echo "== $name"
    if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "!! FAILED: $name"; fi
}

step "lint" tools/lint.sh
step "generated code matches the R4 definitions" make -s generate-check
if [ -d ../shared/vectors ]; then
    echo "== MedCom vectors found in ../shared/vectors"
else
    echo "== ../shared/vectors not found: tests that read the MedCom vectors skip them"
fi
for b in "$build" "$asan"; do
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    step "unit tests ($b)" ctest --test-dir "$b" --output-on-failure -j2
    step "http tests ($b)" env SAMVERKA_BIN="$PWD/$b/samverka" node --test --test-concurrency=2 tests/http/
done
# The web app in a real browser (Debian's chromium, playwright-core, axe-core) against the
# normal build only: the browser tests exercise the app and the api as a user does, and the
# C paths they reach are covered under ASan+UBSan by the http tests above.
step "browser tests ($build)" env SAMVERKA_BIN="$PWD/$build/samverka" node --test --test-concurrency=1 tests/web/
echo
echo "check: $passed passed, $failed failed"
[ $failed -eq 0 ]
