// The `cluster` project's setup (jest.config.js): runs in each of its test files before any
// module loads, so that the test support (test/support/deployer.ts, which reads the settings
// from process.env) and the workers and bridges it starts use cluster-mode Temporal, the real
// server on PostgreSQL (scripts/temporal-cluster.sh), instead of the dev server. Kafka, the
// registry and the nodes are the shared stack's. The port is lib.sh's TEMPORAL_CLUSTER_PORT.
process.env.TEMPORAL_ADDRESS = `127.0.0.1:${process.env.TEMPORAL_CLUSTER_PORT || '7243'}`;
