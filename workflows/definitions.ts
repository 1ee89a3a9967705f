// Signals and queries of the deployment workflows. Clients import this module without
// importing workflow code.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Phase } from '../src/schemas/event';

/** Sent by a node's child workflow to its deployment: one step on one node. */
export interface NodeProgress {
  node: string;
  phase: Phase;
  message: string;
}

export const nodeProgressSignal = defineSignal<[NodeProgress]>('nodeProgress');

export type NodeState = 'Pending' | 'Deploying' | 'Healthy' | 'Failed' | 'RolledBack' | 'RestoreFailed';

export interface DeploymentProgress {
  phase: Phase;
  nodes: Record<string, { state: NodeState; message: string }>;
}

/** Live per-node progress of a deployment. */
export const progressQuery = defineQuery<DeploymentProgress>('progress');
