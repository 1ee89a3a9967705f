// One deployment = one workflow, id = the request's deploymentId. Deploy, Rollback, Scale and
// Undeploy are one body under four workflow types, read top to bottom in `Operation.run`:
// begin (the application's lock; the plan — for all but Deploy, from the application's
// history; the nodes checked, the dependencies awaited, the image built and pushed), roll out
// (batches of `strategy.maxParallel`, each node a child workflow that speaks the target
// verbs), take off (the nodes a Scale or Undeploy leaves), then succeed, or compensate: the
// saga (saga.ts) registered each node's undo before the node was touched, and runs them
// newest first outside cancellation. With `onFailure: pause` a failed batch waits for an
// operator's decision instead. A deployment to thousands of nodes continues as new between
// waves of nodes, carrying its saga and its board, so that no run outgrows Temporal's limits.
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  continueAsNew,
  ContinueAsNew,
  executeChild,
  isCancellation,
  log,
  makeContinueAsNewFunc,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BuildActivities } from '../activities/control/build';
import type { DependencyActivities } from '../activities/control/dependencies';
import type { HistoryActivities } from '../activities/control/history';
import type { RunActivities } from '../activities/control/runs';
import type { InventoryActivities } from '../activities/control/inventory';
import type { RecordActivities } from '../activities/control/records';
import type { StepRecord } from '../activities/targets/target';
import { NotDeployedError } from '../src/core/errors';
import { nodeIntent } from '../src/core/intent';
import { policed } from '../src/core/node-policy';
import { applicationOf } from '../src/core/operation-kinds';
import { planOperation, stateAfter, type ApplicationState, type OperationPlan, type Whereabouts } from '../src/core/operation-plan';
import { batchesOf, imageOf, nodeImage, type NodeQueue, type PlannedNode } from '../src/core/plan';
import type { Phase } from '../src/core/schemas/event';
import { deploymentRecord } from '../src/core/deployment-record';
import { withoutCredentials } from '../src/core/git-source';
import type { CheckResult } from '../src/core/deployment-tests';
import type { DeployRequest, OperationRequest, RollbackRequest, ScaleRequest, UndeployRequest } from '../src/core/schemas/request';
import { indexedNodes, SEARCH_ATTRIBUTES } from '../src/core/search-attributes';
import { nodeWorkflowId } from '../src/core/workflow-ids';
import { ApplicationLock } from './application-lock';
import {
  decideUpdate,
  DECISIONS,
  nodeEventsSignal,
  progressQuery,
  publishedSeqQuery,
  ROLLBACK_INCOMPLETE,
  ROLLED_BACK,
  type Decision,
  type DeploymentResult,
  type DeployOptions,
} from './definitions';
import { EventLog } from './event-log';
import { eventMessage } from '../src/core/event-message';
import { checksOf, lastSeqOf, NodesFailed, rootMessage, siteUnreachable, stepsOf } from './failures';
import { nodeRolloutWorkflow } from './node';
import { nodeCalls, queueOf, someNodes, someOf } from './node-calls';
import { NodeBoard, type CarriedBoard } from './node-board';
import { COMPENSATION_DEADLINE_MS, dependencyWait, engineStep, groupStep, lookup, publishing, SITE_START_TIMEOUT_MS, transfer } from './options';
import { PATCHES } from './patches';
import { GROUP, Saga, type CarriedSaga } from './saga';
import { LAST_SEQ_MEMO, OUTCOME_MEMO } from './saga-memo';
import * as v1 from './v1/deploy';
import { localActivities } from './local-lane';

/** What a run that continues as new hands to the next: where the rollout stands, and what it must be able to undo. */
export interface CarriedRollout {
  /** Absent for a Deploy, whose plan is its request: the node list is not carried twice. */
  plan?: OperationPlan;
  history: ApplicationState[];
  where?: Whereabouts;
  digest?: string;
  image?: string;
  queues: NodeQueue[];
  nextBatch: number;
  nextWave: number;
  skipped: string[];
  saga: CarriedSaga;
  board: CarriedBoard;
}

export interface OperationOptions extends DeployOptions {
  /** Set only by the run this one continues (continue-as-new). */
  carried?: CarriedRollout;
}

/** Node workflows a run keeps open at once at most (Temporal refuses more than 500 pending children). */
export const WAVE = 400;
/** History events a run may reach before it continues as new (well below Temporal's 10,240 warning). */
export const HISTORY_BUDGET = 8_000;
/** History events one node's child workflow costs its parent, with room for the events and memo around it. */
const EVENTS_PER_NODE = 8;
/**
 * Nodes side by side that relay their events as they happen (src/core/live-events.ts): each
 * relayed event costs the run's history a signal and a publish, so a larger batch reports its
 * nodes' steps when each ends, as nodes of a large fleet would otherwise fill the history.
 * 1: off for nodes side by side (only a node alone at a site relays). With relays, the full
 * suite saw events land after a terminated run's compensation and after a terminal event
 * under load; 10 is the figure meant once that is understood.
 */
export const RELAY_MAX_NODES = 1;
/** What a relaying node may add to the run's history: its steps and a progress event every few seconds of a long wait. */
const EVENTS_PER_RELAYING_NODE = 60;

const { resolveNodes, checkNodes, inventoryQueues } = localActivities<InventoryActivities>({ ...lookup, summary: 'look the nodes up in the inventory' });
const { checkRequest } = localActivities<InventoryActivities>({ ...lookup, summary: 'check the request as the bridge would' });
const { applicationHistory } = localActivities<HistoryActivities>({ ...lookup, summary: "read the application's history" });
const { lastPublishedSeq } = localActivities<RunActivities>({ ...lookup, summary: 'read the last event seq of the runs before this one' });
const { buildImage } = proxyActivities<BuildActivities>({ ...transfer, summary: 'build the image on the build host' });
const { pushImage } = proxyActivities<BuildActivities>({ ...transfer, summary: 'push the image to the registry' });
const { recordDeployment } = localActivities<RecordActivities>({ ...publishing, summary: 'write the deployment record' });

export async function deployWorkflow(request: DeployRequest, options: OperationOptions = {}): Promise<DeploymentResult> {
  return patched(PATCHES.targetSeam) ? operate(request, options) : v1.deployWorkflow(request, options);
}

/** Rolls the application back to `toVersion`, or to the version that was healthy before the current one, on the nodes it runs on. */
export async function rollbackWorkflow(request: RollbackRequest, options: OperationOptions = {}): Promise<DeploymentResult> {
  return patched(PATCHES.targetSeam) ? operate(request, options) : v1.rollbackWorkflow(request, options);
}

/** Runs the current version on exactly `nodes` with `replicasPerNode`: rolled out there, taken off the other nodes. */
export async function scaleWorkflow(request: ScaleRequest, options: OperationOptions = {}): Promise<DeploymentResult> {
  return patched(PATCHES.targetSeam) ? operate(request, options) : v1.scaleWorkflow(request, options);
}

/** Takes the application off `nodes` (default: every node it runs on). */
export async function undeployWorkflow(request: UndeployRequest, options: OperationOptions = {}): Promise<DeploymentResult> {
  return patched(PATCHES.targetSeam) ? operate(request, options) : v1.undeployWorkflow(request, options);
}

/**
 * An operation, its input checked first as the bridge checks a message: whoever can reach
 * Temporal could start one with anything. A run continued from another (continue-as-new)
 * carries what its first run checked.
 */
async function operate(request: OperationRequest, options: OperationOptions): Promise<DeploymentResult> {
  const refusal = options.carried === undefined && patched(PATCHES.checkInput) ? await checkRequest(request) : undefined;
  if (refusal !== undefined) {
    // Reported as the bridge reports a message it refuses, when the input names a deployment to report it under.
    const { deploymentId, application, reason } = refusal;
    if (deploymentId !== undefined && application !== undefined) {
      const events = new EventLog({ deploymentId, application }, options.seqStart ?? 0);
      events.emit('Rejected', reason);
      await events.flushed();
    }
    throw ApplicationFailure.nonRetryable(reason, 'InvalidRequestError');
  }
  return new Operation(request, options).run();
}

function acceptedMessage(request: OperationRequest): string {
  switch (request.kind) {
    case 'Deploy':
      return `deploying ${request.application.name}:${request.application.version} to ${request.nodes.length} node(s)`;
    case 'Rollback':
      return `rolling ${request.application} back to ${request.toVersion ?? 'the version before the current one'}`;
    case 'Scale':
      return `scaling ${request.application} to ${someNodes(request.nodes, 20)} with ${request.replicasPerNode} replica(s) per node`;
    case 'Undeploy':
      return `undeploying ${request.application} from ${request.nodes !== undefined ? someNodes(request.nodes, 20) : 'every node it runs on'}`;
  }
}

/** What tells one relayed event from another of its node: a step's own record gives the same. */
function relayKey(e: { phase: string; at: string; message: string }): string {
  return `${e.phase}\n${e.at}\n${eventMessage(e.message)}`;
}

function describePlan(application: string, version: string | undefined, rollout: string[], drop: string[]): string {
  const parts = [];
  if (rollout.length > 0) parts.push(`${application}:${version} to ${someNodes(rollout, 20)}`);
  if (drop.length > 0) parts.push(`off ${someNodes(drop, 20)}`);
  return `plan: ${parts.length > 0 ? parts.join('; ') : 'nothing to remove'}`;
}

class Operation {
  private readonly application: string;
  private readonly deploymentId: string;
  private readonly events: EventLog;
  private readonly board: NodeBoard;
  private readonly saga: Saga;
  private readonly lock: ApplicationLock;
  private plan: OperationPlan = { drop: [] };
  private history: ApplicationState[] = [];
  private where: Whereabouts | undefined;
  private digest: string | undefined;
  private image: string | undefined;
  /** The task queues that serve the rollout's nodes. */
  private queues: NodeQueue[] = [];
  private nextBatch = 0;
  private nextWave = 0;
  private readonly skipped = new Set<string>();
  private paused: string[] | undefined;
  private decision: Decision | undefined;
  private continuing = false;
  /** Nodes resolved before the rollout, by id (a deployment of at most one wave). */
  private readonly resolved = new Map<string, PlannedNode>();
  /**
   * Nodes whose steps relay their events to this run now, with what each relayed so far (by
   * relayKey): a step does not wait for its relay, so its node's result may hold events relayed
   * already, which go out once, and events relayed after the result was heard, which go
   * out from the result and are not heard again.
   */
  private readonly relaying = new Map<string, Set<string>>();
  /** How long a call to a site's queue waits for the site's worker (DeployOptions.siteStartTimeoutMs). */
  private readonly siteWait: number;

  constructor(
    private readonly request: OperationRequest,
    private readonly options: OperationOptions,
  ) {
    this.application = applicationOf(request);
    this.deploymentId = request.deploymentId;
    const carried = options.carried;
    const version = carried?.plan?.version ?? (request.kind === 'Deploy' ? request.application.version : undefined);
    this.events = new EventLog({ deploymentId: this.deploymentId, application: this.application, ...(version !== undefined ? { version } : {}) }, options.seqStart ?? 0);
    this.board = carried !== undefined ? NodeBoard.from(carried.board) : new NodeBoard();
    this.siteWait = options.siteStartTimeoutMs ?? SITE_START_TIMEOUT_MS;
    this.saga = new Saga(carried?.saga, this.siteWait);
    this.lock = new ApplicationLock(this.application, options.lock);
    if (carried !== undefined) {
      ({ history: this.history, where: this.where, digest: this.digest, image: this.image, queues: this.queues, nextBatch: this.nextBatch, nextWave: this.nextWave } = carried);
      this.plan = carried.plan ?? planOperation(request, []);
      for (const n of carried.skipped) this.skipped.add(n);
    }
    setHandler(progressQuery, () => this.board.progress());
    setHandler(publishedSeqQuery, () => this.events.claimed);
    setHandler(nodeEventsSignal, ({ events }) => {
      for (const e of events) {
        const heard = this.relaying.get(e.node);
        if (heard === undefined || heard.has(relayKey(e))) continue;
        heard.add(relayKey(e));
        this.events.emit(e.phase, e.message, e.node, e.at);
        this.board.live(e.node, e.phase, e.message);
      }
    });
    setHandler(
      decideUpdate,
      (d) => {
        this.decision = d;
        return { accepted: d, failedNodes: this.paused ?? [] };
      },
      {
        validator: (d) => {
          if (!DECISIONS.includes(d)) throw new Error(`unknown decision '${d}': one of ${DECISIONS.join(', ')}`);
          if (this.paused === undefined || this.decision !== undefined) throw new Error(`deployment ${this.deploymentId} is not paused`);
        },
      },
    );
  }

  async run(): Promise<DeploymentResult> {
    try {
      if (this.options.carried === undefined) await this.begin();
      else await this.lock.acquire(() => undefined);
      await this.rollOut();
      const dropped = await this.takeOff();
      return await this.succeed(dropped);
    } catch (err) {
      if (err instanceof ContinueAsNew) throw err;
      return await this.compensate(err);
    } finally {
      if (!this.continuing) await this.lock.release();
    }
  }

  /** Accepted; then the lock, the plan and everything that comes before the first node is touched. */
  private async begin(): Promise<void> {
    const { runId } = workflowInfo();
    // A run reset from another, and a Retry, number their events after everything the runs
    // before them published.
    if (this.lock.reset || this.options.seqStart !== undefined) this.events.continueAfter(await lastPublishedSeq({ workflowId: this.deploymentId, runId }));
    this.phase('Accepted', acceptedMessage(this.request));
    const waiting = () => this.events.emit('Accepted', `waiting for the deployment of ${this.application} ahead of this one`);
    if (this.request.kind === 'Deploy') {
      for (const n of this.request.nodes) this.board.set(n, 'Pending', 'waiting');
      this.plan = planOperation(this.request, []);
      // Nothing here touches a node, so it goes on while the lock is awaited.
      await Promise.all([this.lock.acquire(waiting), this.prepare(this.request)]);
      return;
    }
    await this.lock.acquire(waiting);
    this.history = await applicationHistory({
      application: this.application,
      self: { workflowId: this.deploymentId, runId },
      ...(this.request.kind === 'Rollback' ? { rollback: { ...(this.request.toVersion !== undefined ? { toVersion: this.request.toVersion } : {}) } } : {}),
    });
    this.where = await this.locate();
    this.plan = planOperation(this.request, this.history, this.where);
    // A run recorded before an Undeploy of nothing succeeded was refused here.
    if (this.request.kind === 'Undeploy' && this.plan.drop.length === 0 && !patched(PATCHES.undeployNothing)) {
      throw new NotDeployedError(this.application, `${this.application} has no container on any node of the inventory`);
    }
    const rollout = this.plan.rollout?.request.nodes ?? [];
    this.events.about.version = this.plan.version;
    for (const n of [...rollout, ...this.plan.drop]) this.board.set(n, 'Pending', 'waiting');
    upsertSearchAttributes([
      ...(this.plan.version !== undefined ? [{ key: SEARCH_ATTRIBUTES.version, value: this.plan.version }] : []),
      { key: SEARCH_ATTRIBUTES.nodes, value: indexedNodes([...rollout, ...this.plan.drop]) },
    ]);
    this.events.emit('Accepted', describePlan(this.application, this.plan.version, rollout, this.plan.drop));
    this.digest = this.plan.rollout?.digest;
    if (this.plan.rollout !== undefined) await this.prepare(this.plan.rollout.request);
  }

  /** The nodes checked (the inventory may have changed since the bridge did), the dependencies awaited, the image built and pushed. */
  private async prepare(rollout: DeployRequest): Promise<void> {
    if (rollout.nodes.length <= WAVE) {
      // Few enough to keep: checked and resolved in one call, before the lock is granted.
      const nodes = await resolveNodes({ nodeIds: rollout.nodes, ...policed(rollout) });
      for (const n of nodes) this.resolved.set(n.id, n);
      this.queues = byQueue(nodes).map((group) => queueOf(group[0]!));
    } else {
      ({ queues: this.queues } = await checkNodes({ nodeIds: rollout.nodes, ...policed(rollout) }));
    }
    if (rollout.dependsOn.length > 0) {
      const timeoutMs = rollout.strategy.dependencyTimeoutMs;
      this.events.emit('Accepted', `waiting up to ${timeoutMs} ms for ${rollout.dependsOn.join(', ')} to run healthy on ${someNodes(rollout.nodes, 20)}`);
      const wait = { dependencies: rollout.dependsOn, nodeIds: rollout.nodes, deadline: Date.now() + timeoutMs, timeoutMs };
      await Promise.all(
        this.queues.map((queue) =>
          proxyActivities<DependencyActivities>({ ...dependencyWait, ...(queue.local ? {} : { scheduleToStartTimeout: this.siteWait }), taskQueue: queue.taskQueue, summary: 'wait for the applications it depends on' })
            .waitForDependencies(wait)
            .catch((err: unknown) => {
              throw siteUnreachable(err, queue, this.siteWait) ?? err;
            }),
        ),
      );
    }
    const { source, name, version } = rollout.application;
    if (source !== undefined && this.digest === undefined) {
      this.phase('Building', `building from ${withoutCredentials(source.context)}`);
      const { tag, skipped } = await buildImage({ application: name, version, source });
      if (skipped !== undefined) this.events.emit('Building', `left out of the build context (sockets, FIFOs and devices, which an image cannot hold): ${someOf(skipped, 10)}`);
      this.phase('Pushing', `pushing ${tag}`);
      ({ digest: this.digest } = await pushImage({ tag }));
      this.events.emit('Pushing', `pushed ${tag} as ${this.digest}`);
    }
  }

  /** Where the application is, asked of every node of the inventory through the task queue that serves it. */
  private async locate(): Promise<Whereabouts> {
    const queues = await inventoryQueues();
    const found = await Promise.all(
      queues.map((q) =>
        nodeCalls(q, engineStep, `find ${this.application} on the nodes of ${q.taskQueue}`, this.siteWait)
          .locateApplication({ application: this.application })
          .catch((err: unknown) => {
            throw siteUnreachable(err, q, this.siteWait) ?? err;
          }),
      ),
    );
    return { running: found.flatMap((f) => f.running), present: found.flatMap((f) => f.present) };
  }

  /** Batches of `maxParallel` nodes, each in waves of at most WAVE node workflows. */
  private async rollOut(): Promise<void> {
    const rollout = this.plan.rollout?.request;
    if (rollout === undefined) return;
    const batches = batchesOf(rollout.nodes, rollout.strategy.maxParallel);
    if (this.options.carried === undefined) this.phase('Deploying', `rolling out to ${rollout.nodes.length} node(s), ${rollout.strategy.maxParallel} at a time`);
    for (; this.nextBatch < batches.length; this.nextBatch++, this.nextWave = 0) {
      const waves = batchesOf(batches[this.nextBatch]!, WAVE);
      for (; this.nextWave < waves.length; this.nextWave++) {
        await this.continueAsNewIfFull(waves[this.nextWave]!.length);
        const nodes = await this.nodesOf(waves[this.nextWave]!);
        await this.deployWave(rollout, nodes);
        this.image ??= imageOf(rollout, nodes[0]!, this.digest);
      }
    }
  }

  /** One wave of nodes at once; with `onFailure: pause` its failed nodes wait for an operator's decision. */
  private async deployWave(rollout: DeployRequest, wave: PlannedNode[]): Promise<void> {
    let pending = wave;
    for (let attempt = 0; pending.length > 0; attempt++) {
      const failed = await this.deployNodes(rollout, pending, attempt);
      if (Object.keys(failed).length === 0) return;
      if (rollout.strategy.onFailure !== 'pause') throw new NodesFailed(failed);

      this.paused = Object.keys(failed);
      this.decision = undefined;
      const { pauseTimeoutMs } = rollout.strategy;
      this.phase('Paused', `failed on ${Object.entries(failed).map(([n, r]) => `${n}: ${r}`).join('; ')}; waiting for a decision (retry, skip or rollback) for up to ${pauseTimeoutMs} ms`);
      const decided = await condition(() => this.decision !== undefined, pauseTimeoutMs);
      const chosen = this.decision ?? 'rollback';
      this.paused = undefined;
      if (chosen === 'rollback') throw new NodesFailed(failed, decided ? 'operator chose rollback after ' : 'no decision before the pause timed out after ');
      // The failed nodes go back to what they ran before either way.
      const failedIds = Object.keys(failed);
      await this.saga.restore(failedIds, { application: this.application, deploymentId: this.deploymentId }, this.board, this.events);
      this.phase('Deploying', `operator chose ${chosen} for ${failedIds.join(', ')}`);
      if (chosen === 'skip') {
        for (const id of failedIds) {
          this.skipped.add(id);
          this.board.set(id, 'Skipped', `skipped by operator after: ${failed[id]}`);
        }
        return;
      }
      pending = pending.filter((n) => failed[n.id] !== undefined);
    }
  }

  /**
   * Each node as a child workflow. A node of the control queue that rolls out alone publishes
   * its steps' events as they happen, under a lease of the event log's numbers; nodes side by
   * side (up to RELAY_MAX_NODES), and a node alone at a site, relay theirs to this run as they
   * happen, which publishes them; otherwise,
   * and for the steps a node could not send, what each reports becomes its status events as
   * soon as it ends. Returns the reasons of the failed ones.
   */
  private async deployNodes(rollout: DeployRequest, nodes: PlannedNode[], attempt: number): Promise<Record<string, string>> {
    const { name, version } = rollout.application;
    // Only one publisher at a time keeps seq increasing on the topic, so only a node alone holds
    // a lease; and only a node of the control queue: a site worker has no Kafka, so a node
    // alone at a site relays its events to this run, as nodes side by side do.
    const alone = nodes.length === 1;
    const aloneAtSite = alone && nodes[0]!.local !== true && patched(PATCHES.siteUnreachable);
    const lease = alone && !aloneAtSite && patched(PATCHES.liveNodeEvents) ? await this.events.lend() : undefined;
    const relay =
      aloneAtSite || (nodes.length > 1 && nodes.length <= RELAY_MAX_NODES && patched(PATCHES.relayNodeEvents)) ? { workflowId: workflowInfo().workflowId, runId: workflowInfo().runId } : undefined;
    if (relay !== undefined) for (const n of nodes) this.relaying.set(n.id, new Set());
    const emitSteps = (node: string, steps: StepRecord[], lastSeq: number | undefined) => {
      const heard = this.relaying.get(node);
      this.relaying.delete(node);
      this.events.settle(lastSeq);
      for (const s of steps) if (s.seq === undefined && heard?.has(relayKey(s)) !== true) this.events.emit(s.phase, s.message, node, s.at);
    };
    // Registered before the node is touched: the child may change the node and fail to say so.
    // In the memo too, in the same workflow task as the children's start (its command first),
    // so that a Terminate can never leave a started node out of what compensation reads.
    const added = nodes.filter((node) => this.saga.register(this.nextBatch, node));
    if (added.length > 0 && patched(PATCHES.sagaInMemo)) upsertMemo(this.saga.memoOf(this.nextBatch));
    const settled = await Promise.allSettled(
      nodes.map((node) => {
        this.board.set(node.id, 'Deploying', attempt === 0 ? 'starting' : `retry ${attempt}`);
        const intent = nodeIntent(rollout, nodeImage(rollout, node, this.digest));
        return executeChild(nodeRolloutWorkflow, {
          workflowId: nodeWorkflowId(this.deploymentId, node.id, attempt),
          args: [
            {
              node,
              intent,
              ...(lease !== undefined ? { events: lease } : {}),
              ...(relay !== undefined ? { relay } : {}),
              ...(this.options.siteStartTimeoutMs !== undefined ? { siteStartTimeoutMs: this.options.siteStartTimeoutMs } : {}),
            },
          ],
          staticSummary: `${node.id}: deploy ${name}:${version}${attempt === 0 ? '' : ` (retry ${attempt})`}`,
          staticDetails: `Node **${node.id}** of deployment \`${this.deploymentId}\`: ${name}:${version} from \`${intent.image}\``,
        }).then(
          (result) => {
            emitSteps(node.id, result.steps, result.lastSeq);
            this.board.set(node.id, 'Healthy', `running ${result.instances.join(', ')}`, result.checks);
            return result;
          },
          (err: unknown) => {
            // A cancelled node workflow cannot say how far it numbered: the whole lease counts as used.
            if (isCancellation(err)) {
              this.relaying.delete(node.id);
              this.events.settle(undefined);
            }
            else emitSteps(node.id, stepsOf<StepRecord>(err), lastSeqOf(err));
            throw err;
          },
        );
      }),
    );
    const failed: Record<string, string> = {};
    settled.forEach((s, i) => {
      const node = nodes[i]!.id;
      if (s.status === 'fulfilled') return;
      if (isCancellation(s.reason)) throw s.reason;
      failed[node] = rootMessage(s.reason);
      this.board.set(node, 'Failed', failed[node], checksOf<CheckResult>(s.reason));
      this.events.emit(rollout.strategy.onFailure === 'pause' ? 'Paused' : 'RollingBack', `failed: ${failed[node]}`, node);
    });
    return failed;
  }

  /**
   * Takes the application off the nodes a Scale or Undeploy leaves. On each, what runs is
   * read first and its restart registered as the undo before anything stops; the instances
   * are removed only once the whole operation has succeeded.
   */
  private async takeOff(): Promise<string[]> {
    const drop = this.plan.drop;
    const batchBase = batchesOf(this.plan.rollout?.request.nodes ?? [], this.plan.rollout?.request.strategy.maxParallel ?? 1).length;
    for (const [k, ids] of batchesOf(drop, GROUP).entries()) {
      const nodes = await resolveNodes({ nodeIds: ids });
      for (const group of byQueue(nodes)) {
        const calls = nodeCalls(queueOf(group[0]!), groupStep, `${someNodes(group.map((n) => n.id))}: take ${this.application} off`, this.siteWait);
        // No worker of the group's site took the call: each of its nodes fails naming the site.
        const unreachable = (err: unknown) => {
          const site = siteUnreachable(err, group[0]!, this.siteWait);
          return site !== undefined ? new NodesFailed(Object.fromEntries(group.map((n) => [n.id, site.message]))) : err;
        };
        const found = await calls.locateNodes({ application: this.application, nodeIds: group.map((n) => n.id) }).catch((err: unknown) => {
          throw unreachable(err);
        });
        const running = Object.fromEntries(group.map((n) => [n.id, found[n.id]!.filter((i) => i.running).map((i) => i.name)]));
        for (const n of group) {
          this.saga.register(batchBase + k, n, running[n.id]!);
          this.board.set(n.id, 'Deploying', `stopping ${running[n.id]!.join(', ') || 'nothing (not running)'}`);
        }
        if (patched(PATCHES.sagaInMemo)) upsertMemo(this.saga.memoOf(batchBase + k));
        const stopped = await calls.stopNodes({ application: this.application, nodes: group.map((n) => ({ nodeId: n.id, names: running[n.id]! })), deadline: Date.now() + COMPENSATION_DEADLINE_MS }).catch((err: unknown) => {
          throw unreachable(err);
        });
        const refused = group.filter((n) => !stopped[n.id]!.ok);
        if (refused.length > 0) {
          throw new NodesFailed(Object.fromEntries(refused.map((n) => [n.id, (stopped[n.id] as { error: string }).error])));
        }
        for (const n of group) this.events.emit('Deploying', `stopped ${running[n.id]!.join(', ') || 'nothing (not running)'}`, n.id);
      }
    }
    return drop;
  }

  /**
   * The point of no return: the operation has succeeded, so what it took off goes for good,
   * even if a cancel arrives now (an engine that refuses leaves it stopped, which is said,
   * not undone), and on the nodes it rolled out to, the versions older than the one each
   * replaced go (until now a restore had to put each node back as it was). Beside that the
   * record is written; then the terminal event, once nothing more happens on any node, and
   * the lock is released.
   */
  private async succeed(dropped: string[]): Promise<DeploymentResult> {
    const rollout = this.plan.rollout?.request;
    const deployed = (rollout?.nodes ?? []).filter((n) => !this.skipped.has(n));
    const retired = CancellationScope.nonCancellable(() => this.retire(deployed));
    await CancellationScope.nonCancellable(async () => {
      for (const ids of batchesOf(dropped, GROUP)) {
        const nodes = await resolveNodes({ nodeIds: ids });
        for (const group of byQueue(nodes)) {
          const { removeNodes } = nodeCalls(queueOf(group[0]!), groupStep, `${someNodes(group.map((n) => n.id))}: remove ${this.application}`, this.siteWait);
          const removed = await removeNodes({ application: this.application, nodeIds: group.map((n) => n.id), deadline: Date.now() + COMPENSATION_DEADLINE_MS }).catch((err: unknown) => this.refusedBySite(err, group));
          for (const n of group) {
            const outcome = removed[n.id]!;
            const message = outcome.ok ? `removed ${outcome.value.join(', ') || 'nothing'}` : `stopped; not removed: ${outcome.error}`;
            this.board.set(n.id, 'Removed', message);
            this.events.emit('Deploying', outcome.ok ? message : `stopped, but could not remove: ${outcome.error}`, n.id);
          }
        }
      }
    });
    const skippedNote = this.skipped.size > 0 ? `; skipped ${[...this.skipped].join(', ')}` : '';
    const droppedNote = dropped.length > 0 ? `${rollout !== undefined ? '; ' : ''}${this.application} removed from ${someNodes(dropped, 20)}` : '';
    const healthyNote = rollout !== undefined ? `${this.application}:${rollout.application.version} healthy on ${deployed.length} node(s)` : '';
    const nothingNote = rollout === undefined && dropped.length === 0 ? `nothing to remove: ${this.application} has no container on any node of the inventory` : '';
    const state = stateAfter(this.request, this.plan, { deployed, ...(this.digest !== undefined ? { digest: this.digest } : {}), ...(this.where ? { where: this.where } : {}) }, this.history);
    const result = await this.finish(
      { deploymentId: this.deploymentId, status: 'Succeeded', ...(this.image !== undefined ? { image: this.image } : {}), nodes: this.board.outcomes(), ...(state !== undefined ? { state } : {}) },
      `${healthyNote}${skippedNote}${droppedNote}${nothingNote}`,
      retired,
    );
    await this.lock.release();
    return result;
  }

  /**
   * Retires older versions on the nodes, in groups per task queue. A node that refuses keeps
   * them (the next deployment's retire takes them), which the worker's log says: the
   * deployment has succeeded all the same.
   */
  private async retire(nodeIds: string[]): Promise<void> {
    await Promise.all(
      batchesOf(nodeIds, GROUP).map(async (ids) => {
        const nodes = await this.nodesOf(ids);
        await Promise.all(
          byQueue(nodes).map(async (group) => {
            const { retireNodes } = nodeCalls(queueOf(group[0]!), groupStep, `${someNodes(group.map((n) => n.id))}: retire older versions of ${this.application}`, this.siteWait);
            const outcomes = await retireNodes({ application: this.application, deploymentId: this.deploymentId, nodeIds: group.map((n) => n.id), deadline: Date.now() + COMPENSATION_DEADLINE_MS }).catch((err: unknown) =>
              this.refusedBySite(err, group),
            );
            for (const n of group) {
              const outcome = outcomes[n.id]!;
              if (!outcome.ok) log.warn('could not retire older versions', { node: n.id, reason: outcome.error });
            }
          }),
        );
      }),
    );
  }

  /**
   * A call past the point of no return (retire, remove) that no worker of the group's site
   * took up: each node reports the site's failure as its refusal, and the deployment still
   * succeeds (what stays behind goes with the next deployment's retire). Any other failure,
   * and a run recorded before PATCHES.siteUnreachable, fails as before.
   */
  private refusedBySite(err: unknown, group: PlannedNode[]): Record<string, { ok: false; error: string }> {
    const site = siteUnreachable(err, group[0]!, this.siteWait);
    if (site === undefined || !patched(PATCHES.siteUnreachable)) throw err;
    return Object.fromEntries(group.map((n) => [n.id, { ok: false, error: site.message }]));
  }

  /** Every registered undo, newest first, outside cancellation; then the outcome. Ends the workflow as Canceled or Failed. */
  private async compensate(err: unknown): Promise<never> {
    const cancelled = isCancellation(err) || CancellationScope.current().consideredCancelled;
    const reason = cancelled ? 'cancelled by an operator' : err instanceof NodesFailed ? err.message : rootMessage(err);
    this.phase('RollingBack', reason);
    const incomplete = await this.saga.compensate({ application: this.application, deploymentId: this.deploymentId }, this.board, this.events);
    const status = incomplete.length > 0 ? 'Failed' : cancelled ? 'Cancelled' : 'RolledBack';
    const message =
      status === 'Failed' ? `rollback incomplete on ${incomplete.join(', ')}; cause: ${reason}` : status === 'Cancelled' ? `cancelled; every node restored` : `rolled back: ${reason}`;
    // Replay-critical: see PATCHES.flushBeforeRelease.
    if (patched(PATCHES.flushBeforeRelease)) await this.events.flushed();
    const released = this.lock.release();
    const result = await CancellationScope.nonCancellable(() => this.finish({ deploymentId: this.deploymentId, status, reason, nodes: this.board.outcomes() }, message));
    await released;
    // Thrown as a cancellation, so that Temporal shows the workflow as Canceled.
    if (status === 'Cancelled') throw isCancellation(err) ? err : new CancelledFailure(message);
    throw ApplicationFailure.create({ type: status === 'Failed' ? ROLLBACK_INCOMPLETE : ROLLED_BACK, message, details: [result], nonRetryable: true });
  }

  /** The record first, so that whoever saw the terminal event finds the record too; then, once `settled`, the terminal event. */
  private async finish(result: DeploymentResult, message: string, settled: Promise<void> = Promise.resolve()): Promise<DeploymentResult> {
    const { version } = this.events.about;
    const record = deploymentRecord({
      deploymentId: this.deploymentId,
      kind: this.request.kind,
      application: this.application,
      ...(version !== undefined ? { version } : {}),
      status: result.status,
      ...(result.reason !== undefined ? { reason: result.reason } : {}),
      ...(result.image !== undefined ? { image: result.image } : {}),
      nodes: result.nodes,
      startedAt: workflowInfo().startTime.toISOString(),
      endedAt: new Date().toISOString(),
      runId: workflowInfo().runId,
    });
    const recorded = await CancellationScope.nonCancellable(() => recordDeployment(record));
    // The outcome is decided: a compensation of this run after a Terminate only announces it.
    if (patched(PATCHES.sagaInMemo)) upsertMemo({ [OUTCOME_MEMO]: recorded });
    await settled;
    this.phase(result.status, message);
    await this.events.flushed();
    // What a Retry's run starts its numbering from (it reads the histories of the runs before it too).
    upsertMemo({ [LAST_SEQ_MEMO]: this.events.lastSeq });
    return result;
  }

  private phase(p: Phase, message: string): void {
    // The start set DeployerStatus to Accepted; every other change is a visibility update worth making.
    if (p !== this.board.phase) upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.status, value: p }]);
    this.board.phase = p;
    this.events.emit(p, message);
  }

  /** The nodes of `ids`, from those resolved before the rollout when it knows them all. */
  private async nodesOf(ids: string[]): Promise<PlannedNode[]> {
    return ids.every((id) => this.resolved.has(id)) ? ids.map((id) => this.resolved.get(id)!) : resolveNodes({ nodeIds: ids });
  }

  /** Continues as new before a wave that would take this run's history past its budget. */
  private async continueAsNewIfFull(waveSize: number): Promise<void> {
    const { historyLength, continueAsNewSuggested } = workflowInfo();
    const relayed = waveSize > 1 && waveSize <= RELAY_MAX_NODES && patched(PATCHES.relayNodeEvents) ? EVENTS_PER_RELAYING_NODE * waveSize : 0;
    if (!continueAsNewSuggested && historyLength + EVENTS_PER_NODE * waveSize + relayed < HISTORY_BUDGET) return;
    await this.events.flushed();
    this.continuing = true;
    const carried: CarriedRollout = {
      ...(this.request.kind !== 'Deploy' ? { plan: this.plan } : {}),
      history: this.history,
      ...(this.where !== undefined ? { where: this.where } : {}),
      ...(this.digest !== undefined ? { digest: this.digest } : {}),
      ...(this.image !== undefined ? { image: this.image } : {}),
      queues: this.queues,
      nextBatch: this.nextBatch,
      nextWave: this.nextWave,
      skipped: [...this.skipped],
      saga: this.saga.carry(),
      board: this.board.carry(),
    };
    const next = { seqStart: this.events.lastSeq, lock: this.lock.carried, carried, ...(this.options.siteStartTimeoutMs !== undefined ? { siteStartTimeoutMs: this.options.siteStartTimeoutMs } : {}) };
    // The next run's memo starts with the saga so far: a Terminate of it before its first batch still finds every undo.
    if (patched(PATCHES.sagaInMemo)) await makeContinueAsNewFunc<(request: OperationRequest, options: OperationOptions) => Promise<DeploymentResult>>({ memo: this.saga.memo() })(this.request, next);
    await continueAsNew<(request: OperationRequest, options: OperationOptions) => Promise<DeploymentResult>>(this.request, next);
  }
}

/** Nodes grouped by the task queue that serves them, in their order. */
function byQueue(nodes: PlannedNode[]): PlannedNode[][] {
  const out = new Map<string, PlannedNode[]>();
  for (const n of nodes) {
    const list = out.get(n.taskQueue);
    if (list === undefined) out.set(n.taskQueue, [n]);
    else list.push(n);
  }
  return [...out.values()];
}
