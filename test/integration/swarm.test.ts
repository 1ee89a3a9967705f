// Docker Swarm as a target, on the real local swarm of the stack (swarm-1..3, manager on
// swarm-1): Kafka requests deploy one service per chosen node, placed there by hostname;
// a v2 that fails on one node and a cancelled v3 put every service back at its previous
// spec; a secret reaches the task and nothing else; Scale and Undeploy act on services.
// What runs where is asked of the manager itself (Engine API and `docker service ps`).
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LABELS } from '../../src/core/labels';
import { isTerminal } from '../../src/core/schemas/event';
import { dockerEvents, httpGet, startDeployer, waitFor, IDLE, type TestDeployer } from '../support/deployer';
import { captureOutput } from '../support/captured-output';
import { historiesText } from '../support/history';
import { decideUpdate } from '../../workflows/definitions';
import type { StatusEvent } from '../../src/core/schemas/event';
import { dockerOnManager, engineOfSwarmNode, hostnameOf, manager, removeSwarmApplication, runningTaskNodes, servicesOf, swarmNodes, tasksRunningOf } from '../support/swarm';

jest.setTimeout(600_000);

const stamp = Date.now().toString(36);
const used: string[] = [];
let logs: string[] = [];
let d: TestDeployer;

beforeAll(async () => {
  // Everything this process writes is the worker's and the bridge's logs: searched for the secret below.
  logs = captureOutput();
  d = await startDeployer('swarm', { bridgeLogLevel: 'info' });
  expect(swarmNodes(d).map(hostnameOf)).toEqual(['swarm-1', 'swarm-2', 'swarm-3']);
});

afterAll(async () => {
  jest.restoreAllMocks();
  if (d) {
    for (const app of used) await removeSwarmApplication(d, app);
    await d.stop();
  }
});

function newApp(name: string): string {
  const app = `it-sw-${name}-${stamp}`;
  used.push(app);
  return app;
}

const nodes = () => swarmNodes(d);
const terminalPhases = (id: string) => d.events.filter((e) => e.deploymentId === id && isTerminal(e.phase)).map((e) => e.phase);

interface Variant {
  /** Exits at once on this node (by its address), so its task fails verification. */
  failOn?: string;
  /** Seconds before the server listens. */
  slowStart?: number;
}

/** A web server on the node's own network (host), serving its version from a file delivered as a Swarm config. */
function web(app: string, port: number, n: number, variant: Variant = {}, extra: object = {}) {
  const refuse = variant.failOn !== undefined ? `if ip -o addr | grep -q " ${variant.failOn}/"; then exit 3; fi; ` : '';
  const wait = variant.slowStart !== undefined ? `sleep ${variant.slowStart}; ` : '';
  return {
    kind: 'Deploy',
    deploymentId: `${app}-${n}`,
    application: { name: app, version: `v${n}`, image: `${d.inventory.registry.pull}/busybox:1` },
    nodes: nodes().map((x) => x.id),
    container: {
      command: ['sh', '-c', `${refuse}${wait}trap 'exit 0' TERM; httpd -f -p ${port} -h /www & wait`],
      files: [{ path: '/www/version.txt', content: `v${n}` }],
      restartPolicy: 'no',
      stopGracePeriodMs: 2000,
    },
    healthCheck: { http: { port, path: '/version.txt' }, intervalMs: 200, healthyAfter: 2, deadlineMs: 30_000 },
    strategy: { maxParallel: 3 },
    ...extra,
  };
}

const served = (port: number) => Promise.all(nodes().map(async (n) => {
  const r = await httpGet(`http://${n.address}:${port}/version.txt`);
  return 'body' in r ? r.body : 'unreachable';
}));

/** Each service's task template, as the manager holds it. */
const templates = async (app: string) => (await servicesOf(d, app)).map((s) => [s.name, s.deploymentId, (s.spec as { TaskTemplate: unknown }).TaskTemplate]);

describe('deployments on a real swarm', () => {
  const app = () => used[0]!;
  const port = 18501;
  let v1Templates: unknown[];

  it('a Kafka Deploy to swarm-1..3 runs one service per node, its tasks on exactly that node, answering on every node', async () => {
    const a = newApp('web');
    await d.send(web(a, port, 1));
    const events = await d.terminal(`${a}-1`);
    expect(events.at(-1)!.phase).toBe('Succeeded');
    expect(await served(port)).toEqual(['v1', 'v1', 'v1']);
    expect((await servicesOf(d, a)).map((s) => [s.name, s.node, s.version, s.replicas])).toEqual(['swarm-1', 'swarm-2', 'swarm-3'].map((h) => [`${a}--${h}`, h, 'v1', 1]));
    // As an operator sees it: `docker service ls` names them, `docker service ps` places each task.
    expect(dockerOnManager(d, 'service', 'ls', '--filter', `label=${LABELS.application}=${a}`, '--format', '{{.Name}} {{.Replicas}}').sort()).toEqual(['swarm-1', 'swarm-2', 'swarm-3'].map((h) => `${a}--${h} 1/1`));
    expect(await runningTaskNodes(d, a)).toEqual(['swarm-1', 'swarm-2', 'swarm-3']);
    v1Templates = await templates(a);

    // Only the chosen nodes: a second application on swarm-1 and swarm-3 has no task on swarm-2.
    const b = newApp('pair');
    const [first, , third] = nodes();
    await d.send({ ...web(b, 18502, 1), nodes: [first!.id, third!.id] });
    expect((await d.terminal(`${b}-1`)).at(-1)!.phase).toBe('Succeeded');
    expect(await runningTaskNodes(d, b)).toEqual(['swarm-1', 'swarm-3']);
    expect((await httpGet(`http://${nodes()[1]!.address}:18502/version.txt`))).toHaveProperty('error');
  });

  it('a v2 whose health check fails on one node ends RolledBack: v1 serves on all three, every service back at its previous spec', async () => {
    const third = nodes()[2]!;
    await d.send(web(app(), port, 2, { failOn: third.address }));
    const events = await d.terminal(`${app()}-2`);
    expect(terminalPhases(`${app()}-2`)).toEqual(['RolledBack']);
    expect(events.at(-1)!.message).toContain(`${third.id}: `);
    expect(events.at(-1)!.message).toContain('did not become healthy');
    await waitFor('v1 serving on all three', async () => (await served(port)).every((v) => v === 'v1'), 30_000);
    expect(await templates(app())).toEqual(v1Templates);
    expect(await runningTaskNodes(d, app())).toEqual(['swarm-1', 'swarm-2', 'swarm-3']);
  });

  it('a Cancel mid-rollout puts v1 back on every node; terminal Cancelled', async () => {
    await d.send(web(app(), port, 3, { slowStart: 60 }));
    await waitFor('v3 tasks running on all three', async () => (await tasksRunningOf(d, app(), `${app()}-3`)).length === 3, 60_000);
    await d.send({ kind: 'Cancel', deploymentId: `${app()}-3` }, app());
    await d.terminal(`${app()}-3`);
    expect(terminalPhases(`${app()}-3`)).toEqual(['Cancelled']);
    await waitFor('v1 serving on all three', async () => (await served(port)).every((v) => v === 'v1'), 30_000);
    expect(await templates(app())).toEqual(v1Templates);
  });

  it('a Rollback to a named version puts it back on every node from its own request, building nothing', async () => {
    await d.send(web(app(), port, 4));
    expect((await d.terminal(`${app()}-4`)).at(-1)!.phase).toBe('Succeeded');
    expect(await served(port)).toEqual(['v4', 'v4', 'v4']);
    await d.send({ kind: 'Rollback', deploymentId: `${app()}-rb1`, application: app(), toVersion: 'v1' }, app());
    const events = await d.terminal(`${app()}-rb1`);
    expect(events.at(-1)).toMatchObject({ phase: 'Succeeded', version: 'v1' });
    expect(events.filter((e) => e.phase === 'Building' || e.phase === 'Pushing')).toEqual([]);
    await waitFor('v1 serving on all three', async () => (await served(port)).every((v) => v === 'v1'), 30_000);
    expect((await servicesOf(d, app())).map((s) => [s.node, s.version, s.deploymentId])).toEqual(['swarm-1', 'swarm-2', 'swarm-3'].map((h) => [h, 'v1', `${app()}-rb1`]));
  });

  it('a new version replaces the old on every node, stopping a PID-1 program that ignores SIGTERM after stopGracePeriodMs, as each node\'s engine records it', async () => {
    const a = newApp('grace');
    // Long enough to tell from an immediate kill, well below the swarm's default of 10 s.
    const graceMs = 3000;
    const ignoring = (n: number) => ({
      ...web(a, 18503, n),
      // A plain `sleep` as PID 1 ignores SIGTERM: only the grace period ends it.
      container: { command: ['sh', '-c', `mkdir -p /www; printf v${n} > /www/version.txt; httpd -p 18503 -h /www; exec sleep 3600`], stopGracePeriodMs: graceMs, restartPolicy: 'no' },
    });
    await d.send(ignoring(1));
    expect((await d.terminal(`${a}-1`)).at(-1)!.phase).toBe('Succeeded');
    const since = Math.floor(Date.now() / 1000) - 1;
    await d.send(ignoring(2));
    expect((await d.terminal(`${a}-2`)).at(-1)!.phase).toBe('Succeeded');
    expect(await served(18503)).toEqual(['v2', 'v2', 'v2']);
    const grace = (await servicesOf(d, a)).map((s) => (s.spec as { TaskTemplate: { ContainerSpec: { StopGracePeriod: number } } }).TaskTemplate.ContainerSpec.StopGracePeriod);
    expect(grace).toEqual([graceMs * 1e6, graceMs * 1e6, graceMs * 1e6]);

    // On each node, its own engine's record of the v1 task's container: SIGTERM (ignored),
    // then, the grace later, its end by SIGKILL (exit code 137).
    const until = Math.ceil(Date.now() / 1000) + 1;
    for (const node of nodes()) {
      const events = await dockerEvents(engineOfSwarmNode(d, node), `${LABELS.deployment}=${a}-1`, since, until);
      const term = events.find((e) => e.Action === 'kill' && e.Actor.Attributes.signal === '15');
      const died = events.find((e) => e.Action === 'die');
      expect([node.id, term !== undefined, died?.Actor.Attributes.exitCode]).toEqual([node.id, true, '137']);
      const ms = Math.round((died!.timeNano - term!.timeNano) / 1e6);
      expect([node.id, ms >= graceMs - 1000 && ms <= graceMs + 2000 ? 'about the grace' : `${ms} ms after SIGTERM`]).toEqual([node.id, 'about the grace']);
    }
  });
});

describe('a secret on a real swarm', () => {
  it('reaches the task as a Swarm secret, and its value is in no history, log, event, label or service inspect', async () => {
    const a = newApp('secret');
    const value = `s3cret-${randomBytes(16).toString('hex')}`;
    const ref = `it/${stamp}/swarm-token`;
    const file = join(d.config.secretsPath, ref);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, value, { mode: 0o600 });
    const node = nodes()[0]!;
    const port = 18504;
    await d.send({
      kind: 'Deploy',
      deploymentId: `${a}-1`,
      application: { name: a, version: '1', image: `${d.inventory.registry.pull}/busybox:1` },
      nodes: [node.id],
      container: {
        command: ['sh', '-c', `mkdir -p /www && sha256sum "$APP_TOKEN_FILE" | cut -d' ' -f1 > /www/hash && stat -c %a "$APP_TOKEN_FILE" > /www/mode && trap 'exit 0' TERM; httpd -f -p ${port} -h /www & wait`],
        secrets: [{ name: 'APP_TOKEN', ref }],
      },
      healthCheck: { http: { port, path: '/hash' }, intervalMs: 200 },
    });
    expect((await d.terminal(`${a}-1`)).at(-1)!.phase).toBe('Succeeded');
    expect(await httpGet(`http://${node.address}:${port}/hash`)).toEqual({ status: 200, body: `${createHash('sha256').update(value).digest('hex')}\n` });
    expect(await httpGet(`http://${node.address}:${port}/mode`)).toEqual({ status: 200, body: '400\n' });

    const m = manager(d);
    const [service] = await servicesOf(d, a);
    const inspect = JSON.stringify(await m.getService(service!.id).inspect());
    const secrets = JSON.stringify(await m.listSecrets({ filters: JSON.stringify({ label: [`${LABELS.application}=${a}`] }) }));
    expect(secrets).toContain(a); // the secret exists, by name and labels; its value is not in them
    const history = [await historiesText(d, [`${a}-1`, `${a}-1/${node.id}`])];
    expect(history.join('\n')).toContain(ref);
    expect(logs.join('')).toContain(`${a}-1`);
    const hits = {
      history: history.join('\n').includes(value),
      logs: logs.join('').includes(value),
      events: JSON.stringify(d.events).includes(value),
      serviceInspect: inspect.includes(value),
      secretList: secrets.includes(value),
    };
    expect(hits).toEqual({ history: false, logs: false, events: false, serviceInspect: false, secretList: false });
  });
});

describe('Scale and Undeploy on a real swarm', () => {
  it('scales to 2 replicas per node and onto another node, then takes the application off every node', async () => {
    const a = newApp('scale');
    const [first, second, third] = nodes();
    await d.send({
      kind: 'Deploy',
      deploymentId: `${a}-1`,
      application: { name: a, version: '1', image: `${d.inventory.registry.pull}/busybox:1` },
      nodes: [first!.id, second!.id],
      container: { command: IDLE, network: 'bridge' },
    });
    expect((await d.terminal(`${a}-1`)).at(-1)!.phase).toBe('Succeeded');
    expect(await runningTaskNodes(d, a)).toEqual(['swarm-1', 'swarm-2']);

    await d.send({ kind: 'Scale', deploymentId: `${a}-s1`, application: a, nodes: [first!.id, second!.id, third!.id], replicasPerNode: 2 }, a);
    expect((await d.terminal(`${a}-s1`)).at(-1)!.phase).toBe('Succeeded');
    expect(await runningTaskNodes(d, a)).toEqual(['swarm-1', 'swarm-1', 'swarm-2', 'swarm-2', 'swarm-3', 'swarm-3']);
    expect((await servicesOf(d, a)).map((s) => [s.node, s.replicas, s.version])).toEqual([['swarm-1', 2, '1'], ['swarm-2', 2, '1'], ['swarm-3', 2, '1']]);

    await d.send({ kind: 'Undeploy', deploymentId: `${a}-u1`, application: a }, a);
    expect((await d.terminal(`${a}-u1`)).at(-1)!.phase).toBe('Succeeded');
    expect(await servicesOf(d, a)).toEqual([]);
    await waitFor('no task of the application left', async () => (await runningTaskNodes(d, a)).length === 0, 30_000);
  });
});

describe('pause, decisions and dependsOn on a real swarm', () => {
  const eventOf = (id: string, pred: (e: StatusEvent) => boolean) => () => d.events.find((e) => e.deploymentId === id && pred(e));
  const paused = (id: string) => waitFor(`${id} paused`, eventOf(id, (e) => e.phase === 'Paused' && e.node === undefined));

  /** Refuses to serve on the third node until /state/ok exists in its local volume (see heal). */
  function pausing(app: string, port: number, n: number) {
    const third = nodes()[2]!.address;
    const base = web(app, port, n, {}, { strategy: { maxParallel: 1, onFailure: 'pause' } });
    return {
      ...base,
      container: {
        ...base.container,
        command: ['sh', '-c', `if [ ! -f /state/ok ] && ip -o addr | grep -q " ${third}/"; then exit 3; fi; trap 'exit 0' TERM; httpd -f -p ${port} -h /www & wait`],
        volumes: [{ name: `${app}-state`, target: '/state' }],
      },
    };
  }

  /** Writes /state/ok into the application's volume on the third node's own engine. */
  async function heal(app: string): Promise<void> {
    const engine = engineOfSwarmNode(d, nodes()[2]!);
    const c = await engine.createContainer({
      Image: `${d.inventory.registry.pull}/busybox:1`,
      Cmd: ['touch', '/state/ok'],
      HostConfig: { NetworkMode: 'none', Mounts: [{ Type: 'volume', Source: `${app}-state`, Target: '/state' }] },
    });
    await c.start();
    await c.wait();
    await c.remove();
  }

  it('each decision sent to a paused deployment does what it says: skip, rollback, retry', async () => {
    const app = newApp('pause');
    const port = 18505;
    await d.send(web(app, port, 1));
    expect((await d.terminal(`${app}-1`)).at(-1)!.phase).toBe('Succeeded');

    // skip: the third node's service goes back to v1, the others keep v2, the deployment succeeds.
    await d.send(pausing(app, port, 2));
    await paused(`${app}-2`);
    await d.client.workflow.getHandle(`${app}-2`).executeUpdate(decideUpdate, { args: ['skip'] });
    await d.terminal(`${app}-2`);
    expect(terminalPhases(`${app}-2`)).toEqual(['Succeeded']);
    await waitFor('v2, v2, v1 served', async () => (await served(port)).join() === 'v2,v2,v1', 30_000);
    expect((await servicesOf(d, app)).map((s) => [s.node, s.version])).toEqual([['swarm-1', 'v2'], ['swarm-2', 'v2'], ['swarm-3', 'v1']]);

    // rollback: every service back at what it ran before this deployment.
    await d.send(pausing(app, port, 3));
    await paused(`${app}-3`);
    await d.client.workflow.getHandle(`${app}-3`).executeUpdate(decideUpdate, { args: ['rollback'] });
    await d.terminal(`${app}-3`);
    expect(terminalPhases(`${app}-3`)).toEqual(['RolledBack']);
    await waitFor('v2, v2, v1 served', async () => (await served(port)).join() === 'v2,v2,v1', 30_000);

    // retry: the cause is fixed on the node, the failed node is tried again, and the deployment succeeds.
    await d.send(pausing(app, port, 4));
    await paused(`${app}-4`);
    await heal(app);
    const answer = await d.client.workflow.getHandle(`${app}-4`).executeUpdate(decideUpdate, { args: ['retry'] });
    expect(answer).toEqual({ accepted: 'retry', failedNodes: [nodes()[2]!.id] });
    await d.terminal(`${app}-4`);
    expect(terminalPhases(`${app}-4`)).toEqual(['Succeeded']);
    expect(await served(port)).toEqual(['v4', 'v4', 'v4']);
    expect(await runningTaskNodes(d, app)).toEqual(['swarm-1', 'swarm-2', 'swarm-3']);
  });

  it('dependsOn waits for a dependency deployed after it on the swarm, and times out naming the node where one is missing', async () => {
    const base = newApp('base');
    const later = newApp('later');
    const [first, second] = nodes();
    const idle = (app: string, id: string, extra: object = {}) => ({
      kind: 'Deploy',
      deploymentId: id,
      application: { name: app, version: '1', image: `${d.inventory.registry.pull}/busybox:1` },
      nodes: [first!.id, second!.id],
      container: { command: IDLE, network: 'bridge' },
      ...extra,
    });
    await d.send(idle(later, `${later}-1`, { dependsOn: [base] }));
    const waiting = () => d.events.some((e) => e.deploymentId === `${later}-1` && e.message.includes('to run healthy'));
    await waitFor(`${later}-1 waiting for ${base}`, waiting, 30_000);
    expect(await servicesOf(d, later)).toEqual([]);

    await d.send(idle(base, `${base}-1`));
    const baseEnd = (await d.terminal(`${base}-1`)).at(-1)!;
    const laterEvents = await d.terminal(`${later}-1`, 120_000);
    expect(baseEnd.phase).toBe('Succeeded');
    expect(laterEvents.filter((e) => isTerminal(e.phase)).map((e) => e.phase)).toEqual(['Succeeded']);
    // Nothing of the dependent started before its dependency had succeeded.
    expect(Date.parse(laterEvents.find((e) => e.phase === 'Deploying')!.at)).toBeGreaterThanOrEqual(Date.parse(baseEnd.at));
    expect(await runningTaskNodes(d, later)).toEqual(['swarm-1', 'swarm-2']);

    // A dependency that runs on swarm-1 and swarm-2 only is missing on swarm-3.
    const third = nodes()[2]!;
    await d.send({ ...idle(later, `${later}-2`, { dependsOn: [base], strategy: { dependencyTimeoutMs: 3000 } }), nodes: [third.id] });
    const end = (await d.terminal(`${later}-2`)).at(-1)!;
    expect(end.phase).toBe('RolledBack');
    expect(end.message).toContain('did not run healthy within 3000 ms');
    expect(end.message).toContain(`${base} has no running container on ${third.id}`);
    expect(await runningTaskNodes(d, later)).toEqual(['swarm-1', 'swarm-2']);
  });
});
