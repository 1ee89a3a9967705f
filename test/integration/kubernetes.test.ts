// Kubernetes as a target, on the real local cluster of the stack (a real API server, real
// kubelets with containerd on kube-1 and kube-2): Kafka requests deploy one Deployment per
// chosen node, pinned there by nodeName; a v2 whose readiness fails on one node and a
// cancelled v3 put every Deployment back at its previous revision; a secret reaches the pod
// and nothing else; Scale and Undeploy act on Deployments and leave nothing behind. What runs
// where is asked of the cluster itself, with kubectl.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, join } from 'node:path';
import { isTerminal, type StatusEvent } from '../../src/core/schemas/event';
import { decideUpdate } from '../../workflows/definitions';
import { historiesText } from '../support/history';
import { httpGet, startDeployer, waitFor, IDLE, type TestDeployer } from '../support/deployer';
import { captureOutput } from '../support/captured-output';
import { kubeJson, kubeNodes, kubectl, namespaceOf, nodeNameOf, objectsOf, readyPodNodes, removeKubeApplication, workloadsOf } from '../support/kube';

jest.setTimeout(600_000);

const stamp = Date.now().toString(36);
const used: string[] = [];
let logs: string[] = [];
let d: TestDeployer;

beforeAll(async () => {
  // Everything this process writes is the worker's and the bridge's logs: searched for the secret below.
  logs = captureOutput();
  d = await startDeployer('kube', { bridgeLogLevel: 'info' });
  expect(kubeNodes(d).map(nodeNameOf)).toEqual(['kube-1', 'kube-2']);
});

afterAll(async () => {
  jest.restoreAllMocks();
  if (d) {
    for (const app of used) await removeKubeApplication(d, app);
    await d.stop();
  }
});

function newApp(name: string): string {
  const app = `it-k8-${name}-${stamp}`;
  used.push(app);
  return app;
}

const nodes = () => kubeNodes(d);
const terminalPhases = (id: string) => d.events.filter((e) => e.deploymentId === id && isTerminal(e.phase)).map((e) => e.phase);

interface Variant {
  /** Never ready on this node (by its address): its readiness probe's file is missing there. */
  failOn?: string;
  /** Seconds before the server listens. */
  slowStart?: number;
}

/** A web server on the node's own network, serving its version from a file delivered in a ConfigMap. */
function web(app: string, port: number, n: number, variant: Variant = {}, extra: object = {}) {
  const refuse = variant.failOn !== undefined ? `if ip -o addr | grep -q " ${variant.failOn}/"; then exec sleep 3600; fi; ` : '';
  const wait = variant.slowStart !== undefined ? `sleep ${variant.slowStart}; ` : '';
  return {
    kind: 'Deploy',
    deploymentId: `${app}-${n}`,
    application: { name: app, version: `v${n}`, image: `${d.inventory.registry.pull}/busybox:1` },
    nodes: nodes().map((x) => x.id),
    container: {
      command: ['sh', '-c', `${refuse}${wait}trap 'exit 0' TERM; httpd -f -p ${port} -h /www & wait`],
      files: [{ path: '/www/version.txt', content: `v${n}` }],
      stopGracePeriodMs: 2000,
    },
    // A slow start gets a deadline beyond it: a test cancels it while it waits.
    healthCheck: { http: { port, path: '/version.txt' }, intervalMs: 200, healthyAfter: 2, deadlineMs: variant.slowStart !== undefined ? (variant.slowStart + 30) * 1000 : 30_000 },
    strategy: { maxParallel: 2 },
    ...extra,
  };
}

const served = (port: number) => Promise.all(nodes().map(async (n) => {
  const r = await httpGet(`http://${n.address}:${port}/version.txt`);
  return 'body' in r ? r.body : 'unreachable';
}));

describe('deployments on a real Kubernetes cluster', () => {
  const app = () => used[0]!;
  const port = 18601;
  let v1Templates: unknown[];

  it('a Kafka Deploy to kube-1 and kube-2 answers on both nodes; its pods run on exactly those nodes', async () => {
    const a = newApp('web');
    await d.send(web(a, port, 1));
    const events = await d.terminal(`${a}-1`);
    expect(events.at(-1)!.phase).toBe('Succeeded');
    expect(await served(port)).toEqual(['v1', 'v1']);
    expect(workloadsOf(d, a).map((w) => [w.name, w.node, w.version, w.replicas])).toEqual(['kube-1', 'kube-2'].map((n) => [`${a}--${n}`, n, 'v1', 1]));
    // As an operator sees it: `kubectl get pods -o wide` places each pod.
    const wide = kubectl('-n', namespaceOf(d), 'get', 'pods', '-l', `io.deployer.application=${a}`, '-o', 'wide', '--no-headers').split('\n').filter(Boolean);
    expect(wide.map((l) => l.split(/\s+/)[6]).sort()).toEqual(['kube-1', 'kube-2']);
    expect(readyPodNodes(d, a)).toEqual(['kube-1', 'kube-2']);
    v1Templates = workloadsOf(d, a).map((w) => w.template);
  });

  it('a v2 whose readiness never passes on one node ends RolledBack: v1 serves on both, each Deployment back at its previous revision', async () => {
    const second = nodes()[1]!;
    await d.send(web(app(), port, 2, { failOn: second.address }));
    const events = await d.terminal(`${app()}-2`);
    expect(terminalPhases(`${app()}-2`)).toEqual(['RolledBack']);
    expect(events.at(-1)!.message).toContain(`${second.id}: `);
    expect(events.at(-1)!.message).toContain('did not become healthy');
    await waitFor('v1 serving on both', async () => (await served(port)).every((v) => v === 'v1'), 30_000);
    expect(workloadsOf(d, app()).map((w) => w.template)).toEqual(v1Templates);
    expect(readyPodNodes(d, app())).toEqual(['kube-1', 'kube-2']);
    // The previous revision itself runs again: the ReplicaSet of v1 is the one with pods.
    const sets = kubeJson(d, 'get', 'replicasets', '-l', `io.deployer.application=${app()}`).items.filter((s) => (s.spec.replicas ?? 0) > 0);
    expect(sets.map((s) => s.spec.template.metadata.annotations['io.deployer.version'])).toEqual(['v1', 'v1']);
  });

  it('a Cancel mid-rollout puts v1 back on both nodes; terminal Cancelled', async () => {
    await d.send(web(app(), port, 3, { slowStart: 60 }));
    await waitFor('v3 pods running on both', async () => kubeJson(d, 'get', 'pods', '-l', `io.deployer.application=${app()}`).items.filter((p) => p.metadata.annotations['io.deployer.version'] === 'v3' && p.status.phase === 'Running').length === 2, 60_000);
    await d.send({ kind: 'Cancel', deploymentId: `${app()}-3` }, app());
    await d.terminal(`${app()}-3`);
    expect(terminalPhases(`${app()}-3`)).toEqual(['Cancelled']);
    await waitFor('v1 serving on both', async () => (await served(port)).every((v) => v === 'v1'), 30_000);
    expect(workloadsOf(d, app()).map((w) => w.template)).toEqual(v1Templates);
  });

  it('a Rollback to a named version puts it back on both nodes from its own request, building nothing', async () => {
    await d.send(web(app(), port, 4));
    expect((await d.terminal(`${app()}-4`)).at(-1)!.phase).toBe('Succeeded');
    expect(await served(port)).toEqual(['v4', 'v4']);
    await d.send({ kind: 'Rollback', deploymentId: `${app()}-rb1`, application: app(), toVersion: 'v1' }, app());
    const events = await d.terminal(`${app()}-rb1`);
    expect(events.at(-1)).toMatchObject({ phase: 'Succeeded', version: 'v1' });
    expect(events.filter((e) => e.phase === 'Building' || e.phase === 'Pushing')).toEqual([]);
    await waitFor('v1 serving on both', async () => (await served(port)).every((v) => v === 'v1'), 30_000);
    expect(workloadsOf(d, app()).map((w) => [w.node, w.version, w.deploymentId])).toEqual(['kube-1', 'kube-2'].map((n) => [n, 'v1', `${app()}-rb1`]));
  });

  it('a new version replaces a PID-1 program that ignores SIGTERM after the stop grace: terminationGracePeriodSeconds, and each old pod gone about the grace after its deletion', async () => {
    const a = newApp('grace');
    // Long enough to tell from an immediate stop, well below Kubernetes' default of 30 s.
    const graceMs = 3000;
    const ignoring = (n: number) => ({
      ...web(a, 18603, n),
      // A plain `sleep` as PID 1 ignores SIGTERM: only the grace period ends it.
      container: { command: ['sh', '-c', `mkdir -p /www; printf v${n} > /www/version.txt; httpd -p 18603 -h /www; exec sleep 3600`], stopGracePeriodMs: graceMs },
    });
    const pods = () => kubeJson(d, 'get', 'pods', '-l', `io.deployer.application=${a}`).items;
    await d.send(ignoring(1));
    expect((await d.terminal(`${a}-1`)).at(-1)!.phase).toBe('Succeeded');
    const v1Pods: string[] = pods().map((p) => p.metadata.name);
    expect(v1Pods).toHaveLength(2);

    // Watched from the cluster while v2 replaces them: when each v1 pod is first seen marked
    // for deletion (with the grace it was given), and when first seen gone. The v2 rollout
    // (Recreate) starts its pods only once the old ones are gone. Gone includes the kubelet
    // reporting the kill and the API server deleting the pod (about 1.5 s here): the upper
    // bound leaves room for a loaded machine and stays far below the default grace.
    await d.send(ignoring(2));
    const marked = new Map<string, { at: number; grace: number }>();
    const gone = new Map<string, number>();
    await waitFor('the v1 pods gone', () => {
      const before = Date.now();
      const now = pods();
      for (const name of v1Pods) {
        const p = now.find((x) => x.metadata.name === name);
        if (p === undefined) {
          if (!gone.has(name)) gone.set(name, before);
        } else if (p.metadata.deletionTimestamp !== undefined && !marked.has(name)) {
          marked.set(name, { at: before, grace: p.metadata.deletionGracePeriodSeconds });
        }
      }
      return gone.size === v1Pods.length;
    }, 120_000, 100);
    for (const name of v1Pods) {
      const ms = gone.get(name)! - (marked.get(name)?.at ?? NaN);
      expect([name, marked.get(name)?.grace, ms >= graceMs - 1000 && ms <= graceMs + 10_000 ? 'about the grace' : `${ms} ms after its deletion`]).toEqual([name, graceMs / 1000, 'about the grace']);
    }
    expect((await d.terminal(`${a}-2`)).at(-1)!.phase).toBe('Succeeded');
    expect(await served(18603)).toEqual(['v2', 'v2']);
    expect(workloadsOf(d, a).map((w) => (w.template as { spec: { terminationGracePeriodSeconds: number } }).spec.terminationGracePeriodSeconds)).toEqual([graceMs / 1000, graceMs / 1000]);
  });
});

describe('pause, decisions and dependsOn on a real Kubernetes cluster', () => {
  const eventOf = (id: string, pred: (e: StatusEvent) => boolean) => () => d.events.find((e) => e.deploymentId === id && pred(e));
  const paused = (id: string) => waitFor(`${id} paused`, eventOf(id, (e) => e.phase === 'Paused' && e.node === undefined));
  // The second node refuses to serve until this server, on the host's side of the fog bridge, says it may.
  let healed = false;
  let gate: Server;
  const gatePort = 18609;
  beforeAll(async () => {
    gate = createServer((_req, res) => res.writeHead(healed ? 200 : 404).end(healed ? 'ok' : 'not yet'));
    await new Promise<void>((r) => gate.listen(gatePort, d.inventory.registry.pull.split(':')[0], r));
  });
  afterAll(() => new Promise<void>((r) => gate.close(() => r())));

  function pausing(app: string, port: number, n: number) {
    const second = nodes()[1]!.address;
    const host = d.inventory.registry.pull.split(':')[0];
    const base = web(app, port, n, {}, { strategy: { maxParallel: 1, onFailure: 'pause' } });
    return {
      ...base,
      container: {
        ...base.container,
        command: ['sh', '-c', `if ip -o addr | grep -q " ${second}/" && ! wget -q -O /dev/null http://${host}:${gatePort}/; then exit 3; fi; trap 'exit 0' TERM; httpd -f -p ${port} -h /www & wait`],
      },
    };
  }

  it('each decision sent to a paused deployment does what it says: skip, rollback, retry', async () => {
    const app = newApp('pause');
    const port = 18604;
    await d.send(web(app, port, 1));
    expect((await d.terminal(`${app}-1`)).at(-1)!.phase).toBe('Succeeded');

    // skip: the second node goes back to v1, the first keeps v2, the deployment succeeds.
    await d.send(pausing(app, port, 2));
    await paused(`${app}-2`);
    await d.client.workflow.getHandle(`${app}-2`).executeUpdate(decideUpdate, { args: ['skip'] });
    await d.terminal(`${app}-2`);
    expect(terminalPhases(`${app}-2`)).toEqual(['Succeeded']);
    await waitFor('v2, v1 served', async () => (await served(port)).join() === 'v2,v1', 30_000);
    expect(workloadsOf(d, app).map((w) => [w.node, w.version])).toEqual([['kube-1', 'v2'], ['kube-2', 'v1']]);

    // rollback: both back at what they ran before this deployment, the finished node included.
    await d.send(pausing(app, port, 3));
    await paused(`${app}-3`);
    await d.client.workflow.getHandle(`${app}-3`).executeUpdate(decideUpdate, { args: ['rollback'] });
    await d.terminal(`${app}-3`);
    expect(terminalPhases(`${app}-3`)).toEqual(['RolledBack']);
    await waitFor('v2, v1 served', async () => (await served(port)).join() === 'v2,v1', 30_000);

    // retry: the cause is fixed, the failed node is tried again, and the deployment succeeds.
    await d.send(pausing(app, port, 4));
    await paused(`${app}-4`);
    healed = true;
    const answer = await d.client.workflow.getHandle(`${app}-4`).executeUpdate(decideUpdate, { args: ['retry'] });
    expect(answer).toEqual({ accepted: 'retry', failedNodes: [nodes()[1]!.id] });
    await d.terminal(`${app}-4`);
    expect(terminalPhases(`${app}-4`)).toEqual(['Succeeded']);
    expect(await served(port)).toEqual(['v4', 'v4']);
    expect(readyPodNodes(d, app)).toEqual(['kube-1', 'kube-2']);
  });

  it('dependsOn waits for a dependency deployed after it, and times out naming the node where one is missing', async () => {
    const base = newApp('base');
    const later = newApp('later');
    const [first, second] = nodes();
    const idle = (app: string, id: string, extra: object = {}) => ({
      kind: 'Deploy',
      deploymentId: id,
      application: { name: app, version: '1', image: `${d.inventory.registry.pull}/busybox:1` },
      nodes: [first!.id],
      container: { command: IDLE, network: 'bridge' },
      ...extra,
    });
    await d.send(idle(later, `${later}-1`, { dependsOn: [base] }));
    const waiting = () => d.events.some((e) => e.deploymentId === `${later}-1` && e.message.includes('to run healthy'));
    await waitFor(`${later}-1 waiting for ${base}`, waiting, 30_000);
    expect(workloadsOf(d, later)).toEqual([]);

    await d.send(idle(base, `${base}-1`));
    const baseEnd = (await d.terminal(`${base}-1`)).at(-1)!;
    const laterEvents = await d.terminal(`${later}-1`, 120_000);
    expect(baseEnd.phase).toBe('Succeeded');
    expect(laterEvents.filter((e) => isTerminal(e.phase)).map((e) => e.phase)).toEqual(['Succeeded']);
    // Nothing of the dependent started before its dependency had succeeded.
    expect(Date.parse(laterEvents.find((e) => e.phase === 'Deploying')!.at)).toBeGreaterThanOrEqual(Date.parse(baseEnd.at));
    expect(readyPodNodes(d, later)).toEqual(['kube-1']);

    // The dependency runs on kube-1 only: on kube-2 it is missing.
    await d.send({ ...idle(later, `${later}-2`, { dependsOn: [base], strategy: { dependencyTimeoutMs: 3000 } }), nodes: [second!.id] });
    const end = (await d.terminal(`${later}-2`)).at(-1)!;
    expect(end.phase).toBe('RolledBack');
    expect(end.message).toContain('did not run healthy within 3000 ms');
    expect(end.message).toContain(`${base} has no running container on ${second!.id}`);
    expect(readyPodNodes(d, later)).toEqual(['kube-1']);
  });
});

describe('a secret on a real Kubernetes cluster', () => {
  it('reaches the pod from a Secret, and its value is in no history, log, event, label, annotation or object but the Secret itself', async () => {
    const a = newApp('secret');
    const value = `s3cret-${randomBytes(16).toString('hex')}`;
    const ref = `it/${stamp}/kube-token`;
    const file = join(d.config.secretsPath, ref);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, value, { mode: 0o600 });
    const node = nodes()[0]!;
    const port = 18602;
    await d.send({
      kind: 'Deploy',
      deploymentId: `${a}-1`,
      application: { name: a, version: '1', image: `${d.inventory.registry.pull}/busybox:1` },
      nodes: [node.id],
      container: {
        command: ['sh', '-c', `mkdir -p /www && sha256sum "$APP_TOKEN_FILE" | cut -d' ' -f1 > /www/hash && trap 'exit 0' TERM; httpd -f -p ${port} -h /www & wait`],
        secrets: [{ name: 'APP_TOKEN', ref }],
      },
      healthCheck: { http: { port, path: '/hash' }, intervalMs: 200 },
    });
    expect((await d.terminal(`${a}-1`)).at(-1)!.phase).toBe('Succeeded');
    expect(await httpGet(`http://${node.address}:${port}/hash`)).toEqual({ status: 200, body: `${createHash('sha256').update(value).digest('hex')}\n` });

    const ns = namespaceOf(d);
    const selector = `io.deployer.application=${a}`;
    // Everything of the application's in the namespace, as `kubectl get -o yaml` shows it, but the Secret.
    const objects = kubectl('-n', ns, 'get', 'deployments,replicasets,pods,configmaps,events', '-o', 'yaml');
    const mine = kubectl('-n', ns, 'get', 'deployments,replicasets,pods,configmaps', '-l', selector, '-o', 'yaml');
    expect(mine).toContain(`${a}--${nodeNameOf(node)}`);
    // The Secret exists and holds the value (base64, as the API keeps it): the only place it is.
    const secret = kubeJson<{ items: { data: Record<string, string>; metadata: { labels: Record<string, string>; annotations?: Record<string, string> } }[] }>(d, 'get', 'secrets', '-l', selector).items;
    expect(secret.map((x) => Buffer.from(x.data.APP_TOKEN!, 'base64').toString('utf8'))).toEqual([value]);
    const history = [await historiesText(d, [`${a}-1`, `${a}-1/${node.id}`])];
    expect(history.join('\n')).toContain(ref);
    expect(logs.join('')).toContain(`${a}-1`);
    const encoded = Buffer.from(value).toString('base64');
    const hits = {
      history: history.join('\n').includes(value),
      logs: logs.join('').includes(value),
      events: JSON.stringify(d.events).includes(value),
      objects: objects.includes(value) || objects.includes(encoded),
      secretLabelsOrAnnotations: JSON.stringify(secret.map((x) => x.metadata)).includes(value),
    };
    expect(hits).toEqual({ history: false, logs: false, events: false, objects: false, secretLabelsOrAnnotations: false });
  });
});

describe('Scale and Undeploy on a real Kubernetes cluster', () => {
  it('scales to 2 replicas per node and onto another node, then Undeploy leaves nothing the Deployer made', async () => {
    const a = newApp('scale');
    const [first, second] = nodes();
    await d.send({
      kind: 'Deploy',
      deploymentId: `${a}-1`,
      application: { name: a, version: '1', image: `${d.inventory.registry.pull}/busybox:1` },
      nodes: [first!.id],
      container: { command: IDLE, network: 'bridge', files: [{ path: '/etc/app.conf', content: 'x=1' }] },
    });
    expect((await d.terminal(`${a}-1`)).at(-1)!.phase).toBe('Succeeded');
    expect(readyPodNodes(d, a)).toEqual(['kube-1']);

    await d.send({ kind: 'Scale', deploymentId: `${a}-s1`, application: a, nodes: [first!.id, second!.id], replicasPerNode: 2 }, a);
    expect((await d.terminal(`${a}-s1`)).at(-1)!.phase).toBe('Succeeded');
    await waitFor('4 ready pods', async () => readyPodNodes(d, a).length === 4, 30_000);
    expect(readyPodNodes(d, a)).toEqual(['kube-1', 'kube-1', 'kube-2', 'kube-2']);
    expect(workloadsOf(d, a).map((w) => [w.node, w.replicas, w.version])).toEqual([['kube-1', 2, '1'], ['kube-2', 2, '1']]);

    await d.send({ kind: 'Undeploy', deploymentId: `${a}-u1`, application: a }, a);
    expect((await d.terminal(`${a}-u1`)).at(-1)!.phase).toBe('Succeeded');
    await waitFor('nothing of the application left', async () => objectsOf(d, a).length === 0, 60_000);
    expect(objectsOf(d, a)).toEqual([]);
  });
});
