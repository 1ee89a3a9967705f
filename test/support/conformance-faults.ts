// The node faults every kind of node must survive, written once and run on each real target
// (test/faults/{docker-engine,swarm,kubernetes}-faults.test.ts): the worker process SIGKILLed
// at random points while deployments run (every third fails verification on one node), and
// the last node lost mid-rollout, then a Retry once it is back. Counted from the target's own
// tooling afterwards. What differs by target is stated by its `Platform` (platforms.ts): the
// outcome of a lost node (a swarm's manager keeps every service's spec, so even that node's
// service goes back; an engine or a kubelet that is down cannot be restored while it is).
// The lost node runs on the fake target too (test/workflows/conformance.test.ts); the worker
// kill does not: the fake's worker and world live in the test's own process.
import type { ChildProcess } from 'node:child_process';
import type { InventoryNode } from '../../src/core/schemas/inventory';
import { isTerminal } from '../../src/core/schemas/event';
import type { NodeLoss, Platform, StackPlatform, SuiteDeployer } from './conformance';
import { spawnWorker, startDeployer, waitFor, type TestDeployer } from './deployer';

/** Seconds the server starts late on a `slowOn` node: long enough for a test to stop the node before its health check can pass. */
const SLOW_START = 20;

/** A web server serving its version, v<n>; every third of the worker kill test fails verification on the last node. */
function deployment<D extends SuiteDeployer>(p: Platform<D>, d: D, app: { name: string; port: number }, n: number, variant: { failing?: boolean; slowOn?: InventoryNode } = {}, strategy: object = {}) {
  const nodes = p.nodes(d);
  const refuse = variant.failing ? `if ip -o addr | grep -q " ${nodes.at(-1)!.address}/"; then exit 3; fi; ` : '';
  const wait = variant.slowOn !== undefined ? p.misbehave(d, `${app.name}-${n}`, { startLate: SLOW_START, on: variant.slowOn }) : '';
  return {
    kind: 'Deploy',
    deploymentId: `${app.name}-${n}`,
    application: { name: app.name, version: `v${n}`, image: `${d.inventory.registry.pull}/busybox:1` },
    nodes: nodes.map((x) => x.id),
    container: {
      command: ['sh', '-c', `${refuse}${wait}trap 'exit 0' TERM; httpd -f -p ${app.port} -h /www & wait`],
      files: [{ path: '/www/version.txt', content: `v${n}` }],
      stopGracePeriodMs: 2000,
      ...p.container,
    },
    healthCheck: { http: { port: app.port, path: '/version.txt' }, intervalMs: 200, healthyAfter: 2, deadlineMs: variant.slowOn !== undefined ? 60_000 : 20_000 },
    strategy: { maxParallel: n % 2 ? nodes.length : 1, ...strategy },
  };
}

export function nodeFaults(p: StackPlatform): void {
  const f = p.faults;
  const stamp = Date.now().toString(36);
  const apps = [0, 1].map((i) => ({ name: `it-${p.tag}crash${i}-${stamp}`, port: f.port + i }));
  const downApp = { name: `it-${p.tag}down-${stamp}`, port: f.port + 2 };
  let d: TestDeployer;
  let worker: ChildProcess | undefined;

  beforeAll(async () => {
    d = await startDeployer(`${p.name}-faults`, { worker: false });
    worker = spawnWorker(d);
  });

  afterAll(async () => {
    worker?.kill('SIGKILL');
    if (d) {
      for (const app of [...apps, downApp]) await p.remove(d, app.name);
      await d.stop();
    }
  });

  const nodes = () => p.nodes(d);
  const names = () => nodes().map(p.nameOf);
  const terminals = (id: string) => d.events.filter((e) => e.deploymentId === id && isTerminal(e.phase));

  describe(`the worker killed at random points during deployments on ${p.name}`, () => {
    it('ends every deployment exactly once, as it would have ended; each node runs one instance, of the last deployment that succeeded; nothing orphaned', async () => {
      const sent: { app: string; id: string; failing: boolean }[] = [];
      for (let n = 1; n <= f.perApp; n++) {
        for (const [i, app] of apps.entries()) {
          const failing = (n + i) % 3 === 0;
          await d.send(deployment(p, d, app, n, { failing }));
          sent.push({ app: app.name, id: `${app.name}-${n}`, failing });
        }
      }
      let kills = 0;
      const done = () => sent.every((s) => terminals(s.id).length > 0);
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
        for (const s of mine) {
          // A repeated publish carries the same seq: the same event, not a second one.
          const terminal = new Set(terminals(s.id).map((e) => `${e.seq}:${e.phase}`));
          expect([s.id, terminal.size]).toEqual([s.id, 1]);
          // With the reason, when it is not the expected outcome.
          const end = terminals(s.id).at(-1)!;
          const wanted = s.failing ? 'RolledBack' : 'Succeeded';
          expect([s.id, end.phase, end.phase === wanted ? '' : end.message]).toEqual([s.id, wanted, '']);
        }
        const succeeded = mine.filter((s) => !s.failing).map((s) => s.id);
        const expected = succeeded.at(-1)!;
        const version = `v${expected.split('-').at(-1)}`;
        // One workload per node, each at the last deployment that succeeded, with exactly one running instance of it.
        expect((await p.workloads(d, app.name)).map((w) => [w.node, w.deploymentId, w.replicas])).toEqual(names().map((n) => [n, expected, 1]));
        await waitFor(`one instance of ${expected} on each node`, async () => (await p.runningNodes(d, app.name)).join() === names().join() && (await p.runningOf(d, app.name, expected)).join() === names().join(), 60_000);
        await f.checkLeft?.(d, app.name, succeeded);
        expect(await p.served(d, app.name, app.port)).toEqual(nodes().map(() => version));
      }
    });
  });

  nodeLost(p, f, () => d, downApp);
}

/** The last node lost mid-rollout, then back and a Retry: on a real target, or the fake (`loss` says how). */
export function nodeLost<D extends SuiteDeployer>(p: Platform<D>, f: NodeLoss<D>, deployer: () => D, downApp: { name: string; port: number }): void {
  let stopped: InventoryNode | undefined;
  afterAll(() => {
    if (stopped) f.start(deployer(), stopped);
  });
  const nodes = () => p.nodes(deployer());
  const terminals = (id: string) => deployer().events.filter((e) => e.deploymentId === id && isTerminal(e.phase));
  const served = async (port: number) => p.served(deployer(), downApp.name, port);

  describe(`a node of ${p.name} lost mid-rollout`, () => {
    it(`ends ${f.lost.phase}, naming the node; the other nodes are back on the previous version, and a Retry brings every node to the new one once it is back`, async () => {
      const d = deployer();
      const lostNode = nodes().at(-1)!;
      const others = nodes().slice(0, -1);
      await d.send(deployment(p, d, downApp, 1));
      expect((await d.terminal(`${downApp.name}-1`)).at(-1)!.phase).toBe('Succeeded');

      // The last node touched (v2 placed and started there) before it is lost; its server
      // starts late there, so its health check cannot have passed by then.
      await d.send(deployment(p, d, downApp, 2, { slowOn: lostNode }, { maxParallel: 1 }));
      await waitFor('v2 started on the last node', async () => (await p.runningOf(d, downApp.name, `${downApp.name}-2`)).includes(p.nameOf(lostNode)), 120_000);
      stopped = lostNode;
      f.stop(d, lostNode);

      await d.terminal(`${downApp.name}-2`, 480_000);
      const end = terminals(`${downApp.name}-2`);
      expect(end.map((e) => e.phase)).toEqual([f.lost.phase]);
      expect(end[0]!.message).toMatch(f.lost.message(lostNode));
      await waitFor('v1 serving on the other nodes', async () => (await served(downApp.port)).slice(0, -1).join() === others.map(() => 'v1').join(), 30_000);
      const back = (await p.workloads(d, downApp.name)).filter((w) => f.lost.restoredWhileDown || w.node !== p.nameOf(lostNode));
      expect(back.map((w) => [w.node, w.deploymentId])).toEqual((f.lost.restoredWhileDown ? nodes() : others).map((n) => [p.nameOf(n), `${downApp.name}-1`]));

      f.start(d, lostNode);
      stopped = undefined;
      await d.send({ kind: 'Retry', deploymentId: `${downApp.name}-2` }, downApp.name);
      await waitFor('the retry to end', () => terminals(`${downApp.name}-2`).length === 2, 300_000);
      const retried = terminals(`${downApp.name}-2`).at(-1)!;
      expect([retried.phase, retried.phase === 'Succeeded' ? '' : retried.message]).toEqual(['Succeeded', '']);
      await waitFor('v2 serving on every node', async () => (await served(downApp.port)).every((v) => v === 'v2'), 60_000);
    });
  });
}
