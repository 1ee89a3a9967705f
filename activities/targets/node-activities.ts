// The activities a node workflow calls: the target verbs, each looked up by the node's id in
// the current fleet and carried out by the node's kind of target. They run on the
// node's task queue (a worker at the node's site) or, for nodes of the worker's own queue,
// as local activities. Verbs that a deployment applies to many nodes at once (restore,
// stop, remove, locate) take a group of nodes of one queue, so that a deployment to
// thousands of nodes stays within Temporal's history limits; within a group every node is
// tried on its own until the deadline, and the outcome of each is returned.
import { activityInfo, CancelledFailure, Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { NodeDecommissionedError, NodeUnavailableError, NON_RETRYABLE, UnknownNodeError } from '../../src/core/errors';
import type { Fleet, FleetNode } from '../../src/core/fleet';
import type { CheckResult } from '../../src/core/deployment-tests';
import type { NodeIntent } from '../../src/core/intent';
import type { NodeView } from '../../src/core/node-facts';
import type { Inventory, InventoryNode, TargetKind } from '../../src/core/schemas/inventory';
import type { EventLease, RelayTo } from '../../src/core/live-events';
import { heartbeat } from '../control/heartbeat';
import { LiveEvents, type EventOutlets } from './live-events';
import type { ApplyOutcome, Instance, RestoreOutcome, StepRecord, StepReporter, StillThere, Target, VerifyOutcome } from './target';
import { tracedTarget } from './traced-target';

export type TargetFactories = Record<TargetKind, (node: InventoryNode, inventory: Inventory) => Target>;

/** The outcome of a verb on one node of a group: its value, or why it failed. */
export type NodeOutcome<T> = { ok: true; value: T } | { ok: false; error: string };

/** Nodes of a group acted on at once. */
const CONCURRENCY = 16;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` on every item with at most `limit` at a time; results in the items' order. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** `promise`, or a rejection once `ms` have passed. */
function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

const retryable = (err: unknown) => !(err instanceof Error && (NON_RETRYABLE as readonly string[]).includes(err.name));

/**
 * Tries `fn` until it succeeds, fails for good (a non-retryable type), or `deadline` (epoch
 * ms, fixed by the workflow so that a retried activity does not start the clock again) passes.
 */
async function untilDeadline<T>(deadline: number, fn: () => Promise<T>): Promise<NodeOutcome<T>> {
  for (let wait = 500; ; wait = Math.min(wait * 2, 10_000)) {
    try {
      return { ok: true, value: await fn() };
    } catch (err) {
      if (!retryable(err) || Date.now() + wait > deadline) return { ok: false, error: (err as Error).message ?? String(err) };
      heartbeat();
      await sleep(wait);
    }
  }
}

/** A restore of a node the Node Manager decommissioned: nothing the Deployer can reach is left to put back. */
const NOTHING_TO_RESTORE: RestoreOutcome = { removed: [], restarted: [], missing: [] };

/**
 * What a node step is given: the node, the intent, and how its events go out as they happen:
 * published under the seq numbers of a lease (`events`), or relayed to the deployment's run
 * (`relay`); neither, the deployment publishes them once the node's workflow has ended.
 */
export interface StepInput {
  nodeId: string;
  intent: NodeIntent;
  events?: EventLease;
  relay?: RelayTo;
}

/** What every node step returns beside its own outcome (and carries in its failure's details). */
export interface StepsTaken {
  steps: StepRecord[];
  /** The last seq the step may have published under, when it had a lease. */
  lastSeq?: number;
}

/** `outlets`: how a step's events may go out as they happen (none: never live). */
export function createNodeActivities(fleetNow: () => Fleet, factories: TargetFactories, defaultTaskQueue: string, outlets: EventOutlets = {}) {
  const nodeOf = (nodeId: string): FleetNode => {
    const fleet = fleetNow();
    const node = fleet.nodes.find((n) => n.id === nodeId);
    if (node === undefined) throw fleet.decommissioned.has(nodeId) ? new NodeDecommissionedError(nodeId) : new UnknownNodeError(nodeId);
    return node;
  };
  /** The node's target, with a span around each call when tracing is on. */
  const targetOf = (node: FleetNode): Target => tracedTarget(factories[node.target.kind](node, fleetNow()), node);
  /**
   * The node's target for a new step (check, apply, verify, test): never on a node the Node
   * Manager decommissioned or reports Offline or Draining. Looked up before each step, so a
   * change on the topic stops a rollout at its next step on that node (a decommission, also
   * in the step that runs: `stillThere`, below).
   */
  const startable = (nodeId: string): Target => {
    const node = nodeOf(nodeId);
    if (node.fleet.status !== 'Online') throw new NodeUnavailableError(nodeId, node.fleet.status);
    return targetOf(node);
  };
  /**
   * What a running step's waits ask on each round (verify's probes, the tests): a node the
   * Node Manager decommissioned meanwhile fails the step at once, with the reason and the
   * non-retryable error the step-start check gives; it will not come back, so waiting out
   * the deadline would only hold the rollout. An Offline or Draining record does not end a
   * step already running: the contract keeps those from *new* steps. Offline says the Node
   * Manager cannot reach the node now and expects it back, while the instance may well be
   * answering its probes (an outage between the two is not one between node and Deployer);
   * a probe that keeps failing fails the wait at its deadline anyway. Draining keeps what
   * runs there running, and this instance is running already. A fleet that cannot be read
   * just now (the inventory file mid-edit) says nothing about the node: the wait goes on, and
   * the next step's start reports the problem.
   */
  const stillThere = (nodeId: string): StillThere => () => {
    let fleet: Fleet;
    try {
      fleet = fleetNow();
    } catch {
      return;
    }
    if (fleet.decommissioned.has(nodeId)) throw new NodeDecommissionedError(nodeId);
  };
  /** The nodes of the fleet that this activity's task queue serves. */
  const served = () => {
    const queue = activityInfo().taskQueue;
    return fleetNow().nodes.filter((n) => (n.taskQueue ?? defaultTaskQueue) === queue);
  };
  const target = (nodeId: string): Target => targetOf(nodeOf(nodeId));
  /**
   * Runs a verb that reports steps: they are shown in the heartbeat details while it runs,
   * published as they happen when the step holds a lease, and come back in the result, or in
   * the failure's details (same type, so retries are still decided by it), so that the
   * workflow can tell what happened on the node either way.
   */
  const withSteps = async <T>({ nodeId, intent, events, relay }: StepInput, verb: (step: StepReporter) => Promise<T>): Promise<T & StepsTaken> => {
    const steps: StepRecord[] = [];
    const how = events !== undefined ? { lease: events } : relay !== undefined ? { relay } : undefined;
    const published = LiveEvents.start(outlets, { deploymentId: intent.deploymentId, application: intent.application, version: intent.version, node: nodeId }, how);
    const step: StepReporter = (phase, message) => {
      const record: StepRecord = { at: new Date().toISOString(), phase, message };
      steps.push(record);
      published?.step(record);
      heartbeat({ steps });
    };
    let outcome: { ok: true; value: T } | { ok: false; error: Error };
    // A step that sends live ends as soon as it is cancelled, once its last send has answered:
    // its workflow waits for that (workflows/node.ts), so that nothing of the step's lease lands
    // on the topic after the events its deployment numbers on with. The verb's own calls
    // finish in the background, as they would after any cancel.
    const taking = verb(step);
    taking.catch(() => undefined);
    try {
      outcome = { ok: true, value: await (published !== undefined ? Promise.race([taking, Context.current().cancelled]) : taking) };
    } catch (err) {
      outcome = { ok: false, error: err instanceof Error ? err : new Error(String(err)) };
    }
    const lastSeq = await published?.finish();
    if (!outcome.ok && outcome.error instanceof CancelledFailure) throw outcome.error;
    const taken: StepsTaken = { steps, ...(lastSeq !== undefined ? { lastSeq } : {}) };
    if (outcome.ok) return { ...outcome.value, ...taken };
    const e = outcome.error;
    throw ApplicationFailure.create({ type: e.name, message: e.message, nonRetryable: !retryable(e), details: [taken], cause: e });
  };
  const group = <I extends { nodeId: string }, T>(items: readonly I[], deadline: number, fn: (item: I) => Promise<T>) =>
    pool(items, CONCURRENCY, (item) => untilDeadline(deadline, () => fn(item))).then((outcomes) => Object.fromEntries(items.map((item, i) => [item.nodeId, outcomes[i]!])));

  return {
    async applyNode(input: StepInput): Promise<ApplyOutcome & StepsTaken> {
      return withSteps(input, (step) => startable(input.nodeId).apply(input.intent, step));
    },

    /** The intent's configuration check, before the node is touched. */
    async checkNodeConfig(input: StepInput): Promise<{ result: CheckResult } & StepsTaken> {
      return withSteps(input, (step) => startable(input.nodeId).checkConfig(input.intent, step));
    },

    /** The intent's deployment tests, once the node passed its health check. */
    async testNode(input: StepInput): Promise<{ results: CheckResult[] } & StepsTaken> {
      return withSteps(input, (step) => startable(input.nodeId).test(input.intent, step, stillThere(input.nodeId)));
    },

    async verifyNode(input: StepInput): Promise<VerifyOutcome & StepsTaken> {
      return withSteps(input, (step) => startable(input.nodeId).verify(input.intent, step, stillThere(input.nodeId)));
    },

    /** After `deploymentId` succeeded: on each node, every older instance goes but the ones it replaced. */
    async retireNodes(input: { application: string; deploymentId: string; nodeIds: string[]; deadline: number }): Promise<Record<string, NodeOutcome<string[]>>> {
      return group(input.nodeIds.map((nodeId) => ({ nodeId })), input.deadline, ({ nodeId }) => target(nodeId).retire({ application: input.application, deploymentId: input.deploymentId }));
    },

    /** Undoes `deploymentId` on each node: what it created goes, what it replaced or stopped (`restart`) runs again. */
    async restoreNodes(input: { application: string; deploymentId: string; nodes: { nodeId: string; restart: string[] }[]; deadline: number }): Promise<Record<string, NodeOutcome<RestoreOutcome>>> {
      return group(input.nodes, input.deadline, async ({ nodeId, restart }) =>
        fleetNow().decommissioned.has(nodeId) ? NOTHING_TO_RESTORE : target(nodeId).restore({ application: input.application, deploymentId: input.deploymentId, restart }),
      );
    },

    async stopNodes(input: { application: string; nodes: { nodeId: string; names: string[] }[]; deadline: number }): Promise<Record<string, NodeOutcome<string[]>>> {
      return group(input.nodes, input.deadline, ({ nodeId, names }) => target(nodeId).stop({ application: input.application, names }));
    },

    async removeNodes(input: { application: string; nodeIds: string[]; deadline: number }): Promise<Record<string, NodeOutcome<string[]>>> {
      return group(input.nodeIds.map((nodeId) => ({ nodeId })), input.deadline, ({ nodeId }) => target(nodeId).remove({ application: input.application }));
    },

    /** The application's instances on each node. A node that cannot be asked fails the call (retried): nothing may act on a partial picture. */
    async locateNodes({ application, nodeIds }: { application?: string; nodeIds: string[] }): Promise<Record<string, Instance[]>> {
      const found = await pool(nodeIds, CONCURRENCY, (id) => target(id).locate(application));
      return Object.fromEntries(nodeIds.map((id, i) => [id, found[i]!]));
    },

    /**
     * Every node this activity's task queue serves, as its target sees it, with the
     * Deployer's instances there. A node that does not answer within `timeoutMs` is shown as
     * not ready, with the reason; the others are still shown.
     */
    async describeNodes({ timeoutMs }: { timeoutMs: number }): Promise<NodeView[]> {
      const mine = served();
      return pool(mine, CONCURRENCY, async (node): Promise<NodeView> => {
        const view = { node: node.id, address: node.address, target: node.target.kind, fleet: node.fleet };
        // Not asked: the Node Manager says it cannot be reached now.
        if (node.fleet.status === 'Offline') return { ...view, status: { ready: false, detail: 'Offline (Node Manager)' }, instances: [] };
        try {
          const t = target(node.id);
          const [status, instances] = await within(timeoutMs, Promise.all([t.describe(), t.locate()]));
          return { ...view, status, instances };
        } catch (err) {
          return { ...view, status: { ready: false, detail: `unreachable: ${(err as Error).message ?? String(err)}` }, instances: [] };
        }
      });
    },

    /**
     * Where the application is on every node this activity's task queue serves: the nodes
     * with a running instance and the nodes with any. Only those ids come back, so the answer
     * stays small whatever the size of the inventory.
     */
    async locateApplication({ application }: { application: string }): Promise<{ running: string[]; present: string[] }> {
      const ids = served().map((n) => n.id);
      const found = await pool(ids, CONCURRENCY, (id) => {
        heartbeat();
        return target(id).locate(application);
      });
      return { running: ids.filter((_, i) => found[i]!.some((c) => c.running)), present: ids.filter((_, i) => found[i]!.length > 0) };
    },
  };
}

export type NodeActivities = ReturnType<typeof createNodeActivities>;
