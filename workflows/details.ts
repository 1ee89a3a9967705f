// The current details the Temporal UI shows for a running deployment (one row per node) and
// for a node's workflow (its steps). Pure.
import type { NodeState } from '../src/core/node-states';
import { table } from '../src/core/details';

/** Rows shown one by one; beyond this the table lists the nodes that need a look and counts the rest. */
export const MAX_ROWS = 50;

/**
 * A deployment's current details: one row per node, as the `progress` query returns them.
 * Without the phase, which the workflow's status and the DeployerStatus search attribute
 * show. A wide deployment shows the counts per state and the nodes that are not simply
 * pending or healthy.
 */
export function progressDetails(nodes: Record<string, { state: NodeState; message: string }>): string {
  const entries = Object.entries(nodes);
  if (entries.length <= MAX_ROWS) return table(['node', 'state', 'last step'], entries.map(([node, { state, message }]) => [node, state, message]));
  const counts = new Map<NodeState, number>();
  for (const [, { state }] of entries) counts.set(state, (counts.get(state) ?? 0) + 1);
  const notable = entries.filter(([, { state }]) => state !== 'Pending' && state !== 'Healthy').slice(0, MAX_ROWS);
  const summary = table(['state', 'nodes'], [...counts].map(([state, n]) => [state, String(n)]));
  return notable.length === 0 ? summary : `${summary}\n\n${table(['node', 'state', 'last step'], notable.map(([node, { state, message }]) => [node, state, message]))}`;
}

export type StepState = 'running' | 'done' | 'failed';

/** One step of a node's rollout, as its workflow shows it. */
export interface NodeStep {
  step: string;
  state: StepState;
  /** What a test expected and got. */
  detail?: string;
}

/** A node's current details: every step so far and how it went (and, once tests ran, what each expected and got). */
export function nodeDetails(node: string, steps: NodeStep[]): string {
  const detailed = steps.some((s) => s.detail !== undefined);
  const rows = steps.map((s) => (detailed ? [s.step, s.state, s.detail ?? ''] : [s.step, s.state]));
  return `**${node}**\n\n${table(detailed ? ['step', 'state', 'detail'] : ['step', 'state'], rows)}`;
}
