#!/usr/bin/env bash
# Benchmarks on the local stack (brought up here). Prints ratios measured side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/npm-install.sh
npm run --silent build
bash scripts/stack.sh up
node dist/bench/overhead.js "$@"
