// The conformance suite: the behaviour every kind of node must show, written once and run
// on each real target of the stack (test/integration/{docker-engine,swarm,kubernetes}.test.ts)
// and on the fake target of the workflow tests (test/workflows/conformance.test.ts): deploy, a
// failed v2 rolled back to v1's exact spec, a cancel, a rollback to a named version, the stop
// grace, the pause decisions, dependsOn, a secret that reaches the application and nothing
// else, Scale and Undeploy. A target states how the suite drives its Deployer and how to ask
// its engine or cluster what runs (a `Platform`); everything else here is the same for all.
// Where the fake has no program, no engine and no HTTP, its Platform answers from what it
// was asked (test/support/fake-platform.ts says how).
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { Client } from '@temporalio/client';
import type Docker from 'dockerode';
import { LABELS } from '../../src/core/labels';
import type { Inventory, InventoryNode } from '../../src/core/schemas/inventory';
import { isTerminal, type StatusEvent } from '../../src/core/schemas/event';
import { decideUpdate } from '../../workflows/definitions';
import { captureOutput } from './captured-output';
import { dockerEvents, httpGet, IDLE, putSecret, startDeployer, waitFor, type TestDeployer } from './deployer';
import { historiesText } from './history';

/** What the suite drives: a Deployer it sends requests to (as Kafka messages), whose events it reads. */
export interface SuiteDeployer {
  config: { secretsPath: string; temporal: { address: string } };
  inventory: Inventory;
  /** For the decisions sent to a paused deployment, and the histories searched for a secret. */
  client: Client;
  events: StatusEvent[];
  send(value: unknown, key?: string): Promise<void>;
  /** Waits for the deployment's terminal event and returns all its events so far. */
  terminal(deploymentId: string, timeoutMs?: number): Promise<StatusEvent[]>;
  stop(): Promise<void>;
}

/** Asked by a program whether it may be healthy yet. */
export interface Gate {
  /** Where a real program asks it, over HTTP. */
  url: string;
  open(): boolean;
  close(): Promise<void>;
}

/** How the suite's web server misbehaves, beside serving its version. */
export type Misbehaviour =
  /** Never healthy on the node (until the gate opens: it asks once, at its start). */
  | { refuseOn: InventoryNode; until?: Gate }
  /** Listens only this many seconds after its start, on every node or on one. */
  | { startLate: number; on?: InventoryNode };

/** One workload of the application on one node, as the target's own tooling reports it. */
export interface Workload {
  node: string;
  version: string;
  deploymentId: string;
  replicas: number;
}

export interface Platform<D extends SuiteDeployer = TestDeployer> {
  /** As the suite names it: `describe` titles and the test Deployer's name. */
  name: string;
  /** A Deployer of its own for a suite. */
  start(name: string): Promise<D>;
  /** Application names start `it-<tag>-`. */
  tag: string;
  /** The first of nine ports of its own (the gate of the pause test is the ninth). */
  port: number;
  /** The inventory's nodes of this target: two at least; the suite fails some on the last. */
  nodes(d: D): InventoryNode[];
  /** The node as the target names it (hostname, nodeName, or the inventory id). */
  nameOf(node: InventoryNode): string;
  /**
   * Makes the program of `deploymentId` misbehave: the shell its command starts with on a
   * real target. A target that runs no program (the fake) is told instead, and returns ''.
   */
  misbehave(d: D, deploymentId: string, how: Misbehaviour): string;
  /** A gate for `misbehave`, on `port`: a real program asks it over HTTP from its node. */
  gate(d: D, port: number, open: () => boolean): Promise<Gate>;
  /** The version each node serves of the application on `port`, in the nodes' order ('unreachable' where none). */
  served(d: D, app: string, port: number): Promise<string[]>;
  /** The secret's file as the application on the node sees it (its program serves it on `port`): its sha256, and its permission bits where the target knows them. */
  secretFile(d: D, app: string, node: InventoryNode, port: number): Promise<{ sha256: string; mode?: string }>;
  /** Options every request of the suite carries on this target (restartPolicy 'no' where a restart would hide a failure). */
  container?: Record<string, unknown>;
  /** The application's workloads, one per node, sorted by node. */
  workloads(d: D, app: string): Promise<Workload[]>;
  /** The workloads' specs as the target holds them, sorted by node, without per-apply markers: equal when a node is back as it was. */
  specs(d: D, app: string): Promise<unknown[]>;
  /** The nodes of the application's running instances (ready, where the target has readiness), one entry per instance, sorted. */
  runningNodes(d: D, app: string): Promise<string[]>;
  /** The nodes where an instance of `deploymentId` runs (not yet healthy, perhaps), sorted. */
  runningOf(d: D, app: string, deploymentId: string): Promise<string[]>;
  /** The stop grace each workload carries, in seconds, sorted by node. */
  graceSeconds(d: D, app: string): Promise<number[]>;
  /**
   * Runs `replace`, which replaces the deployment `old`, and measures on each node, as the
   * target itself records it, how long each old instance took from its stop signal to its end.
   */
  stopTimes(d: D, app: string, old: string, replace: () => Promise<void>): Promise<Record<string, number>>;
  /** How much longer than the grace an end may come, as the target reports it (its kill, its bookkeeping). */
  graceSlackMs: number;
  /** Everything the target keeps of the application in which a secret's value must not appear, by name (its own store of the secret excepted). */
  secretPlaces(d: D, app: string): Promise<Record<string, string>>;
  /** The permission bits the secret's file has in the container, where the target sets them. */
  secretMode?: string;
  /** What else a rollback to `version` must have done on this target (e.g. which revision runs). */
  checkRolledBack?(d: D, app: string, version: string): Promise<void>;
  /** That the target's own store of the secret holds it (where the target has one). */
  checkSecretStore?(d: D, app: string, value: string): Promise<void>;
  /** What is left of the application on the target (after an Undeploy: nothing). */
  leftovers(d: D, app: string): Promise<string[]>;
  remove(d: D, app: string): Promise<void>;
}

/** A real target of the stack: it also takes the node faults (test/support/conformance-faults.ts). */
export interface StackPlatform extends Platform<TestDeployer> {
  faults: NodeFaults;
}

/** A node lost mid-rollout, then back (test/support/conformance-faults.ts): how, and what a deployment makes of it. */
export interface NodeLoss<D extends SuiteDeployer = TestDeployer> {
  /** Stops and starts a node: its engine, or its kubelet, through the stack's own script. */
  stop(d: D, node: InventoryNode): void;
  start(d: D, node: InventoryNode): void;
  /** How a deployment ends when its last node is lost mid-rollout. */
  lost: {
    phase: 'RolledBack' | 'Failed';
    /** The terminal message, naming the node and why. */
    message(node: InventoryNode): RegExp;
    /** The lost node's workload is back at the previous deployment when it ends: the target keeps its spec off the node. */
    restoredWhileDown: boolean;
  };
}

export interface NodeFaults extends NodeLoss {
  /** Three ports of its own: the two applications of the worker kill test, then the lost node's. */
  port: number;
  /** Deployments per application while the worker is killed. */
  perApp: number;
  /** After the kills: what else exists of the application beside one running instance of the last success per node (nothing orphaned). */
  checkLeft?(d: TestDeployer, app: string, succeeded: string[]): Promise<void>;
}

/** On each node, its own engine's record of the old container: SIGTERM (ignored), then its end by SIGKILL (exit code 137). */
export async function engineStopTimes(engines: { node: string; docker: Docker }[], old: string, replace: () => Promise<void>): Promise<Record<string, number>> {
  const since = Math.floor(Date.now() / 1000) - 1;
  await replace();
  const until = Math.ceil(Date.now() / 1000) + 1;
  const out: Record<string, number> = {};
  for (const { node, docker } of engines) {
    const events = await dockerEvents(docker, `${LABELS.deployment}=${old}`, since, until);
    const term = events.find((e) => e.Action === 'kill' && e.Actor.Attributes.signal === '15');
    const died = events.find((e) => e.Action === 'die' && e.Actor.Attributes.exitCode === '137');
    out[node] = term !== undefined && died !== undefined ? Math.round((died.timeNano - term.timeNano) / 1e6) : NaN;
  }
  return out;
}

/**
 * How the real targets' Platforms drive the suite, the same for all three: a Deployer of the
 * stack in this process, a program's misbehaviour as shell (`refuseOn`: the target's own way
 * of never becoming healthy on a node), and what the nodes serve, asked over HTTP on their
 * addresses.
 */
export function onTheStack(nodes: (d: TestDeployer) => InventoryNode[], refuseOn: (address: string) => string): Pick<Platform, 'start' | 'nodes' | 'misbehave' | 'gate' | 'served' | 'secretFile'> {
  const onItsNode = (node: InventoryNode) => `ip -o addr | grep -q " ${node.address}/"`;
  const body = async (url: string, ok = (status: number) => status > 0) => {
    const r = await httpGet(url);
    return 'body' in r && ok(r.status) ? r.body : 'unreachable';
  };
  return {
    start: (name) => startDeployer(name, { bridgeLogLevel: 'info' }),
    nodes,
    misbehave: (_d, _id, how) => {
      if ('startLate' in how) return how.on !== undefined ? `if ${onItsNode(how.on)}; then sleep ${how.startLate}; fi; ` : `sleep ${how.startLate}; `;
      if (how.until === undefined) return refuseOn(how.refuseOn.address);
      return `if ${onItsNode(how.refuseOn)} && ! wget -q -O /dev/null ${how.until.url}; then exit 3; fi; `;
    },
    // On the host's side of the nodes' network.
    gate: async (d, port, open) => {
      const host = d.inventory.registry.pull.split(':')[0]!;
      const server = createServer((_req, res) => res.writeHead(open() ? 200 : 404).end(open() ? 'ok' : 'not yet'));
      await new Promise<void>((r) => server.listen(port, host, r));
      return { url: `http://${host}:${port}/`, open, close: () => new Promise<void>((r) => server.close(() => r())) };
    },
    served: (d, _app, port) => Promise.all(nodes(d).map((n) => body(`http://${n.address}:${port}/version.txt`))),
    // What the suite's program wrote of the file: `sha256sum` and `stat`, each a line.
    secretFile: async (_d, _app, node, port) => {
      const [sha256, mode] = await Promise.all(['hash', 'mode'].map(async (f) => (await body(`http://${node.address}:${port}/${f}`, (s) => s === 200)).replace(/\n$/, '')));
      return { sha256: sha256!, mode: mode! };
    },
  };
}

/**
 * A suite on one target: its own Deployer (its own task queue and topics), the worker's and
 * the bridge's output captured (where a secret is searched for), applications named
 * `it-<tag>-<name>-<stamp>` and removed from the target at the end.
 */
export function onTarget<D extends SuiteDeployer>(p: Platform<D>, suite: { name: string; tag: string }) {
  const stamp = Date.now().toString(36);
  const used: string[] = [];
  const t = { stamp, used, logs: [] as string[], d: undefined as unknown as D };
  beforeAll(async () => {
    // Everything this process writes is the worker's and the bridge's logs: searched for secrets.
    t.logs = captureOutput();
    t.d = await p.start(suite.name);
    expect(p.nodes(t.d).length).toBeGreaterThanOrEqual(2);
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    if (t.d) {
      for (const app of used) await p.remove(t.d, app);
      await t.d.stop();
    }
  });
  return Object.assign(t, {
    newApp(name: string): string {
      const app = `it-${suite.tag}-${name}-${stamp}`;
      used.push(app);
      return app;
    },
  });
}

export function conformance<D extends SuiteDeployer>(p: Platform<D>): void {
  const t = onTarget(p, { name: p.name, tag: p.tag });
  const { stamp, used, newApp } = t;
  let d: D;
  beforeAll(() => {
    d = t.d;
  });

  const nodes = () => p.nodes(d);
  const names = () => nodes().map(p.nameOf);
  const last = () => nodes().at(-1)!;
  const terminalPhases = (id: string) => d.events.filter((e) => e.deploymentId === id && isTerminal(e.phase)).map((e) => e.phase);
  const ended = async (id: string) => (await d.terminal(id)).at(-1)!;
  const served = (app: string, port: number) => p.served(d, app, port);
  const serving = (app: string, port: number, versions: string[]) => waitFor(`${versions.join(', ')} served`, async () => (await served(app, port)).join() === versions.join(), 30_000);
  const everywhere = (v: string) => nodes().map(() => v);

  /** A web server on the node's own network, serving its version from a file the Deployer delivers. */
  function web(app: string, port: number, n: number, variant: { misbehave?: Misbehaviour; command?: string } = {}, extra: object = {}) {
    const how = variant.misbehave;
    const misbehaving = how !== undefined ? p.misbehave(d, `${app}-${n}`, how) : '';
    const late = how !== undefined && 'startLate' in how ? how.startLate : undefined;
    return {
      kind: 'Deploy',
      deploymentId: `${app}-${n}`,
      application: { name: app, version: `v${n}`, image: `${d.inventory.registry.pull}/busybox:1` },
      nodes: nodes().map((x) => x.id),
      container: {
        command: ['sh', '-c', variant.command ?? `${misbehaving}trap 'exit 0' TERM; httpd -f -p ${port} -h /www & wait`],
        files: [{ path: '/www/version.txt', content: `v${n}` }],
        stopGracePeriodMs: 2000,
        ...p.container,
      },
      // A slow start gets a deadline beyond it: a test cancels it while it waits.
      healthCheck: { http: { port, path: '/version.txt' }, intervalMs: 200, healthyAfter: 2, deadlineMs: late !== undefined ? (late + 30) * 1000 : 30_000 },
      strategy: { maxParallel: 3 },
      ...extra,
    };
  }

  /** An idle container on a bridge network: for what needs no port. */
  const idle = (app: string, id: string, on: InventoryNode[], extra: object = {}) => ({
    kind: 'Deploy',
    deploymentId: id,
    application: { name: app, version: '1', image: `${d.inventory.registry.pull}/busybox:1` },
    nodes: on.map((n) => n.id),
    container: { command: IDLE, network: 'bridge' },
    ...extra,
  });

  describe(`deployments on ${p.name}`, () => {
    const app = () => used[0]!;
    const port = p.port;
    let v1Specs: unknown[];

    it('a Kafka Deploy to every node runs one workload per node, on exactly that node, answering on every node; a second application on the first node runs nowhere else', async () => {
      const a = newApp('web');
      await d.send(web(a, port, 1));
      expect((await ended(`${a}-1`)).phase).toBe('Succeeded');
      expect(await served(a, port)).toEqual(everywhere('v1'));
      expect(await p.workloads(d, a)).toEqual(names().map((node) => ({ node, version: 'v1', deploymentId: `${a}-1`, replicas: 1 })));
      expect(await p.runningNodes(d, a)).toEqual(names());
      v1Specs = await p.specs(d, a);

      const b = newApp('one');
      await d.send({ ...web(b, port + 1, 1), nodes: [nodes()[0]!.id] });
      expect((await ended(`${b}-1`)).phase).toBe('Succeeded');
      expect(await p.runningNodes(d, b)).toEqual([names()[0]]);
      expect((await served(b, port + 1)).at(-1)).toBe('unreachable');
    });

    it('a v2 that never becomes healthy on one node ends RolledBack naming it: v1 serves on every node, each workload back at its exact previous spec', async () => {
      await d.send(web(app(), port, 2, { misbehave: { refuseOn: last() } }));
      const end = await ended(`${app()}-2`);
      expect(terminalPhases(`${app()}-2`)).toEqual(['RolledBack']);
      expect(end.message).toContain(`${last().id}: `);
      expect(end.message).toContain('did not become healthy');
      await serving(app(), port, everywhere('v1'));
      expect(await p.specs(d, app())).toEqual(v1Specs);
      expect(await p.runningNodes(d, app())).toEqual(names());
      await p.checkRolledBack?.(d, app(), 'v1');
    });

    it('a Cancel mid-rollout puts v1 back on every node; terminal Cancelled', async () => {
      await d.send(web(app(), port, 3, { misbehave: { startLate: 60 } }));
      await waitFor('v3 running on every node', async () => (await p.runningOf(d, app(), `${app()}-3`)).length === nodes().length, 60_000);
      await d.send({ kind: 'Cancel', deploymentId: `${app()}-3` }, app());
      await d.terminal(`${app()}-3`);
      expect(terminalPhases(`${app()}-3`)).toEqual(['Cancelled']);
      await serving(app(), port, everywhere('v1'));
      expect(await p.specs(d, app())).toEqual(v1Specs);
    });

    it('a Rollback to a named version puts it back on every node from its own request, building nothing', async () => {
      await d.send(web(app(), port, 4));
      expect((await ended(`${app()}-4`)).phase).toBe('Succeeded');
      expect(await served(app(), port)).toEqual(everywhere('v4'));
      await d.send({ kind: 'Rollback', deploymentId: `${app()}-rb1`, application: app(), toVersion: 'v1' }, app());
      const events = await d.terminal(`${app()}-rb1`);
      expect(events.at(-1)).toMatchObject({ phase: 'Succeeded', version: 'v1' });
      expect(events.filter((e) => e.phase === 'Building' || e.phase === 'Pushing')).toEqual([]);
      await serving(app(), port, everywhere('v1'));
      expect((await p.workloads(d, app())).map((w) => [w.node, w.version, w.deploymentId])).toEqual(names().map((n) => [n, 'v1', `${app()}-rb1`]));
    });

    it('a new version replaces a PID-1 program that ignores SIGTERM: the target stops each old instance about stopGracePeriodMs after its stop signal', async () => {
      const a = newApp('grace');
      const gp = port + 2;
      // Long enough to tell from an immediate kill, well below every target's default.
      const graceMs = 3000;
      // A plain `sleep` as PID 1 ignores SIGTERM: only the grace period ends it.
      const ignoring = (n: number) => {
        const base = web(a, gp, n, { command: `mkdir -p /www; printf v${n} > /www/version.txt; httpd -p ${gp} -h /www; exec sleep 3600` });
        return { ...base, container: { ...base.container, stopGracePeriodMs: graceMs } };
      };
      await d.send(ignoring(1));
      expect((await ended(`${a}-1`)).phase).toBe('Succeeded');
      const times = await p.stopTimes(d, a, `${a}-1`, async () => {
        await d.send(ignoring(2));
        expect((await ended(`${a}-2`)).phase).toBe('Succeeded');
      });
      const judged = Object.entries(times).sort(([x], [y]) => x.localeCompare(y)).map(([node, ms]) => [node, ms >= graceMs - 1000 && ms <= graceMs + p.graceSlackMs ? 'about the grace' : `${ms} ms after its stop signal`]);
      expect(judged).toEqual(names().map((n) => [n, 'about the grace']));
      expect(await served(a, gp)).toEqual(everywhere('v2'));
      expect(await p.graceSeconds(d, a)).toEqual(nodes().map(() => graceMs / 1000));
    });
  });

  describe(`a secret on ${p.name}`, () => {
    it('reaches the application as a file, and its value is in no history, log, event, or anything the target keeps but its own store of it', async () => {
      const a = newApp('secret');
      const value = `s3cret-${randomBytes(16).toString('hex')}`;
      const ref = `it/${stamp}/${p.tag}-token`;
      putSecret(d.config.secretsPath, a, ref, value);
      const node = nodes()[0]!;
      const port = p.port + 3;
      await d.send({
        kind: 'Deploy',
        deploymentId: `${a}-1`,
        application: { name: a, version: '1', image: `${d.inventory.registry.pull}/busybox:1` },
        nodes: [node.id],
        container: {
          command: ['sh', '-c', `mkdir -p /www && sha256sum "$APP_TOKEN_FILE" | cut -d' ' -f1 > /www/hash && stat -L -c %a "$APP_TOKEN_FILE" > /www/mode && trap 'exit 0' TERM; httpd -f -p ${port} -h /www & wait`],
          secrets: [{ name: 'APP_TOKEN', ref }],
        },
        healthCheck: { http: { port, path: '/hash' }, intervalMs: 200 },
      });
      expect((await ended(`${a}-1`)).phase).toBe('Succeeded');
      const file = await p.secretFile(d, a, node, port);
      expect(file.sha256).toBe(createHash('sha256').update(value).digest('hex'));
      if (p.secretMode !== undefined) expect(file.mode).toBe(p.secretMode);

      await p.checkSecretStore?.(d, a, value);
      const places = await p.secretPlaces(d, a);
      // Each place really holds the application (a search of an empty text proves nothing).
      for (const [where, text] of Object.entries(places)) expect({ where, holdsTheApplication: text.includes(a) }).toEqual({ where, holdsTheApplication: true });
      const history = await historiesText(d, [`${a}-1`, `${a}-1/${node.id}`]);
      expect(history).toContain(ref);
      expect(t.logs.join('')).toContain(`${a}-1`);
      const encoded = Buffer.from(value).toString('base64');
      const texts: Record<string, string> = { history, logs: t.logs.join(''), events: JSON.stringify(d.events), ...places };
      const hits = Object.fromEntries(Object.entries(texts).map(([where, text]) => [where, text.includes(value) || text.includes(encoded)]));
      expect(hits).toEqual(Object.fromEntries(Object.keys(texts).map((where) => [where, false])));
    });
  });

  describe(`Scale and Undeploy on ${p.name}`, () => {
    it('scales to 2 replicas per node and onto the other nodes, then Undeploy leaves nothing of the application', async () => {
      const a = newApp('scale');
      await d.send(idle(a, `${a}-1`, [nodes()[0]!]));
      expect((await ended(`${a}-1`)).phase).toBe('Succeeded');
      expect(await p.runningNodes(d, a)).toEqual([names()[0]]);

      await d.send({ kind: 'Scale', deploymentId: `${a}-s1`, application: a, nodes: nodes().map((n) => n.id), replicasPerNode: 2 }, a);
      expect((await ended(`${a}-s1`)).phase).toBe('Succeeded');
      const twice = names().flatMap((n) => [n, n]);
      await waitFor('2 instances on every node', async () => (await p.runningNodes(d, a)).join() === twice.join(), 30_000);
      expect((await p.workloads(d, a)).map((w) => [w.node, w.replicas, w.version])).toEqual(names().map((n) => [n, 2, '1']));

      await d.send({ kind: 'Undeploy', deploymentId: `${a}-u1`, application: a }, a);
      expect((await ended(`${a}-u1`)).phase).toBe('Succeeded');
      await waitFor('nothing of the application left', async () => (await p.leftovers(d, a)).length === 0, 60_000);
      expect(await p.leftovers(d, a)).toEqual([]);
    });
  });

  describe(`pause, decisions and dependsOn on ${p.name}`, () => {
    const eventOf = (id: string, pred: (e: StatusEvent) => boolean) => () => d.events.find((e) => e.deploymentId === id && pred(e));
    const paused = (id: string) => waitFor(`${id} paused`, eventOf(id, (e) => e.phase === 'Paused' && e.node === undefined));
    // The last node refuses to serve until this gate says it may.
    let healed = false;
    let gate: Gate;
    beforeAll(async () => {
      gate = await p.gate(d, p.port + 8, () => healed);
    });
    afterAll(() => gate?.close());

    const pausing = (app: string, port: number, n: number) => web(app, port, n, { misbehave: { refuseOn: last(), until: gate } }, { strategy: { maxParallel: 1, onFailure: 'pause' } });

    it('each decision sent to a paused deployment does what it says: skip, rollback, retry', async () => {
      const app = newApp('pause');
      const port = p.port + 4;
      await d.send(web(app, port, 1));
      expect((await ended(`${app}-1`)).phase).toBe('Succeeded');
      const allBut = (v: string) => [...nodes().slice(0, -1).map(() => v), 'v1'];

      // skip: the last node goes back to v1, the others keep v2, the deployment succeeds.
      await d.send(pausing(app, port, 2));
      await paused(`${app}-2`);
      await d.client.workflow.getHandle(`${app}-2`).executeUpdate(decideUpdate, { args: ['skip'] });
      await d.terminal(`${app}-2`);
      expect(terminalPhases(`${app}-2`)).toEqual(['Succeeded']);
      await serving(app, port, allBut('v2'));
      expect((await p.workloads(d, app)).map((w) => [w.node, w.version])).toEqual(names().map((n, i) => [n, i === names().length - 1 ? 'v1' : 'v2']));

      // rollback: every node back at what it ran before this deployment, the finished ones included.
      await d.send(pausing(app, port, 3));
      await paused(`${app}-3`);
      await d.client.workflow.getHandle(`${app}-3`).executeUpdate(decideUpdate, { args: ['rollback'] });
      await d.terminal(`${app}-3`);
      expect(terminalPhases(`${app}-3`)).toEqual(['RolledBack']);
      await serving(app, port, allBut('v2'));

      // retry: the cause is fixed, the failed node is tried again, and the deployment succeeds.
      await d.send(pausing(app, port, 4));
      await paused(`${app}-4`);
      healed = true;
      const answer = await d.client.workflow.getHandle(`${app}-4`).executeUpdate(decideUpdate, { args: ['retry'] });
      expect(answer).toEqual({ accepted: 'retry', failedNodes: [last().id] });
      await d.terminal(`${app}-4`);
      expect(terminalPhases(`${app}-4`)).toEqual(['Succeeded']);
      expect(await served(app, port)).toEqual(everywhere('v4'));
      expect(await p.runningNodes(d, app)).toEqual(names());
    });

    it('dependsOn waits for a dependency deployed after it, and times out naming the node where one is missing', async () => {
      const base = newApp('base');
      const later = newApp('later');
      const first = nodes()[0]!;
      await d.send(idle(later, `${later}-1`, [first], { dependsOn: [base] }));
      await waitFor(`${later}-1 waiting for ${base}`, () => d.events.some((e) => e.deploymentId === `${later}-1` && e.message.includes('to run healthy')), 30_000);
      expect(await p.workloads(d, later)).toEqual([]);

      await d.send(idle(base, `${base}-1`, [first]));
      const baseEnd = await ended(`${base}-1`);
      const laterEvents = await d.terminal(`${later}-1`, 120_000);
      expect(baseEnd.phase).toBe('Succeeded');
      expect(laterEvents.filter((e) => isTerminal(e.phase)).map((e) => e.phase)).toEqual(['Succeeded']);
      // Nothing of the dependent started before its dependency had succeeded.
      expect(Date.parse(laterEvents.find((e) => e.phase === 'Deploying')!.at)).toBeGreaterThanOrEqual(Date.parse(baseEnd.at));
      expect(await p.runningNodes(d, later)).toEqual([p.nameOf(first)]);

      // The dependency runs on the first node only: on the last it is missing.
      await d.send(idle(later, `${later}-2`, [last()], { dependsOn: [base], strategy: { dependencyTimeoutMs: 3000 } }));
      const end = await ended(`${later}-2`);
      expect(end.phase).toBe('RolledBack');
      expect(end.message).toContain('did not run healthy within 3000 ms');
      expect(end.message).toContain(`${base} has no running container on ${last().id}`);
      expect(await p.runningNodes(d, later)).toEqual([p.nameOf(first)]);
    });
  });
}
