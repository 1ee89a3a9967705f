// Fault injection on the real local Kubernetes cluster: the worker process SIGKILLed at
// random points while several deployments run (every third fails verification on one
// node), and a node's kubelet stopped mid-rollout. Counted from the cluster itself afterwards.
import type { ChildProcess } from 'node:child_process';
import { isTerminal } from '../../src/core/schemas/event';
import { httpGet, spawnWorker, startDeployer, waitFor, type TestDeployer } from '../support/deployer';
import { kubeJson, kubeNodes, kubelet, removeKubeApplication, workloadsOf } from '../support/kube';

jest.setTimeout(900_000);

const stamp = Date.now().toString(36);
const apps = [0, 1].map((i) => ({ name: `it-k8crash${i}-${stamp}`, port: 18620 + i }));
const downApp = { name: `it-k8down-${stamp}`, port: 18630 };
const PER_APP = 4;
let d: TestDeployer;
let worker: ChildProcess | undefined;
let stopped: ReturnType<typeof kubeNodes>[number] | undefined;

beforeAll(async () => {
  d = await startDeployer('kube-faults', { worker: false });
  worker = spawnWorker(d);
});

afterAll(async () => {
  if (stopped) kubelet('start', stopped);
  worker?.kill('SIGKILL');
  if (d) {
    for (const app of [...apps, downApp]) await removeKubeApplication(d, app.name);
    await d.stop();
  }
});

const nodes = () => kubeNodes(d);

/** Seconds the server starts late on a `slowOn` node: long enough for a test to stop the node before its health check can pass. */
const SLOW_START = 20;

function deployment(app: { name: string; port: number }, n: number, variant: { failing?: boolean; slowOn?: string } = {}, strategy: object = {}) {
  const refuse = variant.failing ? `if ip -o addr | grep -q " ${nodes()[1]!.address}/"; then exit 3; fi; ` : '';
  const wait = variant.slowOn !== undefined ? `if ip -o addr | grep -q " ${variant.slowOn}/"; then sleep ${SLOW_START}; fi; ` : '';
  return {
    kind: 'Deploy',
    deploymentId: `${app.name}-${n}`,
    application: { name: app.name, version: `v${n}`, image: `${d.inventory.registry.pull}/busybox:1` },
    nodes: nodes().map((x) => x.id),
    container: { command: ['sh', '-c', `${refuse}${wait}mkdir -p /www; printf v${n} > /www/v; trap 'exit 0' TERM; httpd -f -p ${app.port} -h /www & wait`], stopGracePeriodMs: 2000 },
    healthCheck: { http: { port: app.port, path: '/v' }, intervalMs: 200, healthyAfter: 2, deadlineMs: variant.slowOn !== undefined ? 60_000 : 20_000 },
    strategy: { maxParallel: n % 2 ? 2 : 1, ...strategy },
  };
}

const served = (port: number, which = nodes()) => Promise.all(which.map(async (n) => {
  const r = await httpGet(`http://${n.address}:${port}/v`);
  return 'body' in r ? r.body : 'unreachable';
}));

/** The versions of the application's pods that exist (running or not), per node: nothing orphaned beside the current one. */
const podVersions = (app: string) => kubeJson(d, 'get', 'pods', '-l', `io.deployer.application=${app}`).items
  .filter((p) => p.metadata.deletionTimestamp === undefined)
  .map((p) => `${p.spec.nodeName}:${p.metadata.annotations['io.deployer.version']}`)
  .sort();

describe('the worker killed at random points during Kubernetes deployments', () => {
  it('ends every deployment exactly once; each node runs one pod, of the last deployment that succeeded; no orphan workload or pod', async () => {
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
        expect([s.id, end.phase, end.phase === (s.failing ? 'RolledBack' : 'Succeeded') ? '' : end.message]).toEqual([s.id, s.failing ? 'RolledBack' : 'Succeeded', '']);
      }
      const expected = mine.filter((s) => outcome.get(s.id) === 'Succeeded').at(-1)!.id;
      const version = `v${expected.split('-').at(-1)}`;
      // One Deployment per node, each at the last deployment that succeeded, with exactly one pod of it.
      expect(workloadsOf(d, app.name).map((w) => [w.node, w.deploymentId, w.replicas])).toEqual(['kube-1', 'kube-2'].map((n) => [n, expected, 1]));
      await waitFor(`one pod of ${expected} on each node`, async () => JSON.stringify(podVersions(app.name)) === JSON.stringify([`kube-1:${version}`, `kube-2:${version}`]), 60_000);
      expect(await served(app.port)).toEqual([version, version]);
    }
  });
});

describe('a Kubernetes node whose kubelet stops mid-rollout', () => {
  it('ends Failed, its rollback incomplete on the node that is not ready; the other node is restored, and a Retry brings both to the new version once it is back', async () => {
    const [first, second] = nodes();
    await d.send(deployment(downApp, 1));
    expect((await d.terminal(`${downApp.name}-1`)).at(-1)!.phase).toBe('Succeeded');

    // The last node touched (its Deployment at v2) before its kubelet stops; its server
    // starts late there, so its readiness cannot have passed by then.
    await d.send(deployment(downApp, 2, { slowOn: second!.address }, { maxParallel: 1 }));
    await waitFor('the second node\'s Deployment at v2', () => workloadsOf(d, downApp.name).find((w) => w.node === 'kube-2')?.deploymentId === `${downApp.name}-2`, 120_000);
    stopped = second!;
    kubelet('stop', second!);

    await d.terminal(`${downApp.name}-2`, 480_000);
    const end = d.events.filter((e) => e.deploymentId === `${downApp.name}-2` && isTerminal(e.phase));
    // Failed, not RolledBack: the API server takes the previous revision back, but a restore
    // is done only once the node runs it again, and no pod on a node without its kubelet
    // starts or stops: that node is not back as it was while the deployment can tell.
    expect(end.map((e) => e.phase)).toEqual(['Failed']);
    expect(end[0]!.message).toMatch(new RegExp(`^rollback incomplete on ${second!.id}; cause: .*${second!.id}.*NotReady`));
    await waitFor('v1 serving on the first node', async () => JSON.stringify(await served(downApp.port, [first!])) === JSON.stringify(['v1']), 30_000);
    expect(workloadsOf(d, downApp.name).find((w) => w.node === 'kube-1')!.deploymentId).toBe(`${downApp.name}-1`);

    kubelet('start', second!);
    stopped = undefined;
    await d.send({ kind: 'Retry', deploymentId: `${downApp.name}-2` }, downApp.name);
    await waitFor('the retry to end', () => d.events.filter((e) => e.deploymentId === `${downApp.name}-2` && isTerminal(e.phase)).length === 2, 300_000);
    const retried = d.events.filter((e) => e.deploymentId === `${downApp.name}-2` && isTerminal(e.phase)).at(-1)!;
    expect([retried.phase, retried.phase === 'Succeeded' ? '' : retried.message]).toEqual(['Succeeded', '']);
    await waitFor('v2 serving on both nodes', async () => (await served(downApp.port)).every((v) => v === 'v2'), 60_000);
  });
});
