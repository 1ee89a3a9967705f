#!/usr/bin/env bash
# The full test suite: type check and lint, then unit tests, workflow tests in the Temporal
# test environment, and integration tests on the real local stack (brought up here).
# The suites that share nothing run side by side in parallel workers, the swarm's one after
# the other beside them; then the ones that each stop one node, side by side; then, alone,
# the ones that stop Temporal or Kafka, and the replay of the run (jest.config.js says why);
# last, the suites of cluster mode (docs/cluster-mode.md; DEPLOYER_TEMPORAL_CLUSTER=0 leaves them out).
# Results: test-results/jest-*.json; the last line printed is "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

rm -rf test-results
mkdir -p test-results
bash scripts/npm-install.sh
# The build also type-checks; integration tests run the compiled worker as a child process.
npm run --silent build
npx eslint .
# Cluster mode's parts come up beside the dev server, so its suites run too (unless set to 0).
export DEPLOYER_TEMPORAL_CLUSTER=${DEPLOYER_TEMPORAL_CLUSTER:-1}
# Likewise the three-broker Kafka quorum, whose suite kills a broker (unless set to 0).
export DEPLOYER_KAFKA_QUORUM=${DEPLOYER_KAFKA_QUORUM:-1}
bash scripts/stack.sh up

# The replay test replays every history made since this instant, in either run.
DEPLOYER_TEST_RUN_STARTED=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
export DEPLOYER_TEST_RUN_STARTED
# Suites wait on deployments far more than they compute: more suites at once than cores.
workers=${DEPLOYER_TEST_WORKERS:-3}
args=("$@")

set +e
# --forceExit: a Kafka client reconnecting after a broker restart may keep a timer alive after the last test.
jest() { npx jest --forceExit --passWithNoTests "$@"; }
jest --selectProjects unit workflows integration --maxWorkers="$workers" --json --outputFile=test-results/jest-parallel.json "${args[@]}" &
parallel=$!
jest --selectProjects swarm --runInBand --json --outputFile=test-results/jest-swarm.json "${args[@]}" &
swarm=$!
wait "$parallel"; parallel=$?
wait "$swarm"; swarm=$?
jest --selectProjects node-faults --maxWorkers=3 --json --outputFile=test-results/jest-node-faults.json "${args[@]}"
faults=$?
jest --selectProjects serial --runInBand --json --outputFile=test-results/jest-serial.json "${args[@]}"
serial=$?
# Cluster mode (which stack.sh up above brought up): the `cluster` project (Temporal on
# PostgreSQL) beside the `kafka-cluster` one (the three-broker quorum). Each alone against the
# rest: their suites are copies of `integration` ones, or kill a broker (jest.config.js); they
# share nothing with each other.
results=(test-results/jest-{parallel,swarm,node-faults,serial}.json)
cluster=0
kafka_cluster=0
if [ "$DEPLOYER_TEMPORAL_CLUSTER" = 1 ]; then
  jest --selectProjects cluster --runInBand --json --outputFile=test-results/jest-cluster.json "${args[@]}" &
  cluster=$!
  results+=(test-results/jest-cluster.json)
fi
if [ "$DEPLOYER_KAFKA_QUORUM" = 1 ]; then
  jest --selectProjects kafka-cluster --runInBand --json --outputFile=test-results/jest-kafka-cluster.json "${args[@]}" &
  kafka_cluster=$!
  results+=(test-results/jest-kafka-cluster.json)
fi
if [ "$cluster" -ne 0 ]; then wait "$cluster"; cluster=$?; fi
if [ "$kafka_cluster" -ne 0 ]; then wait "$kafka_cluster"; kafka_cluster=$?; fi
set -e
node scripts/summary.js "${results[@]}"
[ "$parallel" -eq 0 ] && [ "$swarm" -eq 0 ] && [ "$faults" -eq 0 ] && [ "$serial" -eq 0 ] && [ "$cluster" -eq 0 ] && [ "$kafka_cluster" -eq 0 ]
