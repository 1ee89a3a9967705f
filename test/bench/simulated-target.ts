// A SIMULATED target, for the wide benchmark only: every verb answers at once, as a node
// would that needs no time at all, so that what the benchmark measures is the Deployer's own
// cost per node (Temporal, the workflows, the events) with thousands of nodes, which no
// machine here could run for real. It keeps nothing and touches nothing.
import type { Target } from '../../activities/targets/target';

export function simulatedTarget(): (node: { id: string }) => Target {
  return (node) => ({
    async checkConfig() {
      return { result: { name: 'config', kind: 'config', passed: true, detail: 'simulated', elapsedMs: 0 } };
    },
    async test() {
      return { results: [] };
    },
    async apply(intent, step) {
      const name = `${intent.application}--${intent.deploymentId}--r0`;
      step('Deploying', `container started: ${name} (simulated)`);
      return { instances: [name], replaced: [] };
    },
    async verify(_intent, step) {
      step('Verifying', 'healthy (simulated)');
      return { probes: 1, elapsedMs: 0 };
    },
    async restore() {
      return { removed: [], restarted: [], missing: [] };
    },
    async retire() {
      return [];
    },
    async stop({ names }) {
      return [...names];
    },
    async remove() {
      return [];
    },
    async locate() {
      return [];
    },
    async describe() {
      return { ready: true, detail: `${node.id} is simulated`, platform: { os: 'linux', architecture: 'amd64' } };
    },
  });
}
