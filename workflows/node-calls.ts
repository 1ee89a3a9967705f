// Calls to the node activities (the target verbs) of one task queue: local activities when
// it is the workflows' own queue (the common case on one site: no durable round trip per
// step), activities on that queue otherwise (a worker at the node's site serves it), which a
// worker must take within the deployment's site bound (options.ts SITE_START_TIMEOUT_MS).
import { proxyActivities } from '@temporalio/workflow';
import type { NodeActivities } from '../activities/targets/node-activities';
import type { NodeQueue } from '../src/core/plan';
import { SITE_START_TIMEOUT_MS, type StepOptions } from './options';
import { localActivities } from './local-lane';

/** `summary` is what the Temporal UI lists for the call: name the node(s) and the step. */
export function nodeCalls({ taskQueue, local }: NodeQueue, options: StepOptions, summary: string, siteStartTimeoutMs = SITE_START_TIMEOUT_MS): NodeActivities {
  return local
    ? localActivities<NodeActivities>({ ...options.local, summary })
    : proxyActivities<NodeActivities>({ ...options.remote, scheduleToStartTimeout: siteStartTimeoutMs, taskQueue, summary });
}

/** The queue of a resolved node. */
export const queueOf = (node: { taskQueue: string; local?: boolean }): NodeQueue => ({ taskQueue: node.taskQueue, local: node.local ?? false });

export { someNodes, someOf } from '../src/core/details';
