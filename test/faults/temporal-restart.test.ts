// The Temporal server is stopped mid-deployment, with its database file kept, and started
// again. The worker and the bridge run in their own processes, so they live through the
// outage as in production while the test watches it: both stay up, a request sent meanwhile
// is neither started nor committed (the bridge pauses its partition and says so), and once
// the server is back the running deployments resume where they were and the waiting request
// is deployed, each ending exactly once.
import { isTerminal } from '../../src/core/schemas/event';
import { containersOf, removeApplication, startDeployer, waitFor, type TestDeployer } from '../support/deployer';
import { stack } from '../support/stack-control';

jest.setTimeout(300_000);

const stamp = Date.now().toString(36);
const apps = [0, 1, 2, 3].map((i) => ({ name: `it-tres${i}-${stamp}`, port: 18300 + i }));
let d: TestDeployer;
let temporalDown = false;

beforeAll(async () => {
  d = await startDeployer('tres', { processes: true });
});

afterAll(async () => {
  if (temporalDown) stack('up');
  if (d) {
    for (const app of apps) await removeApplication(d, app.name);
    await d.stop();
  }
});

const nodes = () => d.inventory.nodes.filter((n) => n.target.kind === 'docker-engine').slice(0, 3).map((n) => n.id);
const request = (app: { name: string; port: number }) => ({
  kind: 'Deploy',
  deploymentId: `${app.name}-1`,
  application: { name: app.name, version: 'v1', image: `${d.inventory.registry.pull}/busybox:1` },
  nodes: nodes(),
  container: { command: ['sh', '-c', `sleep 4; trap 'exit 0' TERM; httpd -f -p ${app.port} -h / & wait`] },
  healthCheck: { tcp: { port: app.port }, intervalMs: 300, healthyAfter: 3, deadlineMs: 60_000 },
  strategy: { maxParallel: 1 },
});
const terminals = (id: string) => d.events.filter((e) => e.deploymentId === id && isTerminal(e.phase)).map((e) => e.phase);

describe('Temporal server stopped and started again', () => {
  it('is lived through by the worker and the bridge: nothing started or committed while it is down, everything resumes and ends once after', async () => {
    const [late, ...running] = [apps[3]!, ...apps.slice(0, 3)];
    for (const app of running) await d.send(request(app));
    await waitFor('all three deployments rolling out', () => running.every((a) => d.events.some((e) => e.deploymentId === `${a.name}-1` && e.node !== undefined)));
    await waitFor('all three requests committed', async () => (await d.committed()) === 3);
    expect(running.filter((a) => terminals(`${a.name}-1`).length > 0)).toEqual([]);

    stack('stop', 'temporal');
    temporalDown = true;
    // During the outage: a new request waits in Kafka, and the bridge says why.
    const logged = d.bridgeLog.length;
    await d.send(request(late));
    await waitFor('the bridge to pause on the outage', () => d.bridgeLog.slice(logged).some((l) => l.includes('could not act on a request; pausing the partition')), 90_000);
    expect(await d.committed()).toBe(3);
    expect(d.events.filter((e) => e.deploymentId === `${late.name}-1`)).toEqual([]);

    stack('up');
    temporalDown = false;
    await waitFor('every deployment to end', () => apps.every((a) => terminals(`${a.name}-1`).length > 0), 240_000);
    await waitFor('every request committed', async () => (await d.committed()) === 4, 30_000);
    for (const app of apps) {
      expect([app.name, terminals(`${app.name}-1`)]).toEqual([app.name, ['Succeeded']]);
      const containers = await containersOf(d, app.name);
      for (const node of nodes()) expect([node, containers[node]!.map((c) => c.state)]).toEqual([node, ['running']]);
    }
  });
});
