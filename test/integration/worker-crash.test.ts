// Fault injection: the worker process is SIGKILLed at random points while 21 deployments of
// three applications run (every third one fails verification on one node); a new worker
// takes over each time. Afterwards, counted from the engines themselves: every deployment
// has exactly one terminal event, every node runs exactly the expected version of each
// application, and there is no duplicate and no orphaned container.
import type { ChildProcess } from 'node:child_process';
import { isTerminal } from '../../src/core/schemas/event';
import { containersOf, removeApplication, spawnWorker, startDeployer, waitFor, type TestDeployer } from '../support/deployer';

jest.setTimeout(900_000);

const stamp = Date.now().toString(36);
const apps = [0, 1, 2].map((i) => ({ name: `it-crash${i}-${stamp}`, port: 18100 + i }));
const PER_APP = 7;
let d: TestDeployer;
let worker: ChildProcess | undefined;

beforeAll(async () => {
  d = await startDeployer('crash', { worker: false });
});

afterAll(async () => {
  worker?.kill('SIGKILL');
  if (d) {
    for (const app of apps) await removeApplication(d, app.name);
    await d.stop();
  }
});

function deployment(app: { name: string; port: number }, n: number, failing: boolean) {
  const nodes = d.inventory.nodes.slice(0, 3);
  const badAddress = nodes[2]!.address;
  const refuse = failing ? `if ip -o addr | grep -q " ${badAddress}/"; then exit 3; fi; ` : '';
  return {
    kind: 'Deploy',
    deploymentId: `${app.name}-${n}`,
    application: { name: app.name, version: `v${n}`, image: `${d.inventory.registry.pull}/busybox:1` },
    nodes: nodes.map((x) => x.id),
    container: { command: ['sh', '-c', `${refuse}trap 'exit 0' TERM; httpd -f -p ${app.port} -h / & wait`], restartPolicy: 'no' },
    healthCheck: { tcp: { port: app.port }, intervalMs: 200, healthyAfter: 2, deadlineMs: 4000 },
    strategy: { maxParallel: n % 2 ? 3 : 1 },
  };
}

describe('worker killed at random points', () => {
  it('ends every deployment exactly once and leaves every node on the expected version, nothing duplicated or orphaned', async () => {
    const sent: { app: string; id: string; failing: boolean }[] = [];
    for (let n = 1; n <= PER_APP; n++) {
      for (const [i, app] of apps.entries()) {
        const failing = (n + i) % 3 === 0;
        await d.send(deployment(app, n, failing));
        sent.push({ app: app.name, id: `${app.name}-${n}`, failing });
      }
    }

    // Kill and replace the worker at random moments until every deployment has ended.
    let kills = 0;
    const done = () => sent.every((s) => d.events.some((e) => e.deploymentId === s.id && isTerminal(e.phase)));
    worker = spawnWorker(d);
    const deadline = Date.now() + 780_000;
    while (!done() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000 + Math.random() * 2000));
      if (done() || kills >= 12) continue;
      worker.kill('SIGKILL');
      kills++;
      worker = spawnWorker(d);
    }
    await waitFor('every deployment to end', done, 120_000);

    const terminal = new Map<string, Set<string>>();
    for (const e of d.events) {
      if (!isTerminal(e.phase)) continue;
      // A repeated publish carries the same seq: the same event, not a second one.
      const seen = terminal.get(e.deploymentId) ?? new Set<string>();
      seen.add(`${e.seq}:${e.phase}`);
      terminal.set(e.deploymentId, seen);
    }
    const outcome = new Map<string, string>();
    for (const s of sent) {
      expect([s.id, terminal.get(s.id)?.size]).toEqual([s.id, 1]);
      outcome.set(s.id, [...terminal.get(s.id)!][0]!.split(':')[1]!);
      expect([s.id, outcome.get(s.id)]).toEqual([s.id, s.failing ? 'RolledBack' : 'Succeeded']);
    }
    expect(kills).toBeGreaterThanOrEqual(5);

    for (const app of apps) {
      const mine = sent.filter((s) => s.app === app.name);
      const succeeded = mine.filter((s) => outcome.get(s.id) === 'Succeeded').map((s) => s.id);
      const expected = succeeded.at(-1)!;
      const replaced = succeeded.at(-2);
      const containers = await containersOf(d, app.name);
      for (const node of d.inventory.nodes.slice(0, 3)) {
        const here = containers[node.id]!;
        // Exactly one running container, of the last deployment that succeeded...
        expect([node.id, here.filter((c) => c.state === 'running').map((c) => c.deploymentId)]).toEqual([node.id, [expected]]);
        // ...and besides it only the version it replaced, stopped, for a rollback without the registry.
        const others = here.filter((c) => c.deploymentId !== expected);
        expect([node.id, others.map((c) => [c.deploymentId, c.state])]).toEqual([node.id, replaced ? [[replaced, 'exited']] : []]);
      }
    }
  });
});
