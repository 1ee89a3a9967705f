// The Temporal server is stopped during a burst of 100 requests and started again: the
// bridge (in its own process, as in production) tries, pauses its partitions and commits
// nothing while it cannot act, and afterwards all 100 deployments happen, each exactly once.
import { isTerminal } from '../../src/core/schemas/event';
import { removeApplication, runsOf, startDeployer, waitFor, type TestDeployer } from '../support/deployer';
import { stack } from '../support/stack-control';

jest.setTimeout(600_000);

const stamp = Date.now().toString(36);
const APPS = 20;
const PER_APP = 5;
const apps = Array.from({ length: APPS }, (_, i) => ({ name: `it-burst${i}-${stamp}`, port: 18600 + i }));
let d: TestDeployer;
let temporalDown = false;

beforeAll(async () => {
  d = await startDeployer('burst', { processes: true });
});

afterAll(async () => {
  if (temporalDown) stack('up');
  if (d) {
    for (const app of apps) await removeApplication(d, app.name);
    await d.stop();
  }
});

describe('a burst of requests while Temporal is down', () => {
  it('loses none and runs each exactly once when Temporal is back', async () => {
    const nodes = d.inventory.nodes.slice(0, 3);
    stack('stop', 'temporal');
    temporalDown = true;

    const ids: string[] = [];
    for (let n = 1; n <= PER_APP; n++) {
      for (const [i, app] of apps.entries()) {
        const id = `${app.name}-${n}`;
        ids.push(id);
        await d.send({
          kind: 'Deploy',
          deploymentId: id,
          application: { name: app.name, version: `v${n}`, image: `${d.inventory.registry.pull}/busybox:1` },
          nodes: [nodes[i % nodes.length]!.id],
          container: { command: ['sh', '-c', `trap 'exit 0' TERM; httpd -f -p ${app.port} -h / & wait`] },
          healthCheck: { tcp: { port: app.port }, intervalMs: 100 },
        });
      }
    }
    // The bridge met the outage: it tried, and paused rather than skip or commit.
    await waitFor('the bridge to pause on the outage', () => d.bridgeLog.some((l) => l.includes('could not act on a request; pausing the partition')), 90_000);
    // Nothing acted on, nothing committed, nothing lost.
    expect(d.events).toEqual([]);
    expect(await d.committed()).toBe(0);

    stack('up');
    temporalDown = false;
    await waitFor('all 100 deployments to end', () => ids.every((id) => d.events.some((e) => e.deploymentId === id && isTerminal(e.phase))), 480_000, 1000);

    for (const id of ids) {
      const terminal = new Set(d.events.filter((e) => e.deploymentId === id && isTerminal(e.phase)).map((e) => `${e.seq}:${e.phase}`));
      expect([id, [...terminal].map((t) => t.split(':')[1])]).toEqual([id, ['Succeeded']]);
    }
    await waitFor('every offset committed', async () => (await d.committed()) === ids.length);
    // One workflow run per deployment.
    const runs = new Map<string, number>();
    for (const id of ids) runs.set(id, (await runsOf(d, id)).length);
    expect([...runs].filter(([, n]) => n !== 1)).toEqual([]);
  });
});
