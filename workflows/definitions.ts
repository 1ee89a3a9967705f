// Signals and queries of the deployment workflows. Clients import this module without
// importing workflow code.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Phase } from '../src/schemas/event';

/** Sent by a node's child workflow to its deployment: one step on one node. */
export interface NodeProgress {
  node: string;
  phase: Phase;
  message: string;
}

export const nodeProgressSignal = defineSignal<[NodeProgress]>('nodeProgress');

export type NodeState = 'Pending' | 'Deploying' | 'Healthy' | 'Removed' | 'Failed' | 'Skipped' | 'RolledBack' | 'RestoreFailed';

export interface DeploymentProgress {
  phase: Phase;
  nodes: Record<string, { state: NodeState; message: string }>;
}

/** Live per-node progress of a deployment. */
export const progressQuery = defineQuery<DeploymentProgress>('progress');

/** A deployment run waiting for or holding its application's lock. */
export interface LockRequester {
  workflowId: string;
  runId: string;
}

export const lockWorkflowId = (application: string) => `lock/${application}`;
export const enqueueLockSignal = defineSignal<[LockRequester]>('enqueue');
export const releaseLockSignal = defineSignal<[LockRequester]>('release');
/** Sent by the lock workflow to the deployment whose turn it is. */
export const lockGrantedSignal = defineSignal<[]>('lockGranted');

export const DECISIONS = ['retry', 'skip', 'rollback'] as const;
export type Decision = (typeof DECISIONS)[number];

/** An operator's decision for a paused deployment: retry the failed nodes, skip them, or roll back. */
export const decideUpdate = defineUpdate<{ accepted: Decision; failedNodes: string[] }, [Decision]>('decide');
