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

function deployment(app: { name: string; port: number }, n: number, variant: { failing?: boolean; slowStart?: number } = {}, strategy: object = {}) {
  const refuse = variant.failing ? `if ip -o addr | grep -q " ${nodes()[2]!.address}/"; then exit 3; fi; ` : '';
  const wait = variant.slowStart !== undefined ? `sleep ${variant.slowStart}; ` : '';
  return {
    kind: 'Deploy',
    deploymentId: `${app.name}-${n}`,
    application: { name: app.name, version: `v${n}`, image: `${d.inventory.registry.pull}/busybox:1` },
    nodes: nodes().map((x) => x.id),
    container: { command: ['sh', '-c', `${refuse}${wait}mkdir -p /www; printf v${n} > /www/v; trap 'exit 0' TERM; httpd -f -p ${app.port} -h /www & wait`], restartPolicy: 'no', stopGracePeriodMs: 2000 },
    healthCheck: { http: { port: app.port, path: '/v' }, intervalMs: 200, healthyAfter: 2, deadlineMs: 20_000 },
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
  it('restores the other nodes, names the unreachable one, and a Retry brings every node to the new version once it is back', async () => {
    const [first, second, third] = nodes();
    await d.send(deployment(downApp, 1));
    expect((await d.terminal(`${downApp.name}-1`)).at(-1)!.phase).toBe('Succeeded');

    await d.send(deployment(downApp, 2, { slowStart: 3 }, { maxParallel: 1 }));
    await waitFor('v2 running on the first node', async () => (await tasksRunningOf(d, downApp.name, `${downApp.name}-2`)).includes('swarm-1'), 60_000);
    downNode = third!.id;
    stack('stop', third!.id);

    const end = await d.terminal(`${downApp.name}-2`, 480_000);
    const last = end.at(-1)!;
    expect(['Failed', 'RolledBack']).toContain(last.phase);
    expect(last.message).toMatch(new RegExp(`${third!.id}.*unreachable`));
    await waitFor('v1 serving on the reachable nodes', async () => JSON.stringify(await served(downApp.port, [first!, second!])) === JSON.stringify(['v1', 'v1']), 30_000);
    expect((await servicesOf(d, downApp.name)).filter((s) => s.node !== 'swarm-3').map((s) => s.deploymentId)).toEqual([`${downApp.name}-1`, `${downApp.name}-1`]);

    stack('start', downNode);
    downNode = undefined;
    await d.send({ kind: 'Retry', deploymentId: `${downApp.name}-2` }, downApp.name);
    await waitFor('the retry to end', () => d.events.filter((e) => e.deploymentId === `${downApp.name}-2` && isTerminal(e.phase)).length === 2, 300_000);
    const retried = d.events.filter((e) => e.deploymentId === `${downApp.name}-2` && isTerminal(e.phase)).at(-1)!;
    expect([retried.phase, retried.phase === 'Succeeded' ? '' : retried.message]).toEqual(['Succeeded', '']);
    await waitFor('v2 serving on every node', async () => (await served(downApp.port)).every((v) => v === 'v2'), 30_000);
  });
});
