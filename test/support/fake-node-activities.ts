// In-memory stand-ins for the node, build, inventory and event adapters, for workflow tests
// only: they keep per-node container state with the same rules as the real Docker adapter
// (labels name the containers a deployment replaced; restore removes ours and restarts those).
import type { Client } from '@temporalio/client';
import type { Activities } from '../../activities';
import { createLockActivities } from '../../activities/lock';
import type { NodeContainer } from '../../activities/docker';
import { Context } from '@temporalio/activity';
import { BuildFailedError, DependencyNotReadyError, HealthCheckFailedError, InvalidContainerError } from '../../src/errors';
import type { ApplicationState } from '../../src/operation-plan';
import type { PlannedNode } from '../../src/plan';
import type { StatusEvent } from '../../src/schemas/event';
import type { DeploymentRecord } from '../../src/schemas/record';

export interface FakeWorld {
  nodes: Record<string, NodeContainer[]>;
  unhealthy: Set<string>;
  /** Nodes whose health check hangs (heartbeating, so it can be cancelled) until taken out of the set. */
  hanging: Set<string>;
  /** Nodes whose restore fails for good. */
  unrestorable: Set<string>;
  /** Nodes whose engine refuses to stop containers. */
  unstoppable: Set<string>;
  failBuild: boolean;
  /** What the application history answers for a Rollback, Scale or Undeploy, newest first. */
  history: ApplicationState[];
  /** Applications that never become ready as dependencies. */
  missingDependencies: Set<string>;
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
    unrestorable: new Set(),
    unstoppable: new Set(),
    failBuild: false,
    history: [],
    missingDependencies: new Set(),
    calls: [],
    events: [],
    records: [],
  };
}

export function running(world: FakeWorld, node: string): string[] {
  return world.nodes[node]!.filter((c) => c.running).map((c) => c.version);
}

/** `world` is read on every call, so one worker can serve tests that each start from a new world. */
export function fakeActivities(world: () => FakeWorld, taskQueue: string, client: Client): Activities {
  const on = (nodeId: string) => world().nodes[nodeId]!;
  const log = (call: string) => world().calls.push(call);
  return {
    // The application lock is the real one: it only needs Temporal.
    ...createLockActivities(client, taskQueue),
    async resolveNodes({ nodeIds }) {
      return nodeIds.map((id): PlannedNode => ({ id, address: `10.0.0.${id.slice(-1)}`, taskQueue, registry: 'reg:5000' }));
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
    async listApplicationContainers({ nodeId, application }) {
      return on(nodeId).filter((c) => c.name.startsWith(`${application}--`));
    },
    async pullImage({ nodeId }) {
      log(`pull ${nodeId}`);
      return { pulled: true };
    },
    async createContainer({ nodeId, spec }) {
      log(`create ${nodeId}`);
      if (!on(nodeId).some((c) => c.name === spec.name)) {
        const labels = spec.create.Labels!;
        on(nodeId).push({
          id: spec.name,
          name: spec.name,
          version: labels['io.deployer.version']!,
          deploymentId: labels['io.deployer.deployment']!,
          running: false,
          state: 'created',
          previous: labels['io.deployer.previous']!.split(',').filter(Boolean),
          createdAt: 0,
        });
      }
      return { id: spec.name, created: true };
    },
    async stopContainers({ nodeId, names }) {
      log(`stop ${nodeId}`);
      if (world().unstoppable.has(nodeId)) throw new InvalidContainerError(`engine of ${nodeId} refuses to stop the containers`);
      for (const c of on(nodeId)) if (names.includes(c.name)) c.running = false;
    },
    async startContainer({ nodeId, name }) {
      log(`start ${nodeId}`);
      for (const c of on(nodeId)) if (c.name === name) c.running = true;
    },
    async restoreNode({ nodeId, deploymentId }) {
      log(`restore ${nodeId}`);
      if (world().unrestorable.has(nodeId)) throw new InvalidContainerError(`engine of ${nodeId} refuses to remove the container`);
      const ours = on(nodeId).filter((c) => c.deploymentId === deploymentId);
      const previous = new Set(ours.flatMap((c) => c.previous));
      world().nodes[nodeId] = on(nodeId).filter((c) => c.deploymentId !== deploymentId);
      for (const c of on(nodeId)) if (previous.has(c.name)) c.running = true;
      return { removed: ours.map((c) => c.name), restarted: [...previous] };
    },
    async retireOlder({ nodeId, deploymentId }) {
      log(`retire ${nodeId}`);
      const ours = on(nodeId).filter((c) => c.deploymentId === deploymentId);
      const keep = new Set([...ours.map((c) => c.name), ...ours.flatMap((c) => c.previous)]);
      const removed = on(nodeId).filter((c) => !keep.has(c.name)).map((c) => c.name);
      world().nodes[nodeId] = on(nodeId).filter((c) => keep.has(c.name));
      return removed;
    },
    async waitHealthy({ nodeId, container }) {
      log(`verify ${nodeId}`);
      while (world().hanging.has(nodeId)) {
        Context.current().heartbeat();
        await Context.current().sleep(100);
      }
      if (world().unhealthy.has(nodeId)) throw new HealthCheckFailedError(nodeId, container, 'GET / answered 500');
      return { probes: 1, elapsedMs: 1 };
    },
    async startContainers({ nodeId, names }) {
      log(`restart ${nodeId}`);
      for (const c of on(nodeId)) if (names.includes(c.name)) c.running = true;
      const here = new Set(on(nodeId).map((c) => c.name));
      return { started: names.filter((n) => here.has(n)), missing: names.filter((n) => !here.has(n)) };
    },
    async whereabouts({ application }) {
      const mine = (n: string) => on(n).filter((c) => c.name.startsWith(`${application}--`));
      const nodes = Object.keys(world().nodes);
      return { running: nodes.filter((n) => mine(n).some((c) => c.running)), present: nodes.filter((n) => mine(n).length > 0) };
    },
    async removeApplication({ nodeId, application }) {
      log(`remove ${nodeId}`);
      const removed = on(nodeId).filter((c) => c.name.startsWith(`${application}--`)).map((c) => c.name);
      world().nodes[nodeId] = on(nodeId).filter((c) => !removed.includes(c.name));
      return removed;
    },
    async applicationHistory() {
      return world().history;
    },
    async waitForDependencies({ dependencies, nodeIds, timeoutMs }) {
      log('dependencies');
      const missing = dependencies.filter((d) => world().missingDependencies.has(d)).flatMap((d) => nodeIds.map((n) => `${d} has no running container on ${n}`));
      if (missing.length > 0) throw new DependencyNotReadyError(missing, timeoutMs);
    },
    async publishEvents(events) {
      world().events.push(...events);
    },
    async recordDeployment(record) {
      world().records.push(record);
    },
  };
}
