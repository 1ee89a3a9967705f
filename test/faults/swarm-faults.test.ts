// Fault injection on the real local swarm: the worker process SIGKILLed at random points
// while several swarm deployments run (every third fails verification on one node), and a
// swarm node's engine stopped mid-rollout. Counted from the swarm manager itself afterwards.
import type { ChildProcess } from 'node:child_process';
import { isTerminal } from '../../src/core/schemas/event';
import { httpGet, spawnWorker, startDeployer, waitFor, type TestDeployer } from '../support/deployer';
import { stack } from '../support/stack-control';
import { removeSwarmApplication, servicesOf, swarmNodes, tasksRunningOf } from '../support/swarm';

jest.setTimeout(900_000);

const stamp = Date.now().toString(36);
const apps = [0, 1].map((i) => ({ name: `it-swcrash${i}-${stamp}`, port: 18520 + i }));
const downApp = { name: `it-swdown-${stamp}`, port: 18530 };
const PER_APP = 5;
let d: TestDeployer;
let worker: ChildProcess | undefined;
let downNode: string | undefined;

beforeAll(async () => {
  d = await startDeployer('swarm-faults', { worker: false });
  worker = spawnWorker(d);
});

afterAll(async () => {
  if (downNode) stack('start', downNode);
  worker?.kill('SIGKILL');
  if (d) {
    for (const app of [...apps, downApp]) await removeSwarmApplication(d, app.name);
    await d.stop();
  }
});

const nodes = () => swarmNodes(d);

/** Seconds the server starts late on a `slowOn` node: long enough for a test to stop the node before its health check can pass. */
const SLOW_START = 20;

function deployment(app: { name: string; port: number }, n: number, variant: { failing?: boolean; slowOn?: string } = {}, strategy: object = {}) {
  const refuse = variant.failing ? `if ip -o addr | grep -q " ${nodes()[2]!.address}/"; then exit 3; fi; ` : '';
  const wait = variant.slowOn !== undefined ? `if ip -o addr | grep -q " ${variant.slowOn}/"; then sleep ${SLOW_START}; fi; ` : '';
  return {
    kind: 'Deploy',
    deploymentId: `${app.name}-${n}`,
    application: { name: app.name, version: `v${n}`, image: `${d.inventory.registry.pull}/busybox:1` },
    nodes: nodes().map((x) => x.id),
    container: { command: ['sh', '-c', `${refuse}${wait}mkdir -p /www; printf v${n} > /www/v; trap 'exit 0' TERM; httpd -f -p ${app.port} -h /www & wait`], restartPolicy: 'no', stopGracePeriodMs: 2000 },
    healthCheck: { http: { port: app.port, path: '/v' }, intervalMs: 200, healthyAfter: 2, deadlineMs: variant.slowOn !== undefined ? 60_000 : 20_000 },
    strategy: { maxParallel: n % 2 ? 3 : 1, ...strategy },
  };
}

const served = (port: number, which = nodes()) => Promise.all(which.map(async (n) => {
  const r = await httpGet(`http://${n.address}:${port}/v`);
  return 'body' in r ? r.body : 'unreachable';
}));

describe('the worker killed at random points during swarm deployments', () => {
  it('ends every deployment exactly once; each node runs one task, of the last deployment that succeeded; no orphan service or task', async () => {
    const sent: { app: string; id: string; failing: boolean }[] = [];
    for (let n = 1; n <= PER_APP; n++) {
      for (const [i, app] of apps.entries()) {
        const failing = (n + i) % 3 === 0;
        await d.send(deployment(app, n, { failing }));
        sent.push({ app: app.name, id: `${app.name}-${n}`, failing });
      }
    }
    let kills = 0;
    const done = () => sent.every((s) => d.events.some((e) => e.deploymentId === s.id && isTerminal(e.phase)));
    const deadline = Date.now() + 600_000;
    while (!done() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000 + Math.random() * 2000));
      if (done() || kills >= 8) continue;
      worker!.kill('SIGKILL');
      kills++;
      worker = spawnWorker(d);
    }
    await waitFor('every deployment to end', done, 120_000);
    expect(kills).toBeGreaterThanOrEqual(3);

    for (const app of apps) {
      const mine = sent.filter((s) => s.app === app.name);
      const outcome = new Map<string, string>();
      for (const s of mine) {
        // A repeated publish carries the same seq: the same event, not a second one.
        const terminal = new Set(d.events.filter((e) => e.deploymentId === s.id && isTerminal(e.phase)).map((e) => `${e.seq}:${e.phase}`));
        expect([s.id, terminal.size]).toEqual([s.id, 1]);
        outcome.set(s.id, [...terminal][0]!.split(':')[1]!);
        const end = d.events.filter((e) => e.deploymentId === s.id && isTerminal(e.phase)).at(-1)!;
        // With the reason, when it is not the expected outcome.
        expect([s.id, end.phase, end.phase === (s.failing ? 'RolledBack' : 'Succeeded') ? '' : end.message]).toEqual([s.id, s.failing ? 'RolledBack' : 'Succeeded', '']);
      }
      const expected = mine.filter((s) => outcome.get(s.id) === 'Succeeded').at(-1)!.id;
      // One service per node, each at the last deployment that succeeded, with exactly one running task of it.
      expect((await servicesOf(d, app.name)).map((s) => [s.node, s.deploymentId, s.replicas])).toEqual(['swarm-1', 'swarm-2', 'swarm-3'].map((h) => [h, expected, 1]));
      await waitFor(`one task of ${expected} on each node`, async () => JSON.stringify(await tasksRunningOf(d, app.name, expected)) === JSON.stringify(['swarm-1', 'swarm-2', 'swarm-3']), 30_000);
      expect(await served(app.port)).toEqual(nodes().map(() => `v${expected.split('-').at(-1)}`));
    }
  });
});

describe('a swarm node whose engine stops mid-rollout', () => {
  it('ends RolledBack, naming the unreachable node: every service back at its previous spec, held by the manager; a Retry brings every node to the new version once it is back', async () => {
    const [first, second, third] = nodes();
    await d.send(deployment(downApp, 1));
    expect((await d.terminal(`${downApp.name}-1`)).at(-1)!.phase).toBe('Succeeded');

    // The last node touched (its service at v2) before its engine stops; its server starts
    // late there, so its health check cannot have passed by then.
    await d.send(deployment(downApp, 2, { slowOn: third!.address }, { maxParallel: 1 }));
    await waitFor('the third node\'s service at v2', async () => (await servicesOf(d, downApp.name)).find((s) => s.node === 'swarm-3')?.deploymentId === `${downApp.name}-2`, 120_000);
    downNode = third!.id;
    stack('stop', third!.id);

    await d.terminal(`${downApp.name}-2`, 480_000);
    const end = d.events.filter((e) => e.deploymentId === `${downApp.name}-2` && isTerminal(e.phase));
    // RolledBack, not Failed: a service's spec lives in the swarm's manager, not on its node,
    // so the restore puts even the unreachable node's service back at v1 (it runs v1 when the
    // node is back); a bare engine's node (node-down.test.ts) cannot be restored while down.
    expect(end.map((e) => e.phase)).toEqual(['RolledBack']);
    expect(end[0]!.message).toMatch(new RegExp(`^rolled back: .*${third!.id}.*unreachable`));
    expect((await servicesOf(d, downApp.name)).map((s) => [s.node, s.deploymentId])).toEqual(['swarm-1', 'swarm-2', 'swarm-3'].map((h) => [h, `${downApp.name}-1`]));
    await waitFor('v1 serving on the reachable nodes', async () => JSON.stringify(await served(downApp.port, [first!, second!])) === JSON.stringify(['v1', 'v1']), 30_000);

    stack('start', downNode);
    downNode = undefined;
    await d.send({ kind: 'Retry', deploymentId: `${downApp.name}-2` }, downApp.name);
    await waitFor('the retry to end', () => d.events.filter((e) => e.deploymentId === `${downApp.name}-2` && isTerminal(e.phase)).length === 2, 300_000);
    const retried = d.events.filter((e) => e.deploymentId === `${downApp.name}-2` && isTerminal(e.phase)).at(-1)!;
    expect([retried.phase, retried.phase === 'Succeeded' ? '' : retried.message]).toEqual(['Succeeded', '']);
    await waitFor('v2 serving on every node', async () => (await served(downApp.port)).every((v) => v === 'v2'), 30_000);
  });
});
