#!/usr/bin/env bash
# Benchmarks on the local stack (brought up here): every figure a ratio or a distribution
# measured within one run (see BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/npm-install.sh
npm run --silent build
bash scripts/stack.sh up
node dist/test/bench/main.js "$@"
