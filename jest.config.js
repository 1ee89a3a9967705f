// Three layers (see docs/testing.md): pure units, workflows in the Temporal test environment,
// and integration against the real local stack. Type checking is `npm run typecheck`'s job,
// so ts-jest only transpiles. scripts/test.sh runs the first three projects side by side in
// parallel workers (each suite has its own task queue, topics, applications and ports) and,
// at the same time, `swarm` one suite after the other; then `node-faults` side by side (each
// stops one node of its own kind: a fog node's engine, a swarm node's, a kubelet, and kills its worker; and the one that
// kills its own worker in a node's health wait); then
// `serial` alone: the suites that stop Temporal or Kafka, which every suite shares, and the
// replay of every history the run made, last.
const transform = { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] };
// The Kubernetes client is an ES module only: Node loads it from CommonJS, Jest's loader cannot,
// so Jest gets it through a bridge that asks Node's own loader.
const moduleNameMapper = { '^@kubernetes/client-node$': '<rootDir>/test/support/kubernetes-client-bridge.js' };
const common = { testEnvironment: 'node', transform, moduleNameMapper, moduleFileExtensions: ['ts', 'js', 'json'] };
const replay = '<rootDir>/test/integration/replay.test.ts';
const nodeFaults = '<rootDir>/test/faults/{docker-engine-faults,swarm-faults,kubernetes-faults,verify-crash}.test.ts';
// The swarm's manager (Debian's Docker 20.10) can crash on a race in its task reaper when
// services of two suites are removed at once (moby/swarmkit#3216): its suites take turns.
const swarm = '<rootDir>/test/integration/swarm*.test.ts';
// Cluster mode (docs/cluster-mode.md): its own proof, and end-to-end suites run unchanged, on
// the real Temporal server on PostgreSQL (its setup file points TEMPORAL_ADDRESS there). Run
// alone: those suites use fixed application names and node ports, so their copies in
// `integration` at the same moment would clash on the nodes.
const clusterOnly = '<rootDir>/test/integration/temporal-cluster.test.ts';
const cluster = [clusterOnly, ...['deploy-and-rollback', 'dead-letters', 'duplicate-delivery'].map((s) => `<rootDir>/test/integration/${s}.test.ts`)];
// Against the three-broker Kafka quorum (scripts/kafka-quorum.sh, which the suite brings up),
// not the shared single broker; it kills a broker, so it runs alone.
const kafkaCluster = '<rootDir>/test/faults/kafka-quorum.test.ts';

module.exports = {
  // Bundles the workflow code once for every worker of the run.
  globalSetup: '<rootDir>/test/support/global-setup.js',
  // Puts the replay test last, after every other deployment of the run.
  testSequencer: '<rootDir>/test/support/sequencer.js',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'workflows', testMatch: ['<rootDir>/test/workflows/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'], testPathIgnorePatterns: [replay, clusterOnly, '/test/integration/swarm[^/]*\\.test\\.ts$'] },
    { ...common, displayName: 'swarm', testMatch: [swarm] },
    { ...common, displayName: 'node-faults', testMatch: [nodeFaults] },
    { ...common, displayName: 'cluster', testMatch: cluster, setupFiles: ['<rootDir>/test/support/cluster-mode.js'] },
    { ...common, displayName: 'kafka-cluster', testMatch: [kafkaCluster] },
    { ...common, displayName: 'serial', testMatch: ['<rootDir>/test/faults/**/*.test.ts', replay], testPathIgnorePatterns: ['/test/faults/(docker-engine-faults|swarm-faults|kubernetes-faults|verify-crash|kafka-quorum)\\.test\\.ts$'] },
  ],
};
