// The Kafka broker restarts while a deployment runs: the worker's events and the bridge's
// consumer come back by themselves, the running deployment still reports how it ended,
// and a request sent after the restart is deployed.
import { isTerminal } from '../../src/core/schemas/event';
import { removeApplication, startDeployer, waitFor, type TestDeployer } from '../support/deployer';
import { stack } from '../support/stack-control';

jest.setTimeout(300_000);

const app = `it-kafka-${Date.now().toString(36)}`;
const port = 18800;
let d: TestDeployer;

beforeAll(async () => {
  d = await startDeployer('kafka');
});

afterAll(async () => {
  if (d) {
    await removeApplication(d, app);
    await d.stop();
  }
});

function request(n: number) {
  return {
    kind: 'Deploy',
    deploymentId: `${app}-${n}`,
    application: { name: app, version: `v${n}`, image: `${d.inventory.registry.pull}/busybox:1` },
    nodes: d.inventory.nodes.slice(0, 3).map((x) => x.id),
    container: { command: ['sh', '-c', `sleep 3; trap 'exit 0' TERM; httpd -f -p ${port} -h / & wait`] },
    healthCheck: { tcp: { port }, intervalMs: 200, deadlineMs: 60_000 },
    strategy: { maxParallel: 1 },
  };
}

describe('a Kafka broker restart', () => {
  it('is survived by the bridge and the worker', async () => {
    await d.send(request(1));
    await waitFor('the first deployment to be under way', () => d.events.some((e) => e.deploymentId === `${app}-1` && e.node !== undefined));
    stack('restart', 'kafka');

    await waitFor('the first deployment to end', () => d.events.some((e) => e.deploymentId === `${app}-1` && isTerminal(e.phase)), 180_000, 500);
    expect(d.events.filter((e) => e.deploymentId === `${app}-1` && isTerminal(e.phase)).map((e) => e.phase)).toContain('Succeeded');

    await d.send(request(2));
    await waitFor('the second deployment to end', () => d.events.some((e) => e.deploymentId === `${app}-2` && isTerminal(e.phase)), 180_000, 500);
    expect(d.events.filter((e) => e.deploymentId === `${app}-2` && isTerminal(e.phase)).map((e) => e.phase)).toEqual(['Succeeded']);
    // Every event of both deployments arrived, numbered without gaps.
    for (const id of [`${app}-1`, `${app}-2`]) {
      const seqs = [...new Set(d.events.filter((e) => e.deploymentId === id).map((e) => e.seq))].sort((a, b) => a - b);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    }
  });
});
