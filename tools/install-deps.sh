#!/usr/bin/env bash
# install-deps.sh - installs the Debian and npm packages samverka needs, if missing.
# With the argument "bench" also what `make bench` needs.
# As root it runs apt-get; otherwise it says what is missing and how to get it.
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=(
    build-essential cmake pkg-config
    libmicrohttpd-dev libjansson-dev libsqlite3-dev libpq-dev libsodium-dev libcmocka-dev libxml2-dev
    libcurl4-openssl-dev libssl-dev libmimalloc-dev
    sqlite3 postgresql curl
    chromium
)
# `tools/install-deps.sh bench` (make bench): the load generator, and nginx as the
# HTTP ceiling the figures are compared with (bench/run.sh runs its own instance).
if [ "${1:-}" = bench ]; then
    debian_packages+=(wrk nginx)
fi

missing=()
for p in "${debian_packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "install-deps: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        echo "install-deps: installing ${missing[*]} (sudo)"
        sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "install-deps: missing Debian packages: ${missing[*]}" >&2
        echo "install-deps: run as root: apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi

# npm packages for the tests and generators (package-lock.json pins them), among them
# playwright-core and axe-core for the browser tests (tests/web, against Debian's chromium).
# Keyed on the lock file's content, not its time: a fresh checkout or worktree has a newer
# package-lock.json than an installed node_modules that matches it (and npm ci through a
# node_modules symlinked from another checkout empties that one).
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -d node_modules ] || [ "$(cat node_modules/.samverka-lock 2>/dev/null)" != "$lock_sum" ]; then
    echo "install-deps: npm ci"
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
    echo "$lock_sum" >node_modules/.samverka-lock
fi
