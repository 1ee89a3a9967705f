// Where one deployment stands, read from Temporal: its description, its live `progress`
// query while it runs, and its result (or the DeploymentResult its failure carries) once it
// has ended. Undefined when Temporal no longer knows it (past retention): the caller falls
// back to the deployment's record.
import { WorkflowFailedError, WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { DeploymentResult } from '../../workflows/definitions';
import type { CompensationResult } from '../../workflows/compensation';
import { compensationWorkflowId } from '../core/workflow-ids';
import { nodeStepQuery, progressQuery, type DeploymentProgress, type NodeStepNow } from '../../workflows/definitions';
import type { LivePhase } from '../core/live-events';
import type { Phase } from '../core/schemas/event';
import type { DeploymentRecord } from '../core/schemas/record';
import { SEARCH_ATTRIBUTES } from '../core/search-attributes';
import { kindOfWorkflowType } from '../core/operation-kinds';
import type { CheckResult } from '../core/deployment-tests';

/** What describing a deployment needs of a Temporal connection (the CLI's and the API's). */
export interface TemporalAccess {
  client: Client;
  /** Runs a call that would otherwise wait for a worker without end (a query), up to a deadline. */
  withDeadline<T>(ms: number, fn: () => Promise<T>): Promise<T>;
}

/** A deployment as `status` shows it: live from Temporal, or from its record once Temporal has forgotten it. */
export interface DeploymentView {
  deploymentId: string;
  kind?: string;
  application?: string;
  version?: string;
  /** `Running` until the deployment ends; then its outcome (or how Temporal closed it). */
  status: string;
  /** The deployment's current phase while it runs. */
  phase?: Phase;
  reason?: string;
  image?: string;
  nodes: Record<string, { state: string; message?: string; checks?: CheckResult[]; phase?: LivePhase }>;
  startedAt?: string;
  endedAt?: string;
  runId?: string;
  source: 'temporal' | 'record';
}

/** A query is answered by a worker replaying the workflow; without one it would wait for good. */
const QUERY_DEADLINE_MS = 5_000;


/** Node workflows asked what they are doing, at most: a wide deployment's table shows the others as the deployment knows them. */
const LIVE_NODES = 20;

/**
 * What the running node workflows of a deployment are doing now (the phase of the step that
 * runs), by node: the deployment itself learns a node's steps only once its workflow ends.
 */
async function liveSteps(temporal: TemporalAccess, description: WorkflowExecutionDescription): Promise<Map<string, NodeStepNow>> {
  const children = (description.raw.pendingChildren ?? []).slice(0, LIVE_NODES);
  const steps = await Promise.all(
    children.map((c) => temporal.withDeadline(QUERY_DEADLINE_MS, () => temporal.client.workflow.getHandle(c.workflowId ?? '', c.runId ?? undefined).query(nodeStepQuery)).catch(() => undefined)),
  );
  return new Map(steps.filter((s): s is NodeStepNow => s != null).map((s) => [s.node, s]));
}

/** Temporal's name for how a closed workflow ended, where the workflow gave no outcome of its own. */
const CLOSED: Record<string, string> = { CANCELLED: 'Cancelled', TERMINATED: 'Terminated', TIMED_OUT: 'TimedOut', CONTINUED_AS_NEW: 'ContinuedAsNew' };

/**
 * How a deployment whose run an operator terminated ended: what its compensation
 * (workflows/compensation.ts) announced and recorded; `RollingBack` while it restores the
 * nodes; Temporal's `Terminated` when none ran.
 */
export async function terminatedEnd(client: Client, deploymentId: string, runId: string): Promise<{ status: string; reason?: string }> {
  const handle = client.workflow.getHandle(compensationWorkflowId(deploymentId, runId));
  try {
    const { status } = await handle.describe();
    if (status.name === 'RUNNING') return { status: 'RollingBack' };
    if (status.name === 'COMPLETED') {
      const { ended } = (await handle.result()) as CompensationResult;
      if (ended !== undefined) return ended;
    }
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  return { status: 'Terminated' };
}

export function viewOfRecord(r: DeploymentRecord): DeploymentView {
  return {
    deploymentId: r.deploymentId,
    kind: r.kind,
    application: r.application,
    ...(r.version !== undefined ? { version: r.version } : {}),
    status: r.status,
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
    ...(r.image !== undefined ? { image: r.image } : {}),
    nodes: Object.fromEntries(Object.entries(r.nodes).map(([node, n]) => [node, { state: n.state, ...(n.reason !== undefined ? { message: n.reason } : {}), ...(n.checks !== undefined ? { checks: n.checks } : {}) }])),
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    runId: r.runId,
    source: 'record',
  };
}

function nodesOf(result: Pick<DeploymentResult, 'nodes'>): DeploymentView['nodes'] {
  return Object.fromEntries(Object.entries(result.nodes).map(([node, n]) => [node, { state: n.state, ...(n.reason !== undefined ? { message: n.reason } : {}), ...(n.checks !== undefined ? { checks: n.checks } : {}) }]));
}

export async function describeDeployment(temporal: TemporalAccess, deploymentId: string): Promise<DeploymentView | undefined> {
  const handle = temporal.client.workflow.getHandle(deploymentId);
  let description: WorkflowExecutionDescription;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
  const attributes = description.typedSearchAttributes;
  const version = attributes.get(SEARCH_ATTRIBUTES.version);
  const base = {
    deploymentId,
    kind: kindOfWorkflowType(description.type) ?? description.type,
    ...(attributes.get(SEARCH_ATTRIBUTES.application) !== undefined ? { application: attributes.get(SEARCH_ATTRIBUTES.application)! } : {}),
    ...(version !== undefined ? { version } : {}),
    startedAt: description.startTime.toISOString(),
    ...(description.closeTime !== undefined ? { endedAt: description.closeTime.toISOString() } : {}),
    runId: description.runId,
    source: 'temporal' as const,
  };
  const progress = () => temporal.withDeadline(QUERY_DEADLINE_MS, () => handle.query(progressQuery)).catch(() => undefined);
  const nodesFrom = (p: DeploymentProgress | undefined) =>
    Object.fromEntries(Object.entries(p?.nodes ?? {}).map(([node, n]) => [node, { state: n.state, message: n.message, ...(n.phase !== undefined ? { phase: n.phase } : {}), ...(n.checks !== undefined ? { checks: n.checks } : {}) }]));

  switch (description.status.name) {
    case 'RUNNING': {
      // Before the first workflow task the query has no answer yet; the search attribute already has the phase.
      const [p, live] = await Promise.all([progress(), liveSteps(temporal, description)]);
      const phase = p?.phase ?? (attributes.get(SEARCH_ATTRIBUTES.status) as Phase | undefined);
      const nodes: DeploymentView['nodes'] = nodesFrom(p);
      for (const [node, now] of live) if (nodes[node] !== undefined) nodes[node] = { ...nodes[node], phase: now.phase, message: now.step };
      return { ...base, status: 'Running', ...(phase !== undefined ? { phase } : {}), nodes };
    }
    case 'COMPLETED': {
      const result = (await handle.result()) as DeploymentResult;
      return { ...base, status: result.status, ...(result.image !== undefined ? { image: result.image } : {}), nodes: nodesOf(result) };
    }
    case 'FAILED': {
      const failure = await handle.result().then(
        () => undefined,
        (err: unknown) => (err instanceof WorkflowFailedError ? err.cause : err),
      );
      const result = failure instanceof ApplicationFailure ? (failure.details?.[0] as DeploymentResult | undefined) : undefined;
      if (result?.nodes !== undefined) return { ...base, status: result.status, ...(result.reason !== undefined ? { reason: result.reason } : {}), nodes: nodesOf(result) };
      return { ...base, status: 'Failed', reason: (failure as Error | undefined)?.message ?? 'failed', nodes: nodesFrom(await progress()) };
    }
    case 'TERMINATED': {
      const end = await terminatedEnd(temporal.client, deploymentId, description.runId);
      const p = await progress();
      // Still being compensated, the deployment has not ended yet.
      if (end.status === 'RollingBack') return { ...base, endedAt: undefined, status: 'Running', phase: 'RollingBack', nodes: nodesFrom(p) };
      return { ...base, status: end.status, ...(end.reason !== undefined ? { reason: end.reason } : {}), nodes: nodesFrom(p) };
    }
    default: {
      // A cancelled deployment's failure carries no result: its nodes come from the progress query.
      const p = await progress();
      return { ...base, status: CLOSED[description.status.name] ?? description.status.name, nodes: nodesFrom(p) };
    }
  }
}
