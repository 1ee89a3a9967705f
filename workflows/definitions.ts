// Signals, queries and updates of the deployment workflows, and every type a client reads
// from them (results, progress, decisions). Clients import this module, never workflow code.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CheckResult } from '../src/core/deployment-tests';
import type { NodeState } from '../src/core/node-states';
import type { ApplicationState } from '../src/core/operation-plan';
import type { Phase } from '../src/core/schemas/event';

export type { NodeState };

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
}

/** A deployment's claim on its application's lock: its token, and whether the lock was granted when asked. */
export interface LockHold {
  token: string;
  granted: boolean;
}

/** Failure type of a deployment that was rolled back; its details carry the DeploymentResult. */
export const ROLLED_BACK = 'DeploymentRolledBack';
/** Failure type of a deployment whose rollback could not restore every node. */
export const ROLLBACK_INCOMPLETE = 'DeploymentRollbackIncomplete';

export interface DeploymentProgress {
  phase: Phase;
  nodes: Record<string, { state: NodeState; message: string; checks?: CheckResult[] }>;
}

/** Live per-node progress of a deployment. */
export const progressQuery = defineQuery<DeploymentProgress>('progress');

/**
 * The last event seq the run published. Answered also by a closed run (a query of a closed
 * run replays its history): how a Retry, a Reset or the compensation of a terminated run
 * learns where to number on, without reading the history's activities by their names.
 */
export const publishedSeqQuery = defineQuery<number>('publishedSeq');

/**
 * A deployment waiting for or holding its application's lock: by its lock token (one per
 * start, Retry or Reset of the deployment), or, for the first workflow shape, by its run.
 */
export interface LockRequester {
  workflowId: string;
  token?: string;
  runId?: string;
  /**
   * Set by a run that continued as new from the holder: it takes the lock over without
   * queueing. The lock checks the claim against its holder.
   */
  continuing?: string;
  /**
   * Set by a run reset from another (the Temporal UI's Reset): it replaces every other run of
   * its workflow id, which Temporal has closed, so their place in the lock (holding it, or
   * waiting) passes to it, and their tokens are forgotten.
   */
  supersedes?: boolean;
}

export const enqueueLockSignal = defineSignal<[LockRequester]>('enqueue');
/** Asks for the lock: `granted` now, or `queued` (a `lockGranted` signal naming the token follows). */
export const acquireLockUpdate = defineUpdate<'granted' | 'queued', [LockRequester]>('acquire');
export const releaseLockSignal = defineSignal<[LockRequester]>('release');

/** Sent by the lock workflow to the deployment whose turn it is. */
export interface LockGrant {
  /** The token the lock is granted to: a run reset from another must not take that one's grant for its own. */
  token?: string;
  /** The run it is granted to, for deployments of the first workflow shape. */
  runId?: string;
}

/** Older lock workflows grant without naming the run. */
export const lockGrantedSignal = defineSignal<[LockGrant?]>('lockGranted');

/** Sent by a node's child workflow of the first workflow shape (workflows/v1/) to its deployment. */
export interface NodeProgress {
  node: string;
  phase: Phase;
  message: string;
}

export const nodeProgressSignal = defineSignal<[NodeProgress]>('nodeProgress');

export const DECISIONS = ['retry', 'skip', 'rollback'] as const;
export type Decision = (typeof DECISIONS)[number];

/** An operator's decision for a paused deployment: retry the failed nodes, skip them, or roll back. */
export const decideUpdate = defineUpdate<{ accepted: Decision; failedNodes: string[] }, [Decision]>('decide');
