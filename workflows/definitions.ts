// Signals, queries and updates of the deployment workflows, and every type a client reads
// from them (results, progress, decisions). Clients import this module, never workflow code.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CheckResult } from '../src/core/deployment-tests';
import type { NodeState } from '../src/core/node-states';
import type { LockGrant, LockHold, LockRequester } from '../src/core/lock-protocol';
import type { ApplicationState } from '../src/core/operation-plan';
import type { LivePhase, RelayedEvents } from '../src/core/live-events';
import type { Phase } from '../src/core/schemas/event';

export type { NodeState };
/** The lock's messages carry these; their rules are src/core/lock-protocol.ts. */
export type { LockGrant, LockHold, LockRequester };

export interface NodeOutcome {
  state: NodeState;
  reason?: string;
  /** How the node's configuration check and deployment tests went, when the request had any. */
  checks?: CheckResult[];
}

export interface DeploymentResult {
  deploymentId: string;
  status: 'Succeeded' | 'RolledBack' | 'Failed' | 'Cancelled';
  reason?: string;
  image?: string;
  nodes: Record<string, NodeOutcome>;
  /** What runs after a successful operation: what a later Rollback, Scale or Undeploy starts from. */
  state?: ApplicationState;
}

export interface DeployOptions {
  /** Last `seq` an earlier run of this deployment published (a Retry continues the numbering). */
  seqStart?: number;
  /** The application's lock as whoever started the deployment asked for it (src/operations/start.ts). */
  lock?: LockHold;
  /**
   * How long a call to a site's task queue waits for the site's worker before the site is
   * reported unreachable (ms; default workflows/options.ts SITE_START_TIMEOUT_MS): longer for
   * sites whose link is known to drop for minutes, shorter in tests.
   */
  siteStartTimeoutMs?: number;
}

/** Failure type of a deployment that was rolled back; its details carry the DeploymentResult. */
export const ROLLED_BACK = 'DeploymentRolledBack';
/** Failure type of a deployment whose rollback could not restore every node. */
export const ROLLBACK_INCOMPLETE = 'DeploymentRollbackIncomplete';

export interface DeploymentProgress {
  phase: Phase;
  /** `phase`: of the step a node relayed last, while it rolls out beside others. */
  nodes: Record<string, { state: NodeState; message: string; phase?: LivePhase; checks?: CheckResult[] }>;
}

/** What a node's workflow is doing now: the step that runs and the phase its events are in. */
export interface NodeStepNow {
  node: string;
  phase: LivePhase;
  step: string;
}

/** Asked of a running node workflow (workflows/node.ts): undefined between steps. */
export const nodeStepQuery = defineQuery<NodeStepNow | undefined>('nodeStep');

/** Live per-node progress of a deployment. */
export const progressQuery = defineQuery<DeploymentProgress>('progress');

/**
 * The last event seq the run published, or lent to a node that may still publish under it
 * (the lease's last number: a node's step can outlive a run that was terminated or reset).
 * Answered also by a closed run (a query of a closed
 * run replays its history): how a Retry, a Reset or the compensation of a terminated run
 * learns where to number on, without reading the history's activities by their names.
 */
export const publishedSeqQuery = defineQuery<number>('publishedSeq');

/** Queues a first-shape run (workflows/v1/), sent with start: signal-with-start. */
export const enqueueLockSignal = defineSignal<[LockRequester]>('enqueue');
/** Asks for the lock: `granted` now, or `queued` (a `lockGranted` signal naming the token follows). */
export const acquireLockUpdate = defineUpdate<'granted' | 'queued', [LockRequester]>('acquire');
export const releaseLockSignal = defineSignal<[LockRequester]>('release');

/** Older lock workflows grant without naming the run. */
export const lockGrantedSignal = defineSignal<[LockGrant?]>('lockGranted');

/** Sent by a node's child workflow of the first workflow shape (workflows/v1/) to its deployment. */
export interface NodeProgress {
  node: string;
  phase: Phase;
  message: string;
}

export const nodeProgressSignal = defineSignal<[NodeProgress]>('nodeProgress');

/** A node's events as they happen, relayed by its steps while it rolls out beside others (src/core/live-events.ts). */
export const nodeEventsSignal = defineSignal<[RelayedEvents]>('nodeEvents');

export const DECISIONS = ['retry', 'skip', 'rollback'] as const;
export type Decision = (typeof DECISIONS)[number];

/** An operator's decision for a paused deployment: retry the failed nodes, skip them, or roll back. */
export const decideUpdate = defineUpdate<{ accepted: Decision; failedNodes: string[] }, [Decision]>('decide');
