// Queueing a deployment for its application's lock: a signal-with-start of the lock
// workflow, which the bridge makes right after it starts a deployment (so requests of one
// application queue in the order they were sent) and a deployment makes itself when nobody
// did (a run reset in the Temporal UI). Idempotent: the lock queues a run once.
import type { Client } from '@temporalio/client';
import { lockWorkflowId } from '../core/workflow-ids';
import { enqueueLockSignal, type LockRequester } from '../../workflows/definitions';

/** The lock workflow's type, by name: clients do not import workflow code. */
export const LOCK_WORKFLOW_TYPE = 'applicationLockWorkflow';

export async function enqueueForLock(client: Client, taskQueue: string, application: string, requester: LockRequester): Promise<void> {
  await client.workflow.signalWithStart(LOCK_WORKFLOW_TYPE, {
    workflowId: lockWorkflowId(application),
    taskQueue,
    args: [{ application, waiting: [] }],
    signal: enqueueLockSignal,
    signalArgs: [requester],
    staticSummary: `One deployment of ${application} at a time`,
  });
}
