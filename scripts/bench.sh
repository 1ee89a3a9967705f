#!/usr/bin/env bash
# Benchmarks on the local stack (brought up here, with BENCH_FOG_NODES node engines, 24 by
# default, ~3 GB): every figure a ratio or a distribution measured within one run (see
# BENCHMARKS.md). The next `stack.sh up` (npm test, npm run demo) shrinks the stack again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/npm-install.sh
npm run --silent build
FOG_NODES="${BENCH_FOG_NODES:-24}" bash scripts/stack.sh up
node dist/test/bench/main.js "$@"
