// A node's status events as they happen, on the real stack: a version whose server answers
// only after 30 s is deployed to one fog node; its Verifying event must reach the events topic
// within 2 s of the container's start (as its engine records it), then a progress event at
// least every 5 s while the health check waits, and `deployer status` must show the node
// Verifying meanwhile. Seq increases in the order the events arrive, and one terminal event ends it.
import { describeDeployment } from '../../src/operations/describe';
import { isProgressMessage } from '../../src/core/live-events';
import { isTerminal } from '../../src/core/schemas/event';
import { containersOf, engineNodes, removeApplication, startDeployer, waitFor, type TestDeployer } from '../support/deployer';

jest.setTimeout(180_000);

const app = `it-live-${Date.now().toString(36)}`;
const port = 18094;
const SLOW_START_S = 30;
let d: TestDeployer;
let node: string;

beforeAll(async () => {
  d = await startDeployer('live-events');
  node = engineNodes(d)[0]!.id;
});

afterAll(async () => {
  if (d) {
    await removeApplication(d, app, [node]);
    await d.stop();
  }
});

describe("a node's events during a long health wait", () => {
  it('says Verifying within 2 s of the container starting, then reports progress at least every 5 s until healthy', async () => {
    const started = Date.now();
    const deploymentId = `${app}-v1`;
    await d.send({
      kind: 'Deploy',
      deploymentId,
      application: { name: app, version: 'v1', image: `${d.inventory.registry.pull}/busybox:1` },
      nodes: [node],
      container: { command: ['sh', '-c', `sleep ${SLOW_START_S}; mkdir -p /www; echo up > /www/index.html; exec httpd -f -p ${port} -h /www`] },
      healthCheck: { http: { port, path: '/' }, intervalMs: 1000, timeoutMs: 1000, healthyAfter: 1, deadlineMs: 90_000 },
    });
    const ofDeployment = () => d.events.flatMap((e, i) => (e.deploymentId === deploymentId ? [{ e, arrived: d.eventsArrivedAt[i]! }] : []));

    // While the health check waits, status shows the node in its Verifying step.
    await waitFor('the first progress event of the verify step', () => ofDeployment().some(({ e }) => e.phase === 'Verifying' && isProgressMessage(e.message)), 60_000);
    const view = await describeDeployment({ client: d.client, withDeadline: (ms, fn) => d.client.connection.withDeadline(Date.now() + ms, fn) }, deploymentId);
    expect(view?.status).toBe('Running');
    expect(view?.nodes[node]).toMatchObject({ state: 'Deploying', phase: 'Verifying' });

    await d.terminal(deploymentId, 150_000);
    const events = ofDeployment();
    expect(events.filter(({ e }) => isTerminal(e.phase)).map(({ e }) => e.phase)).toEqual(['Succeeded']);
    expect(events.at(-1)!.e.phase).toBe('Succeeded');
    // In the order they arrived, every seq is higher than the one before.
    const seqs = events.map(({ e }) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);

    // The container's start as its engine recorded it.
    const [container] = (await containersOf(d, app))[node]!.filter((c) => c.deploymentId === deploymentId);
    const inspected = await d.engines.node(node).getContainer(container!.name).inspect();
    const containerStarted = Date.parse(inspected.State.StartedAt);
    expect(containerStarted).toBeGreaterThan(started);

    const mine = events.filter(({ e }) => e.node === node);
    const verifying = mine.find(({ e }) => e.phase === 'Verifying' && !isProgressMessage(e.message))!;
    expect(verifying.e.message).toMatch(/^waiting for http health check/);
    expect(verifying.arrived - containerStarted).toBeLessThanOrEqual(2_000);
    // The steps before it arrived before it, each as it happened.
    expect(mine.slice(0, mine.indexOf(verifying)).map(({ e }) => e.phase)).toEqual(expect.arrayContaining(['Configuring', 'Deploying']));

    const healthy = mine.find(({ e }) => e.phase === 'Verifying' && e.message === 'healthy')!;
    const waiting = mine.slice(mine.indexOf(verifying), mine.indexOf(healthy) + 1);
    const progress = waiting.filter(({ e }) => isProgressMessage(e.message));
    // About 30 s of waiting: a progress event every 4-5 s.
    expect(progress.length).toBeGreaterThanOrEqual(5);
    for (const { e } of progress) {
      expect(e.phase).toBe('Verifying');
      expect(e.message).toMatch(/probe\(s\).*last problem: GET http:\/\/.* failed/);
    }
    const gaps = waiting.slice(1).map(({ arrived }, i) => arrived - waiting[i]!.arrived);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(5_000);
    expect(healthy.arrived - containerStarted).toBeGreaterThanOrEqual(SLOW_START_S * 1000);
    console.log(`Verifying arrived ${verifying.arrived - containerStarted} ms after the container started; ${progress.length} progress events; longest gap ${Math.max(...gaps)} ms`);
  });
});
