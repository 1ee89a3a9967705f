#!/usr/bin/env bash
# Installs the npm dependencies from the lock file when they are missing or stale.
# `npm install` rather than `npm ci`: the lock file cannot list optional native packages
# for other platforms that a registry does not serve (e.g. @swc/core's), and `npm ci`
# refuses a lock file without them; `npm install` keeps the locked versions all the same.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ package.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund --loglevel=error
fi
