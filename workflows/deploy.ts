// One deployment = one workflow, id = the request's deploymentId. Plan, build, push, then
// nodes in batches of `strategy.maxParallel` (each node a child workflow), then retire
// older versions. Saga: before a node is touched, its undo is registered; on any failure
// the undos run newest-first outside cancellation, and the deployment ends RolledBack
// (every undo done) or Failed (some node could not be restored), with a reason per node.
import {
  ApplicationFailure,
  CancellationScope,
  executeChild,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { BuildActivities } from '../activities/build';
import type { DockerActivities } from '../activities/docker';
import type { InventoryActivities } from '../activities/inventory';
import { batchesOf, nodeImage, type PlannedNode } from '../src/plan';
import type { Phase } from '../src/schemas/event';
import type { DeployRequest } from '../src/schemas/request';
import { SEARCH_ATTRIBUTES } from '../src/search-attributes';
import { nodeProgressSignal, progressQuery, type DeploymentProgress, type NodeState } from './definitions';
import { deployNodeWorkflow } from './deploy-node';
import { EventLog } from './event-log';
import { compensation, engineCall, transfer } from './options';

export interface NodeOutcome {
  state: NodeState;
  reason?: string;
}

export interface DeploymentResult {
  deploymentId: string;
  status: 'Succeeded' | 'RolledBack' | 'Failed';
  reason?: string;
  image?: string;
  nodes: Record<string, NodeOutcome>;
}

/** Failure type of a deployment that was rolled back; its details carry the DeploymentResult. */
export const ROLLED_BACK = 'DeploymentRolledBack';
/** Failure type of a deployment whose rollback could not restore every node. */
export const ROLLBACK_INCOMPLETE = 'DeploymentRollbackIncomplete';

const { resolveNodes } = proxyActivities<InventoryActivities>(engineCall);
const { buildImage, pushImage } = proxyActivities<BuildActivities>(transfer);

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

/** Thrown inside the workflow when nodes of a batch failed; carries the failed nodes' reasons. */
class NodesFailed extends Error {
  constructor(readonly reasons: Record<string, string>) {
    super(Object.entries(reasons).map(([node, reason]) => `${node}: ${reason}`).join('; '));
  }
}

export async function deployWorkflow(request: DeployRequest): Promise<DeploymentResult> {
  const { deploymentId, application } = request;
  const events = new EventLog({ deploymentId, application: application.name, version: application.version });
  const progress: DeploymentProgress = {
    phase: 'Accepted',
    nodes: Object.fromEntries(request.nodes.map((n) => [n, { state: 'Pending' as NodeState, message: 'waiting' }])),
  };
  const phase = (p: Phase, message: string) => {
    progress.phase = p;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.status, value: p }]);
    events.emit(p, message);
  };
  const nodeState = (node: string, state: NodeState, message: string) => {
    progress.nodes[node] = { state, message };
  };
  setHandler(progressQuery, () => progress);
  setHandler(nodeProgressSignal, ({ node, phase: p, message }) => {
    nodeState(node, 'Deploying', message);
    events.emit(p, message, node);
  });

  phase('Accepted', `deploying ${application.name}:${application.version} to ${request.nodes.length} node(s)`);
  const undo: { node: PlannedNode }[] = [];
  let image: string | undefined;
  try {
    const nodes = await resolveNodes({ nodeIds: request.nodes });
    let digest: string | undefined;
    if (application.source !== undefined) {
      phase('Building', `building from ${application.source.context}`);
      const { tag } = await buildImage({ application: application.name, version: application.version, source: application.source });
      phase('Pushing', `pushing ${tag}`);
      ({ digest } = await pushImage({ tag }));
      events.emit('Pushing', `pushed ${tag} as ${digest}`);
    }
    phase('Deploying', `rolling out to ${nodes.length} node(s), ${request.strategy.maxParallel} at a time`);
    for (const batch of batchesOf(nodes, request.strategy.maxParallel)) {
      const settled = await Promise.allSettled(
        batch.map((node) => {
          // Registered before the node is touched: the child may change the node and fail to say so.
          undo.push({ node });
          return executeChild(deployNodeWorkflow, {
            workflowId: `${deploymentId}/${node.id}`,
            args: [{ request, node, image: nodeImage(request, node, digest) }],
          });
        }),
      );
      const failed: Record<string, string> = {};
      settled.forEach((s, i) => {
        const node = batch[i]!.id;
        if (s.status === 'fulfilled') nodeState(node, 'Healthy', `running ${s.value.containers.join(', ')}`);
        else {
          failed[node] = rootMessage(s.reason);
          nodeState(node, 'Failed', failed[node]);
          events.emit('RollingBack', `failed: ${failed[node]}`, node);
        }
      });
      if (Object.keys(failed).length > 0) throw new NodesFailed(failed);
      image ??= nodeImage(request, batch[0]!, digest);
    }
    await Promise.all(
      nodes.map((node) =>
        proxyActivities<DockerActivities>({ ...engineCall, taskQueue: node.taskQueue }).retireOlder({
          nodeId: node.id,
          application: application.name,
          deploymentId,
        }),
      ),
    );
    phase('Succeeded', `${application.name}:${application.version} healthy on ${nodes.length} node(s)`);
    await events.flushed();
    return { deploymentId, status: 'Succeeded', image, nodes: outcomes(progress) };
  } catch (err) {
    const reason = err instanceof NodesFailed ? err.message : rootMessage(err);
    phase('RollingBack', reason);
    const incomplete = await CancellationScope.nonCancellable(() => rollBack(deploymentId, application.name, undo, events, nodeState));
    const result: DeploymentResult = {
      deploymentId,
      status: incomplete.length === 0 ? 'RolledBack' : 'Failed',
      reason,
      nodes: outcomes(progress),
    };
    phase(
      result.status,
      incomplete.length === 0 ? `rolled back: ${reason}` : `rollback incomplete on ${incomplete.join(', ')}; cause: ${reason}`,
    );
    await events.flushed();
    throw ApplicationFailure.create({
      type: incomplete.length === 0 ? ROLLED_BACK : ROLLBACK_INCOMPLETE,
      message: result.status === 'RolledBack' ? `rolled back: ${reason}` : `rollback incomplete: ${reason}`,
      details: [result],
      nonRetryable: true,
    });
  }
}

/** Runs the undos newest-first; an undo that fails is reported and the others still run. Returns the nodes it could not restore. */
async function rollBack(
  deploymentId: string,
  application: string,
  undo: { node: PlannedNode }[],
  events: EventLog,
  nodeState: (node: string, state: NodeState, message: string) => void,
): Promise<string[]> {
  const incomplete: string[] = [];
  for (const { node } of [...undo].reverse()) {
    const { restoreNode } = proxyActivities<DockerActivities>({ ...compensation, taskQueue: node.taskQueue });
    try {
      const { removed, restarted } = await restoreNode({ nodeId: node.id, application, deploymentId });
      const message = `removed ${removed.length ? removed.join(', ') : 'nothing'}; restarted ${restarted.length ? restarted.join(', ') : 'nothing'}`;
      nodeState(node.id, 'RolledBack', message);
      events.emit('RollingBack', message, node.id);
    } catch (err) {
      incomplete.push(node.id);
      nodeState(node.id, 'RestoreFailed', rootMessage(err));
      events.emit('RollingBack', `could not restore: ${rootMessage(err)}`, node.id);
    }
  }
  return incomplete;
}

function outcomes(progress: DeploymentProgress): Record<string, NodeOutcome> {
  return Object.fromEntries(Object.entries(progress.nodes).map(([node, { state, message }]) => [node, { state, reason: message }]));
}
