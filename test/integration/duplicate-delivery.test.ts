// (d) the same request delivered twice yields one workflow and one set of containers.
import { lockWorkflowId } from '../../src/core/workflow-ids';
import { containersOf, removeApplication, runsOf, startDeployer, waitFor, type TestDeployer } from '../support/deployer';

jest.setTimeout(180_000);

const app = `it-dup-${Date.now().toString(36)}`;
let d: TestDeployer;

beforeAll(async () => {
  d = await startDeployer('dup');
});

afterAll(async () => {
  if (d) {
    await removeApplication(d, app);
    await d.stop();
  }
});

describe('at-least-once delivery on the real stack', () => {
  it('turns the same request delivered twice, and once more after it finished, into one deployment, and leaves no lock running', async () => {
    const id = `${app}-1`;
    const request = {
      kind: 'Deploy',
      deploymentId: id,
      application: { name: app, version: '1', image: `${d.inventory.registry.pull}/busybox:1` },
      nodes: d.inventory.nodes.slice(0, 3).map((n) => n.id),
      container: { command: ['httpd', '-f', '-p', '18082', '-h', '/'] },
      healthCheck: { tcp: { port: 18082 }, intervalMs: 200 },
      strategy: { maxParallel: 3 },
    };
    await d.send(request);
    await d.send(request);
    const events = await d.terminal(id);
    expect(events.at(-1)!.phase).toBe('Succeeded');
    await waitFor('both deliveries committed', async () => (await d.committed()) === 2);

    await d.send(request);
    await waitFor('the late redelivery committed', async () => (await d.committed()) === 3);

    expect(await runsOf(d, id)).toHaveLength(1);
    const containers = await containersOf(d, app);
    for (const node of d.inventory.nodes.slice(0, 3)) {
      expect(containers[node.id]!.map((c) => [c.deploymentId, c.state])).toEqual([[id, 'running']]);
    }
    const seqs = d.events.filter((e) => e.deploymentId === id).map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(d.events.filter((e) => e.deploymentId === id && e.phase === 'Accepted')).toHaveLength(1);

    // The late redelivery asked the lock again (starting it anew) and gave back what it got;
    // with nobody holding it and nobody waiting, the lock ends after its idle period.
    const lock = d.client.workflow.getHandle(lockWorkflowId(app));
    await waitFor('the lock to end', async () => ((await lock.describe()).status.name === 'COMPLETED' ? true : undefined), d.config.lockIdleMs + 10_000);
  });
});
