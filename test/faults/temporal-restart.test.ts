// The Temporal server is restarted mid-deployment with its database file kept: the
// deployments resume where they were and complete.
import { isTerminal } from '../../src/core/schemas/event';
import { containersOf, removeApplication, startDeployer, waitFor, type TestDeployer } from '../support/deployer';
import { stack } from '../support/stack-control';

jest.setTimeout(300_000);

const stamp = Date.now().toString(36);
const apps = [0, 1, 2].map((i) => ({ name: `it-tres${i}-${stamp}`, port: 18300 + i }));
let d: TestDeployer;

beforeAll(async () => {
  d = await startDeployer('tres');
});

afterAll(async () => {
  if (d) {
    for (const app of apps) await removeApplication(d, app.name);
    await d.stop();
  }
});

describe('Temporal server restart', () => {
  it('lets running deployments resume and complete', async () => {
    const nodes = d.inventory.nodes.slice(0, 3).map((n) => n.id);
    for (const app of apps) {
      await d.send({
        kind: 'Deploy',
        deploymentId: `${app.name}-1`,
        application: { name: app.name, version: 'v1', image: `${d.inventory.registry.pull}/busybox:1` },
        nodes,
        container: { command: ['sh', '-c', `sleep 4; trap 'exit 0' TERM; httpd -f -p ${app.port} -h / & wait`] },
        healthCheck: { tcp: { port: app.port }, intervalMs: 300, healthyAfter: 3, deadlineMs: 60_000 },
        strategy: { maxParallel: 1 },
      });
    }
    await waitFor('all three deployments rolling out', () => apps.every((a) => d.events.some((e) => e.deploymentId === `${a.name}-1` && e.node !== undefined)));
    expect(apps.some((a) => d.events.some((e) => e.deploymentId === `${a.name}-1` && isTerminal(e.phase)))).toBe(false);

    stack('restart', 'temporal');

    await waitFor('every deployment to end', () => apps.every((a) => d.events.some((e) => e.deploymentId === `${a.name}-1` && isTerminal(e.phase))), 240_000);
    for (const app of apps) {
      const terminal = d.events.filter((e) => e.deploymentId === `${app.name}-1` && isTerminal(e.phase));
      expect([app.name, [...new Set(terminal.map((e) => e.phase))]]).toEqual([app.name, ['Succeeded']]);
      const containers = await containersOf(d, app.name);
      for (const node of nodes) expect(containers[node]!.map((c) => c.state)).toEqual(['running']);
    }
  });
});
