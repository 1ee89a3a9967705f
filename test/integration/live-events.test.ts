// A node's status events as they happen, on the real stack: a version whose server answers
// only after 30 s is deployed to one fog node alone (its steps publish under a lease of the
// deployment's numbers) and, at the same time, to two other fog nodes side by side (their
// steps relay their events to the deployment's run). Each node's Verifying event must reach
// the events topic within 2 s of its container's start (as its engine records it), then a
// progress event at least every 5 s while the health check waits, and `deployer status` must
// show the node Verifying meanwhile. Seq increases in the order the events arrive, and one
// terminal event ends each deployment.
import { describeDeployment } from '../../src/operations/describe';
import { isProgressMessage } from '../../src/core/live-events';
import { isTerminal } from '../../src/core/schemas/event';
import { containersOf, engineNodes, removeApplication, startDeployer, waitFor, type TestDeployer } from '../support/deployer';

jest.setTimeout(180_000);

const run = Date.now().toString(36);
const SLOW_START_S = 30;
let d: TestDeployer;
let alone: string;
let sideBySide: string[];

beforeAll(async () => {
  d = await startDeployer('live-events');
  [alone, ...sideBySide] = engineNodes(d).map((n) => n.id);
  sideBySide = sideBySide.slice(0, 2);
});

afterAll(async () => {
  if (d) {
    await removeApplication(d, `it-live-${run}`, [alone]);
    await removeApplication(d, `it-live2-${run}`, sideBySide);
    await d.stop();
  }
});

/** Deploys the slow starter to `nodes`, all at once, and checks every node's events as they arrived. */
async function slowStartOn(app: string, nodes: string[], port: number): Promise<void> {
  const started = Date.now();
  const deploymentId = `${app}-v1`;
  await d.send({
    kind: 'Deploy',
    deploymentId,
    application: { name: app, version: 'v1', image: `${d.inventory.registry.pull}/busybox:1` },
    nodes,
    strategy: { maxParallel: nodes.length },
    container: { command: ['sh', '-c', `sleep ${SLOW_START_S}; mkdir -p /www; echo up > /www/index.html; exec httpd -f -p ${port} -h /www`] },
    healthCheck: { http: { port, path: '/' }, intervalMs: 1000, timeoutMs: 1000, healthyAfter: 1, deadlineMs: 90_000 },
  });
  const ofDeployment = () => d.events.flatMap((e, i) => (e.deploymentId === deploymentId ? [{ e, arrived: d.eventsArrivedAt[i]! }] : []));

  // While the health check waits, status shows each node in its Verifying step.
  // (A progress event of the apply step, say a slow start of the container, does not count.)
  await waitFor(`a progress event of every node of ${deploymentId} while it verifies`, () => nodes.every((n) => ofDeployment().some(({ e }) => e.node === n && e.phase === 'Verifying' && isProgressMessage(e.message))), 60_000);
  const view = await describeDeployment({ client: d.client, withDeadline: (ms, fn) => d.client.connection.withDeadline(Date.now() + ms, fn) }, deploymentId);
  expect(view?.status).toBe('Running');
  for (const n of nodes) expect([n, view?.nodes[n]]).toMatchObject([n, { state: 'Deploying', phase: 'Verifying' }]);

  await d.terminal(deploymentId, 150_000);
  const events = ofDeployment();
  expect(events.filter(({ e }) => isTerminal(e.phase)).map(({ e }) => e.phase)).toEqual(['Succeeded']);
  expect(events.at(-1)!.e.phase).toBe('Succeeded');
  // In the order they arrived, every seq is higher than the one before.
  const seqs = events.map(({ e }) => e.seq);
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  expect(new Set(seqs).size).toBe(seqs.length);

  const containers = await containersOf(d, app);
  for (const node of nodes) {
    // The container's start as its engine recorded it.
    const [container] = containers[node]!.filter((c) => c.deploymentId === deploymentId);
    const inspected = await d.engines.node(node).getContainer(container!.name).inspect();
    const containerStarted = Date.parse(inspected.State.StartedAt);
    expect(containerStarted).toBeGreaterThan(started);

    const mine = events.filter(({ e }) => e.node === node);
    const verifying = mine.find(({ e }) => e.phase === 'Verifying' && !isProgressMessage(e.message))!;
    expect(verifying.e.message).toMatch(/^waiting for http health check/);
    expect(verifying.arrived - containerStarted).toBeLessThanOrEqual(2_000);
    // The steps before it arrived before it, each as it happened, and once.
    const before = mine.slice(0, mine.indexOf(verifying)).map(({ e }) => e.phase);
    expect(before).toEqual(expect.arrayContaining(['Configuring', 'Deploying']));
    expect(mine.filter(({ e }) => !isProgressMessage(e.message)).map(({ e }) => e.message)).toEqual([...new Set(mine.filter(({ e }) => !isProgressMessage(e.message)).map(({ e }) => e.message))]);

    const healthy = mine.find(({ e }) => e.phase === 'Verifying' && e.message === 'healthy')!;
    const waiting = mine.slice(mine.indexOf(verifying), mine.indexOf(healthy) + 1);
    const progress = waiting.filter(({ e }) => isProgressMessage(e.message));
    // About 30 s of waiting: a progress event every 4-5 s.
    expect(progress.length).toBeGreaterThanOrEqual(5);
    for (const { e } of progress) {
      expect(e.phase).toBe('Verifying');
      expect(e.message).toMatch(/ s so far: .*probe\(s\).*last problem: GET http:\/\/.* failed/);
    }
    const gaps = waiting.slice(1).map(({ arrived }, i) => arrived - waiting[i]!.arrived);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(5_000);
    expect(healthy.arrived - containerStarted).toBeGreaterThanOrEqual(SLOW_START_S * 1000);
    console.log(`${node} (${nodes.length === 1 ? 'alone' : 'side by side'}): Verifying arrived ${verifying.arrived - containerStarted} ms after the container started; ${progress.length} progress events; longest gap ${Math.max(...gaps)} ms`);
  }
}

describe("a node's events during a long health wait", () => {
  it('says Verifying within 2 s of the container starting, then reports progress at least every 5 s until healthy: a node alone and two side by side', async () => {
    await Promise.all([slowStartOn(`it-live-${run}`, [alone], 18094), slowStartOn(`it-live2-${run}`, sideBySide, 18095)]);
  });
});
