#!/usr/bin/env bash
# The full test suite: type check and lint, then unit tests, workflow tests in the Temporal
# test environment, and integration tests on the real local stack (brought up here).
# Results: test-results/jest.json; the last line printed is "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

rm -f test-results/jest.json
bash scripts/npm-install.sh
# The build also type-checks; integration tests run the compiled worker as a child process.
npm run --silent build
npx eslint .
bash scripts/stack.sh up

mkdir -p test-results
set +e
# --forceExit: a Kafka client reconnecting after a broker restart may keep a timer alive after the last test.
npx jest --runInBand --forceExit --json --outputFile=test-results/jest.json "$@"
code=$?
set -e
node scripts/summary.js test-results/jest.json
exit $code
