#!/usr/bin/env bash
# check.sh - every test: lint, generated code up to date, unit tests (ctest) and
# HTTP tests (node:test against the real binary), first on the normal build,
# then all again on the ASan+UBSan build; then the browser tests (tests/web) on the
# normal build.  Prints one summary line at the end.
# A throw-away PostgreSQL cluster (tools/pg-scratch.sh) runs for the whole check,
# so that the unit tests run the storage contract and schema on PostgreSQL too
# (SAMVERKA_TEST_PG), two server processes share one database
# (tests/http/pg_multi.test.mjs, on both builds), and the whole HTTP suite runs a
# second time on PostgreSQL (normal build only: the C paths below the driver are the
# same ones the ASan run covers on SQLite; 3-7 minutes on the shared 2-core machine).
# SAMVERKA_CHECK_PG_HTTP=0 leaves that run out.
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

pgdir=$(mktemp -d "${TMPDIR:-/tmp}/sv-check-pg-XXXXXX")
trap 'tools/pg-scratch.sh stop "$pgdir"' EXIT
if SAMVERKA_TEST_PG=$(tools/pg-scratch.sh start "$pgdir"); then
    export SAMVERKA_TEST_PG
    echo "== PostgreSQL scratch cluster: $SAMVERKA_TEST_PG"
else
    failed=$((failed + 1))
    echo "!! FAILED: PostgreSQL scratch cluster (the PostgreSQL unit tests will skip)"
fi

step "lint" tools/lint.sh
step "generated code matches the R4 definitions" make -s generate-check
if [ -d ../shared/vectors ]; then
    echo "== MedCom vectors found in ../shared/vectors"
else
    echo "== ../shared/vectors not found: tests that read the MedCom vectors skip them"
fi
pg_http=${SAMVERKA_CHECK_PG_HTTP:-1}
for b in "$build" "$asan"; do
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    step "unit tests ($b)" ctest --test-dir "$b" --output-on-failure -j2
    step "http tests ($b)" env SAMVERKA_BIN="$PWD/$b/samverka" node --test --test-concurrency=2 tests/http/
    # Two processes on one database (issue 10): PostgreSQL only, so always run here
    # (on the normal build the whole suite on PostgreSQL below runs it).
    if [ -n "${SAMVERKA_TEST_PG:-}" ] && { [ "$b" != "$build" ] || [ "$pg_http" != 1 ]; }; then
        step "two processes on PostgreSQL ($b)" env SAMVERKA_BIN="$PWD/$b/samverka" \
            SAMVERKA_TEST_BACKEND=postgres node --test tests/http/pg_multi.test.mjs
    fi
done
if [ "$pg_http" = 1 ]; then
    if [ -n "${SAMVERKA_TEST_PG:-}" ]; then
        step "http tests on PostgreSQL ($build)" env SAMVERKA_BIN="$PWD/$build/samverka" \
            SAMVERKA_TEST_BACKEND=postgres node --test --test-concurrency=2 tests/http/
    else
        failed=$((failed + 1))
        echo "!! FAILED: http tests on PostgreSQL ($build): no PostgreSQL cluster"
    fi
fi
# The web app in a real browser (Debian's chromium, playwright-core, axe-core) against the
# normal build only: the browser tests exercise the app and the api as a user does, and the
# C paths they reach are covered under ASan+UBSan by the http tests above.
step "browser tests ($build)" env SAMVERKA_BIN="$PWD/$build/samverka" node --test --test-concurrency=1 tests/web/
echo
echo "check: $passed passed, $failed failed"
[ $failed -eq 0 ]
