// Frozen: the first workflow shape (v1), kept so that histories recorded with it replay and
// deployments started with it finish. New runs take the node seam (workflows/operation.ts);
// see workflows/patches.ts for when this goes.
//
// One deployment = one workflow, id = the request's deploymentId. Deploy, Rollback, Scale and
// Undeploy are one body (`runOperation`) under four workflow types: wait for the application's
// lock, plan (Rollback, Scale and Undeploy from the application's history), wait for the
// applications it depends on, build, push, then nodes in batches of `strategy.maxParallel`
// (each node a child workflow), then take the application off the nodes it leaves, then
// retire older versions. Saga: before a node is touched, its undo is registered; on a failure
// (or a cancel) the undos run newest-first outside cancellation, an undo that fails is
// reported and the others still run, and the deployment ends RolledBack, Cancelled, or Failed
// when some node could not be restored, with the outcome of every node. With
// `onFailure: pause` a failed batch waits for an operator's decision instead.
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BuildActivities } from '../../activities/control/build';
import type { DependencyActivities } from '../../activities/control/dependencies';
import type { DockerActivities } from '../../activities/targets/docker-engine/legacy-v1';
import type { HistoryActivities } from '../../activities/control/history';
import type { InventoryActivities } from '../../activities/control/inventory';
import type { LockActivities } from '../../activities/control/lock';
import type { RecordActivities } from '../../activities/control/records';
import { planOperation, stateAfter } from '../../src/core/operation-plan';
import { batchesOf, nodeImage, type PlannedNode } from '../../src/core/plan';
import type { Phase } from '../../src/core/schemas/event';
import { deploymentRecord } from '../../src/core/deployment-record';
import type { DeployRequest, OperationRequest, RollbackRequest, ScaleRequest, UndeployRequest } from '../../src/core/schemas/request';
import { SEARCH_ATTRIBUTES } from '../../src/core/search-attributes';
import { lockWorkflowId } from '../../src/core/workflow-ids';
import {
  decideUpdate,
  DECISIONS,
  lockGrantedSignal,
  nodeProgressSignal,
  ROLLBACK_INCOMPLETE,
  ROLLED_BACK,
  type DeploymentResult,
  type DeployOptions,
  type NodeOutcome,
  progressQuery,
  releaseLockSignal,
  type Decision,
  type DeploymentProgress,
  type NodeState,
} from '../definitions';
import { deployNodeWorkflow } from './deploy-node';
import { progressDetails } from './details';
import { EventLog } from './event-log';
import { compensation, dependencyWait, engineCall, publishing, transfer } from './options';

// Summaries are what the Temporal UI lists for each activity; node steps name their node.
const { resolveNodes } = proxyActivities<InventoryActivities>({ ...engineCall, summary: 'resolve the nodes in the inventory' });
const { enqueueForLock } = proxyActivities<LockActivities>({ ...engineCall, summary: "queue for the application's lock" });
const { buildImage } = proxyActivities<BuildActivities>({ ...transfer, summary: 'build the image on the build host' });
const { pushImage } = proxyActivities<BuildActivities>({ ...transfer, summary: 'push the image to the registry' });
const { applicationHistory } = proxyActivities<HistoryActivities>({ ...engineCall, summary: "read the application's history" });
const { waitForDependencies } = proxyActivities<DependencyActivities>({ ...dependencyWait, summary: 'wait for the applications it depends on' });
const { whereabouts } = proxyActivities<DockerActivities>({ ...engineCall, summary: "find the application's containers on every node" });
const { recordDeployment } = proxyActivities<RecordActivities>({ ...publishing, summary: 'write the deployment record' });

/**
 * What actually went wrong: the first application failure in the chain (a named Deployer
 * error raised by an activity), not the child-workflow and activity wrappers around it.
 */
function rootMessage(err: unknown): string {
  for (let e = err; e instanceof Error; e = e.cause) {
    if (e instanceof ApplicationFailure) return e.message;
    if (!(e.cause instanceof Error)) return e.message;
  }
  return String(err);
}

/** Thrown inside the workflow when nodes failed and the deployment is to be rolled back. */
class NodesFailed extends Error {
  constructor(readonly reasons: Record<string, string>, prefix = '') {
    super(prefix + Object.entries(reasons).map(([node, reason]) => `${node}: ${reason}`).join('; '));
  }
}

export async function deployWorkflow(request: DeployRequest, options: DeployOptions = {}): Promise<DeploymentResult> {
  return runOperation(request, options);
}

/** Rolls the application back to `toVersion`, or to the version that was healthy before the current one, on the nodes it runs on. */
export async function rollbackWorkflow(request: RollbackRequest, options: DeployOptions = {}): Promise<DeploymentResult> {
  return runOperation(request, options);
}

/** Runs the current version on exactly `nodes` with `replicasPerNode`: rolled out there, taken off the other nodes. */
export async function scaleWorkflow(request: ScaleRequest, options: DeployOptions = {}): Promise<DeploymentResult> {
  return runOperation(request, options);
}

/** Takes the application off `nodes` (default: every node it runs on). */
export async function undeployWorkflow(request: UndeployRequest, options: DeployOptions = {}): Promise<DeploymentResult> {
  return runOperation(request, options);
}

const applicationOf = (request: OperationRequest) => (request.kind === 'Deploy' ? request.application.name : request.application);

function acceptedMessage(request: OperationRequest): string {
  switch (request.kind) {
    case 'Deploy':
      return `deploying ${request.application.name}:${request.application.version} to ${request.nodes.length} node(s)`;
    case 'Rollback':
      return `rolling ${request.application} back to ${request.toVersion ?? 'the version before the current one'}`;
    case 'Scale':
      return `scaling ${request.application} to ${request.nodes.join(', ')} with ${request.replicasPerNode} replica(s) per node`;
    case 'Undeploy':
      return `undeploying ${request.application} from ${request.nodes?.join(', ') ?? 'every node it runs on'}`;
  }
}

async function runOperation(request: OperationRequest, options: DeployOptions): Promise<DeploymentResult> {
  const { deploymentId } = request;
  const application = { name: applicationOf(request) };
  const me = { workflowId: workflowInfo().workflowId, runId: workflowInfo().runId };
  const events = new EventLog(
    { deploymentId, application: application.name, ...(request.kind === 'Deploy' ? { version: request.application.version } : {}) },
    options.seqStart ?? 0,
  );
  const progress: DeploymentProgress = {
    phase: 'Accepted',
    nodes: Object.fromEntries((request.kind === 'Deploy' ? request.nodes : []).map((n) => [n, { state: 'Pending' as NodeState, message: 'waiting' }])),
  };
  const phase = (p: Phase, message: string) => {
    progress.phase = p;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.status, value: p }]);
    events.emit(p, message);
  };
  // Every change of a node's state redraws the per-node table the UI shows as current details.
  const nodeState = (node: string, state: NodeState, message: string) => {
    progress.nodes[node] = { state, message };
    setCurrentDetails(progressDetails(progress));
  };
  let granted = false;
  let paused: string[] | undefined;
  let decision: Decision | undefined;
  setHandler(progressQuery, () => progress);
  setHandler(lockGrantedSignal, () => void (granted = true));
  setHandler(nodeProgressSignal, ({ node, phase: p, message }) => {
    nodeState(node, 'Deploying', message);
    events.emit(p, message, node);
  });
  setHandler(
    decideUpdate,
    (d) => {
      decision = d;
      return { accepted: d, failedNodes: paused ?? [] };
    },
    {
      validator: (d) => {
        if (!DECISIONS.includes(d)) throw new Error(`unknown decision '${d}': one of ${DECISIONS.join(', ')}`);
        if (paused === undefined || decision !== undefined) throw new Error(`deployment ${deploymentId} is not paused`);
      },
    },
  );

  phase('Accepted', acceptedMessage(request));
  /** Undos, in the order they were registered; `restoring` names the nodes whose rollout undo is among them. */
  const undo: { node: string; run: () => Promise<boolean> }[] = [];
  const restoring = new Set<string>();
  let image: string | undefined;
  let digest: string | undefined;
  try {
    await enqueueForLock({ application: application.name, requester: me });
    if (!(await condition(() => granted, '1s'))) {
      events.emit('Accepted', `waiting for the deployment of ${application.name} ahead of this one`);
      await condition(() => granted);
    }

    // A Deploy says everything itself; the other kinds start from what the application runs now.
    const history =
      request.kind === 'Deploy'
        ? []
        : await applicationHistory({ application: application.name, self: me, ...(request.kind === 'Rollback' ? { rollback: { toVersion: request.toVersion } } : {}) });
    const where = request.kind === 'Deploy' ? undefined : await whereabouts({ application: application.name });
    const plan = planOperation(request, history, where);
    const rollout = plan.rollout?.request;
    if (request.kind !== 'Deploy') {
      events.about.version = plan.version;
      for (const n of [...(rollout?.nodes ?? []), ...plan.drop]) nodeState(n, 'Pending', 'waiting');
      upsertSearchAttributes([
        ...(plan.version !== undefined ? [{ key: SEARCH_ATTRIBUTES.version, value: plan.version }] : []),
        { key: SEARCH_ATTRIBUTES.nodes, value: [...(rollout?.nodes ?? []), ...plan.drop] },
      ]);
      events.emit('Accepted', describePlan(application.name, plan.version, rollout?.nodes ?? [], plan.drop));
    }
    digest = plan.rollout?.digest;

    // The inventory may have changed since the request was accepted: its node policy is checked again here.
    const nodes = rollout !== undefined ? await resolveNodes({ nodeIds: rollout.nodes, container: rollout.container }) : [];
    if (rollout !== undefined && rollout.dependsOn.length > 0) {
      events.emit('Accepted', `waiting up to ${rollout.strategy.dependencyTimeoutMs} ms for ${rollout.dependsOn.join(', ')} to run healthy on ${rollout.nodes.join(', ')}`);
      const timeoutMs = rollout.strategy.dependencyTimeoutMs;
      await waitForDependencies({ dependencies: rollout.dependsOn, nodeIds: rollout.nodes, deadline: Date.now() + timeoutMs, timeoutMs });
    }
    if (rollout?.application.source !== undefined && digest === undefined) {
      const { source, name, version } = rollout.application;
      phase('Building', `building from ${source.context}`);
      const { tag } = await buildImage({ application: name, version, source });
      phase('Pushing', `pushing ${tag}`);
      ({ digest } = await pushImage({ tag }));
      events.emit('Pushing', `pushed ${tag} as ${digest}`);
    }
    const skipped = new Set<string>();
    if (rollout !== undefined) phase('Deploying', `rolling out to ${nodes.length} node(s), ${rollout.strategy.maxParallel} at a time`);
    for (const batch of rollout !== undefined ? batchesOf(nodes, rollout.strategy.maxParallel) : []) {
      let pending = batch;
      for (let attempt = 0; pending.length > 0; attempt++) {
        const failed = await deployBatch(rollout!, pending, attempt);
        if (Object.keys(failed).length === 0) break;
        if (rollout!.strategy.onFailure !== 'pause') throw new NodesFailed(failed);

        paused = Object.keys(failed);
        decision = undefined;
        phase('Paused', `failed on ${Object.entries(failed).map(([n, r]) => `${n}: ${r}`).join('; ')}; waiting for a decision (retry, skip or rollback) for up to ${rollout!.strategy.pauseTimeoutMs} ms`);
        const decided = await condition(() => decision !== undefined, rollout!.strategy.pauseTimeoutMs);
        const chosen = decision ?? 'rollback';
        paused = undefined;
        if (chosen === 'rollback') throw new NodesFailed(failed, decided ? 'operator chose rollback after ' : 'no decision before the pause timed out after ');
        // The failed nodes go back to what they ran before either way.
        const failedNodes = pending.filter((n) => failed[n.id] !== undefined);
        for (const node of [...failedNodes].reverse()) await restore(node, events, nodeState);
        phase('Deploying', `operator chose ${chosen} for ${failedNodes.map((n) => n.id).join(', ')}`);
        if (chosen === 'skip') {
          for (const n of failedNodes) {
            skipped.add(n.id);
            nodeState(n.id, 'Skipped', `skipped by operator after: ${failed[n.id]}`);
          }
          break;
        }
        pending = failedNodes;
      }
      image ??= nodeImage(rollout!, batch[0]!, digest);
    }
    const deployed = nodes.filter((n) => !skipped.has(n.id));
    const dropped = plan.drop.length > 0 ? await resolveNodes({ nodeIds: plan.drop }) : [];
    for (const node of dropped) await takeOff(node);
    await Promise.all(
      deployed.map((node) =>
        proxyActivities<DockerActivities>({ ...engineCall, taskQueue: node.taskQueue, summary: `${node.id}: retire older versions of ${application.name}` }).retireOlder({
          nodeId: node.id,
          application: application.name,
          deploymentId,
        }),
      ),
    );
    // The point of no return: the operation has succeeded, so what it stopped goes for good,
    // even if a cancel arrives now. An engine that refuses leaves the containers stopped
    // (restart policy "no"), which is said, not undone.
    await CancellationScope.nonCancellable(async () => {
      for (const node of dropped) {
        try {
          const removed = await proxyActivities<DockerActivities>({ ...compensation, taskQueue: node.taskQueue, summary: `${node.id}: remove ${application.name}` }).removeApplication({
            nodeId: node.id,
            application: application.name,
          });
          nodeState(node.id, 'Removed', `removed ${removed.join(', ') || 'nothing'}`);
          events.emit('Deploying', `removed ${removed.join(', ') || 'nothing'}`, node.id);
        } catch (err) {
          nodeState(node.id, 'Removed', `stopped; not removed: ${rootMessage(err)}`);
          events.emit('Deploying', `stopped, but could not remove: ${rootMessage(err)}`, node.id);
        }
      }
    });
    const skippedNote = skipped.size > 0 ? `; skipped ${[...skipped].join(', ')}` : '';
    const droppedNote = dropped.length > 0 ? `${rollout !== undefined ? '; ' : ''}${application.name} removed from ${dropped.map((n) => n.id).join(', ')}` : '';
    const healthyNote = rollout !== undefined ? `${application.name}:${rollout.application.version} healthy on ${deployed.length} node(s)` : '';
    const state = stateAfter(request, plan, { deployed: deployed.map((n) => n.id), ...(digest !== undefined ? { digest } : {}), ...(where ? { where } : {}) }, history);
    return await finish(
      { deploymentId, status: 'Succeeded', image, nodes: outcomes(progress), ...(state !== undefined ? { state } : {}) },
      `${healthyNote}${skippedNote}${droppedNote}`,
    );
  } catch (err) {
    const cancelled = isCancellation(err) || CancellationScope.current().consideredCancelled;
    const reason = cancelled ? 'cancelled by an operator' : err instanceof NodesFailed ? err.message : rootMessage(err);
    phase('RollingBack', reason);
    const incomplete = await CancellationScope.nonCancellable(async () => {
      const failedUndo: string[] = [];
      for (const step of [...undo].reverse()) if (!(await step.run())) failedUndo.push(step.node);
      return failedUndo;
    });
    const status = incomplete.length > 0 ? 'Failed' : cancelled ? 'Cancelled' : 'RolledBack';
    const message =
      status === 'Failed' ? `rollback incomplete on ${incomplete.join(', ')}; cause: ${reason}` : status === 'Cancelled' ? `cancelled; every node restored` : `rolled back: ${reason}`;
    const result = await CancellationScope.nonCancellable(() => finish({ deploymentId, status, reason, nodes: outcomes(progress) }, message));
    // Thrown as a cancellation, so that Temporal shows the workflow as Canceled.
    if (status === 'Cancelled') throw isCancellation(err) ? err : new CancelledFailure(message);
    throw ApplicationFailure.create({
      type: status === 'Failed' ? ROLLBACK_INCOMPLETE : ROLLED_BACK,
      message,
      details: [result],
      nonRetryable: true,
    });
  } finally {
    await CancellationScope.nonCancellable(() =>
      getExternalWorkflowHandle(lockWorkflowId(application.name))
        .signal(releaseLockSignal, me)
        // The lock workflow may have ended (idle, or never reached); then there is nothing to release.
        .catch(() => undefined),
    );
  }

  async function deployBatch(rollout: DeployRequest, batch: PlannedNode[], attempt: number): Promise<Record<string, string>> {
    const { name, version } = rollout.application;
    const settled = await Promise.allSettled(
      batch.map((node) => {
        // Registered before the node is touched: the child may change the node and fail to say so.
        if (!restoring.has(node.id)) {
          restoring.add(node.id);
          undo.push({ node: node.id, run: () => restore(node, events, nodeState) });
        }
        nodeState(node.id, 'Deploying', attempt === 0 ? 'starting' : `retry ${attempt}`);
        const image = nodeImage(rollout, node, digest);
        const child = executeChild(deployNodeWorkflow, {
          workflowId: attempt === 0 ? `${deploymentId}/${node.id}` : `${deploymentId}/${node.id}/retry-${attempt}`,
          args: [{ request: rollout, node, image }],
          staticSummary: `${node.id}: deploy ${name}:${version}${attempt === 0 ? '' : ` (retry ${attempt})`}`,
          staticDetails: `Node **${node.id}** of deployment \`${deploymentId}\`: ${name}:${version} from \`${image}\``,
        });
        // Healthy as soon as its own child ends, not when the slowest node of the batch does.
        // Beside the batch, not in its way: one more promise hop would reorder commands.
        child.then(
          (result) => nodeState(node.id, 'Healthy', `running ${result.containers.join(', ')}`),
          () => undefined,
        );
        return child;
      }),
    );
    const failed: Record<string, string> = {};
    settled.forEach((s, i) => {
      const node = batch[i]!.id;
      if (s.status === 'fulfilled') nodeState(node, 'Healthy', `running ${s.value.containers.join(', ')}`);
      else if (isCancellation(s.reason)) throw s.reason;
      else {
        failed[node] = rootMessage(s.reason);
        nodeState(node, 'Failed', failed[node]);
        events.emit(rollout.strategy.onFailure === 'pause' ? 'Paused' : 'RollingBack', `failed: ${failed[node]}`, node);
      }
    });
    return failed;
  }

  /**
   * Stops the application on a node it leaves. What ran is read first and its restart is
   * registered as the undo before anything stops; the containers are removed only once the
   * whole operation has succeeded.
   */
  async function takeOff(node: PlannedNode): Promise<void> {
    const engine = proxyActivities<DockerActivities>({ ...engineCall, taskQueue: node.taskQueue, summary: `${node.id}: take ${application.name} off` });
    const running = (await engine.listApplicationContainers({ nodeId: node.id, application: application.name })).filter((c) => c.running).map((c) => c.name);
    undo.push({ node: node.id, run: () => restart(node, running, events, nodeState) });
    nodeState(node.id, 'Deploying', `stopping ${running.join(', ') || 'nothing (not running)'}`);
    await engine.stopContainers({ nodeId: node.id, names: running });
    events.emit('Deploying', `stopped ${running.join(', ') || 'nothing (not running)'}`, node.id);
  }

  async function finish(result: DeploymentResult, message: string): Promise<DeploymentResult> {
    // Histories recorded before deployment records existed replay without the record. It is
    // written before the terminal event, so whoever saw that event finds the record too.
    if (patched('deployment-records')) {
      const { version } = events.about;
      const record = deploymentRecord({
        deploymentId,
        kind: request.kind,
        application: application.name,
        ...(version !== undefined ? { version } : {}),
        status: result.status,
        ...(result.reason !== undefined ? { reason: result.reason } : {}),
        ...(result.image !== undefined ? { image: result.image } : {}),
        nodes: result.nodes,
        startedAt: workflowInfo().runStartTime.toISOString(),
        endedAt: new Date().toISOString(),
        runId: me.runId,
      });
      await CancellationScope.nonCancellable(() => recordDeployment(record));
    }
    phase(result.status, message);
    await events.flushed();
    // A Retry of this deployment continues the event numbering from here.
    upsertMemo({ lastSeq: events.lastSeq });
    return result;
  }
}

/** The undo of one node; true when the node is back as it was. */
async function restore(node: PlannedNode, events: EventLog, nodeState: (node: string, state: NodeState, message: string) => void): Promise<boolean> {
  const { restoreNode } = proxyActivities<DockerActivities>({ ...compensation, taskQueue: node.taskQueue, summary: `${node.id}: restore ${events.about.application}` });
  const { application, deploymentId } = events.about;
  try {
    const { removed, restarted } = await restoreNode({ nodeId: node.id, application, deploymentId });
    const message = `removed ${removed.length ? removed.join(', ') : 'nothing'}; restarted ${restarted.length ? restarted.join(', ') : 'nothing'}`;
    nodeState(node.id, 'RolledBack', message);
    events.emit('RollingBack', message, node.id);
    return true;
  } catch (err) {
    nodeState(node.id, 'RestoreFailed', rootMessage(err));
    events.emit('RollingBack', `could not restore: ${rootMessage(err)}`, node.id);
    return false;
  }
}

/** The undo of taking an application off a node: start again what ran there. */
async function restart(node: PlannedNode, names: string[], events: EventLog, nodeState: (node: string, state: NodeState, message: string) => void): Promise<boolean> {
  const { startContainers } = proxyActivities<DockerActivities>({ ...compensation, taskQueue: node.taskQueue, summary: `${node.id}: restart ${names.join(', ') || 'nothing'}` });
  try {
    const { started, missing } = await startContainers({ nodeId: node.id, names });
    if (missing.length > 0) {
      nodeState(node.id, 'RestoreFailed', `gone: ${missing.join(', ')}`);
      events.emit('RollingBack', `could not restart ${missing.join(', ')}: the containers are gone`, node.id);
      return false;
    }
    const message = `restarted ${started.length ? started.join(', ') : 'nothing'}`;
    nodeState(node.id, 'RolledBack', message);
    events.emit('RollingBack', message, node.id);
    return true;
  } catch (err) {
    nodeState(node.id, 'RestoreFailed', rootMessage(err));
    events.emit('RollingBack', `could not restart: ${rootMessage(err)}`, node.id);
    return false;
  }
}

function describePlan(application: string, version: string | undefined, rollout: string[], drop: string[]): string {
  const parts = [];
  if (rollout.length > 0) parts.push(`${application}:${version} to ${rollout.join(', ')}`);
  if (drop.length > 0) parts.push(`off ${drop.join(', ')}`);
  return `plan: ${parts.join('; ')}`;
}

function outcomes(progress: DeploymentProgress): Record<string, NodeOutcome> {
  return Object.fromEntries(Object.entries(progress.nodes).map(([node, { state, message }]) => [node, { state, reason: message }]));
}
