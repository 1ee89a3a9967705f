// In-memory stand-ins for the workflow tests only: a fake target (the node verbs, with the
// same rules as the Docker Engine target: a deployment's instances name what they
// replaced; a restore removes ours and starts those again) plugged into the real node
// activities and the real dependency wait, and fakes of the control adapters (build,
// registry, history unless a test asks for the real one, events, records). Typed against
// the real activity types.
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Activities } from '../../activities';
import { createDependencyActivities } from '../../activities/control/dependencies';
import { createHistoryActivities } from '../../activities/control/history';
import { createInventoryActivities } from '../../activities/control/inventory';
import { createLockActivities } from '../../activities/control/lock';
import type { SecretProvider } from '../../activities/control/secrets';
import { createRunActivities } from '../../activities/control/runs';
import { createNodeActivities } from '../../activities/targets/node-activities';
import { eventRelay } from '../../activities/targets/live-events';
import type { Target } from '../../activities/targets/target';
import { BuildFailedError, EngineUnreachableError, HealthCheckFailedError, InvalidContainerError } from '../../src/core/errors';
import { configCheckResult, testResult } from '../../src/core/deployment-tests';
import type { ApplicationState } from '../../src/core/operation-plan';
import type { StatusEvent } from '../../src/core/schemas/event';
import { fleetOfFile, type Fleet } from '../../src/core/fleet';
import type { DeploymentRecord } from '../../src/core/schemas/record';

export interface FakeInstance {
  name: string;
  version: string;
  deploymentId: string;
  running: boolean;
  previous: string[];
  /** What the apply delivered into it, by path: its files, and its secrets' sha256 (the fake keeps no secret's value). */
  files?: Record<string, string>;
  /** The stop grace it was created with: how long a stop of a program that ignores SIGTERM takes. */
  stopGraceMs?: number;
}

/** What a deployment's program answers its health check on a node, where a test says so per deployment rather than per node. */
export type ProgramHealth = (node: string, deploymentId: string) => 'unhealthy' | 'hanging' | undefined;

export interface FakeWorld {
  nodes: Record<string, FakeInstance[]>;
  unhealthy: Set<string>;
  /** Nodes whose health check hangs (so that a cancel can reach it) until taken out of the set. */
  hanging: Set<string>;
  /** Nodes whose health check is being waited for now (a cancelled wait leaves once its activity noticed). */
  verifying: Set<string>;
  /** Nodes whose restore fails for good. */
  unrestorable: Set<string>;
  /** Nodes whose engine refuses to stop instances. */
  unstoppable: Set<string>;
  /** Nodes that do not answer at all (retried until the verb's deadline). */
  unreachable: Set<string>;
  /** Nodes whose configuration check fails. */
  badConfig: Set<string>;
  /** Deployment tests that fail, as `node/test`. */
  failingTests: Set<string>;
  /** What a deployment's program answers its health check on a node (the conformance suite's programs), beside the per-node sets above. */
  health?: ProgramHealth;
  failBuild: boolean;
  /** A publish of events delivers them, but returns only once this is false: a test holds a run's workflow task open with it, after the run published (a local activity that has not returned). */
  holdPublish?: boolean;
  /**
   * What the application history answers for a Rollback, Scale or Undeploy, newest first;
   * 'temporal': the real adapter's answer, from what the operations run in the test's
   * Temporal left behind.
   */
  history: ApplicationState[] | 'temporal';
  /** Where the secrets a deployment names are resolved, when a test delivers any. */
  secrets?: SecretProvider;
  calls: string[];
  events: StatusEvent[];
  /** Deployment records as written, repeats included. */
  records: DeploymentRecord[];
}

export function newWorld(nodeIds: string[]): FakeWorld {
  return {
    nodes: Object.fromEntries(nodeIds.map((n) => [n, []])),
    unhealthy: new Set(),
    hanging: new Set(),
    verifying: new Set(),
    unrestorable: new Set(),
    unstoppable: new Set(),
    unreachable: new Set(),
    badConfig: new Set(),
    failingTests: new Set(),
    failBuild: false,
    history: [],
    calls: [],
    events: [],
    records: [],
  };
}

/** The versions running on a node. */
export function running(world: FakeWorld, node: string): string[] {
  return world.nodes[node]!.filter((c) => c.running).map((c) => c.version);
}

/** An inventory of `ids`, every node served by `taskQueue` (or by the queue `queueOf` names). */
export function fakeInventory(ids: () => string[], taskQueue: string, queueOf: (id: string) => string | undefined = () => undefined): () => Fleet {
  return () => fleetOfFile({
    registry: { push: '127.0.0.1:5000', pull: 'reg:5000' },
    buildHost: { docker: { socketPath: '/nonexistent' } },
    swarms: [], clusters: [], tls: {}, sites: {},
    nodes: ids().map((id) => ({ id, target: { kind: 'docker-engine', docker: { host: '192.0.2.1', port: 2375, insecure: true } }, address: `10.0.0.${id.slice(-1)}`, labels: {}, taskQueue: queueOf(id) ?? taskQueue })),
  });
}

/** A target that keeps the node's instances in `world`, read anew on every call. */
export function fakeTarget(world: () => FakeWorld) {
  return (node: { id: string }): Target => {
    const on = () => world().nodes[node.id]!;
    const log = (call: string) => world().calls.push(`${call} ${node.id}`);
    const reachable = () => {
      if (world().unreachable.has(node.id)) throw new EngineUnreachableError(node.id);
    };
    const mine = (application: string) => on().filter((c) => c.name.startsWith(`${application}--`));
    return {
      async checkConfig(intent, step) {
        log('checkConfig');
        reachable();
        const run = world().badConfig.has(node.id) ? { exitCode: 1, output: 'config invalid' } : { exitCode: 0, output: 'config ok' };
        const result = configCheckResult(intent.configCheck!, run, 1);
        step('Configuring', `configuration check ${result.passed ? 'passed' : 'failed'}: ${result.detail}`);
        return { result };
      },
      async test(intent, step) {
        log('test');
        const results = (intent.tests ?? []).map((t) => testResult(t, world().failingTests.has(`${node.id}/${t.name}`) ? 'got status 500' : undefined, 1));
        for (const r of results) step('Verifying', `test "${r.name}" ${r.passed ? 'passed' : 'failed'}: ${r.detail}`);
        return { results };
      },
      async apply(intent, step) {
        log('apply');
        reachable();
        const previous = mine(intent.application).filter((c) => c.running && c.deploymentId !== intent.deploymentId).map((c) => c.name);
        const names = Array.from({ length: intent.replicas }, (_, r) => `${intent.application}--${intent.deploymentId}--r${r}`);
        step('Configuring', `${names.length} container(s)`);
        const files = Object.fromEntries(intent.files.map((f) => [f.path, f.content]));
        for (const s of intent.secrets) {
          // Resolved as a real target resolves it, in the activity: a missing secret fails the apply.
          const value = await world().secrets!.resolve(s.ref);
          files[s.path] = createHash('sha256').update(value).digest('hex');
        }
        for (const name of names) {
          if (!on().some((c) => c.name === name)) on().push({ name, version: intent.version, deploymentId: intent.deploymentId, running: false, previous, files, stopGraceMs: intent.stop.gracePeriodMs });
        }
        if (world().unstoppable.has(node.id) && previous.length > 0) throw new InvalidContainerError(`engine of ${node.id} refuses to stop the containers`);
        for (const c of on()) if (previous.includes(c.name)) c.running = false;
        for (const c of on()) if (names.includes(c.name)) c.running = true;
        step('Deploying', `container started: ${names.join(', ')}`);
        return { instances: names, replaced: previous };
      },
      async verify(intent, step) {
        log('verify');
        step('Verifying', 'waiting for http health check');
        const program = () => world().health?.(node.id, intent.deploymentId);
        const ours = () => on().filter((c) => c.deploymentId === intent.deploymentId);
        world().verifying.add(node.id);
        try {
          while (world().hanging.has(node.id) || program() === 'hanging') {
            // As a real target: an instance that stops while its health is awaited has failed (its node was lost, say).
            const stopped = ours().find((c) => !c.running);
            if (stopped !== undefined) throw new HealthCheckFailedError(node.id, stopped.name, 'stopped during verification');
            Context.current().heartbeat();
            await Context.current().sleep(100);
          }
        } finally {
          world().verifying.delete(node.id);
        }
        if (world().unhealthy.has(node.id) || program() === 'unhealthy') throw new HealthCheckFailedError(node.id, 'c', 'GET / answered 500');
        step('Verifying', 'healthy');
        return { probes: 1, elapsedMs: 1 };
      },
      async restore({ application, deploymentId, restart }) {
        log('restore');
        reachable();
        if (world().unrestorable.has(node.id)) throw new InvalidContainerError(`engine of ${node.id} refuses to remove the container`);
        const ours = mine(application).filter((c) => c.deploymentId === deploymentId);
        const wanted = [...new Set([...ours.flatMap((c) => c.previous), ...restart])];
        world().nodes[node.id] = on().filter((c) => c.deploymentId !== deploymentId);
        const restarted = on().filter((c) => wanted.includes(c.name));
        for (const c of restarted) c.running = true;
        return { removed: ours.map((c) => c.name), restarted: restarted.map((c) => c.name), missing: wanted.filter((n) => !restarted.some((c) => c.name === n)) };
      },
      async retire({ application, deploymentId }) {
        log('retire');
        const ours = mine(application).filter((c) => c.deploymentId === deploymentId);
        const keep = new Set([...ours.map((c) => c.name), ...ours.flatMap((c) => c.previous)]);
        const gone = mine(application).filter((c) => !keep.has(c.name)).map((c) => c.name);
        world().nodes[node.id] = on().filter((c) => !gone.includes(c.name));
        return gone;
      },
      async stop({ names }) {
        log('stop');
        reachable();
        if (world().unstoppable.has(node.id)) throw new InvalidContainerError(`engine of ${node.id} refuses to stop the containers`);
        for (const c of on()) if (names.includes(c.name)) c.running = false;
        return [...names];
      },
      async remove({ application }) {
        log('remove');
        const gone = mine(application).map((c) => c.name);
        world().nodes[node.id] = on().filter((c) => !gone.includes(c.name));
        return gone;
      },
      async locate(application) {
        reachable();
        return (application !== undefined ? mine(application) : on()).map((c) => ({
          name: c.name,
          application: c.name.split('--')[0]!,
          version: c.version,
          deploymentId: c.deploymentId,
          running: c.running,
          state: c.running ? 'running' : 'exited',
        }));
      },
      async describe() {
        reachable();
        return { ready: true, platform: { os: 'linux', architecture: 'amd64' } };
      },
    };
  };
}

type FakeActivities = Omit<Activities, 'listApplicationContainers' | 'pullImage' | 'createContainer' | 'stopContainers' | 'startContainer' | 'restoreNode' | 'startContainers' | 'whereabouts' | 'removeApplication' | 'retireOlder' | 'waitHealthy'>;

/** `world` is read on every call, so one worker can serve tests that each start from a new world. */
export function fakeActivities(
  world: () => FakeWorld,
  taskQueue: string,
  client: Client,
  inventory = fakeInventory(() => Object.keys(world().nodes), taskQueue),
  lockIdleMs?: number,
): FakeActivities {
  const log = (call: string) => world().calls.push(call);
  // A node step's live events land where the deployment's own do.
  const live = async (events: StatusEvent[]) => void world().events.push(...events);
  // Relayed events (nodes side by side) go to the deployment's run through the real relay.
  const nodes = createNodeActivities(inventory, { 'docker-engine': fakeTarget(world), swarm: fakeTarget(world), kubernetes: fakeTarget(world) }, taskQueue, { sink: live, relay: eventRelay(client) });
  const history = createHistoryActivities(client, taskQueue);
  return {
    // The application lock, the reading of runs and the dependency wait are the real ones:
    // they only need Temporal (and the wait, the fake nodes' instances).
    ...createLockActivities(client, { taskQueue, ...(lockIdleMs !== undefined ? { idleMs: lockIdleMs } : {}) }),
    // The events topic read back is the fake's own list of published events.
    ...createRunActivities(client, async (deploymentId, sinceMs) =>
      Math.max(0, ...world().events.filter((e) => e.deploymentId === deploymentId && Date.parse(e.at) >= sinceMs).map((e) => e.seq)),
    ),
    ...createDependencyActivities(
      {
        locate: async (nodeId, application) => (await nodes.locateNodes({ application, nodeIds: [nodeId] }))[nodeId]!,
        queueOf: (nodeId) => inventory().nodes.find((n) => n.id === nodeId)!.taskQueue!,
      },
      client,
    ),
    ...nodes,
    // The workflow's own check of its input is the real one, against the fake nodes' inventory.
    checkRequest: createInventoryActivities(inventory, taskQueue).checkRequest,
    async resolveNodes({ nodeIds }) {
      return nodeIds.map((id) => {
        const node = inventory().nodes.find((n) => n.id === id)!;
        return { id, address: node.address, taskQueue: node.taskQueue!, registry: 'reg:5000', local: node.taskQueue === taskQueue };
      });
    },
    async checkNodes({ nodeIds }) {
      return { queues: [...new Set(nodeIds.map((id) => inventory().nodes.find((n) => n.id === id)!.taskQueue!))].map((q) => ({ taskQueue: q, local: q === taskQueue })) };
    },
    async inventoryQueues() {
      return [...new Set(inventory().nodes.map((n) => n.taskQueue!))].map((q) => ({ taskQueue: q, local: q === taskQueue }));
    },
    async buildImage({ application, version }) {
      log('build');
      if (world().failBuild) throw new BuildFailedError('Dockerfile: unknown instruction FORM');
      return { tag: `reg:5000/${application}:${version}` };
    },
    async pushImage() {
      log('push');
      return { digest: 'sha256:feed' };
    },
    async applicationHistory(ask) {
      const h = world().history;
      return h === 'temporal' ? history.applicationHistory(ask) : h;
    },
    async publishEvents(events) {
      world().events.push(...events);
      while (world().holdPublish === true) await new Promise((r) => setTimeout(r, 20));
      return { lastSeq: Math.max(0, ...events.map((e) => e.seq)) };
    },
    async recordDeployment(record) {
      world().records.push(record);
      return { status: record.status, ...(record.reason !== undefined ? { reason: record.reason } : {}) };
    },
  };
}
