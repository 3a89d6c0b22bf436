#!/usr/bin/env bash
# lint.sh - the habits CONVENTIONS.md asks for, checked: layer-private headers,
# no SQL assembled with printf, no patient data in log calls, clang-format.
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0
say() { echo "lint: $*"; fail=1; }

bad=$(grep -rlE '#include <(sqlite3|libpq-fe)\.h>' src | grep -v '^src/db/')
[ -n "$bad" ] && say "only src/db/ may include sqlite3.h or libpq-fe.h: $bad"
bad=$(grep -rl '#include <microhttpd.h>' src | grep -v '^src/http/')
[ -n "$bad" ] && say "only src/http/ may include microhttpd.h: $bad"
bad=$(grep -rl '#include <curl/curl.h>' src | grep -v '^src/http/')
[ -n "$bad" ] && say "only src/http/ may include curl/curl.h: $bad"
bad=$(grep -rnE '(printf|sv_buf_addf|strcat)\([^;]*"[^"]*\b(SELECT|INSERT|UPDATE|DELETE)\b' src)
[ -n "$bad" ] && say "SQL built with printf-like calls (use constants and bound values):
$bad"
bad=$(grep -rnE 'sv_log\([^;]*(->path|->body|->params|name=|family)' src)
[ -n "$bad" ] && say "a log call that may carry patient data:
$bad"
if command -v clang-format >/dev/null 2>&1; then
    files=$(find src tests/unit tests/fuzz -name '*.[ch]' -not -path '*/generated/*' 2>/dev/null)
    unformatted=$(for f in $files; do clang-format --dry-run "$f" 2>&1 | grep -q warning && echo "$f"; done)
    [ -n "$unformatted" ] && say "not clang-formatted (run clang-format -i): $unformatted"
fi
[ $fail -eq 0 ] && echo "lint: ok"
exit $fail
