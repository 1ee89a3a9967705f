// The application's lock, from the outside: whoever starts a deployment asks for the lock
// for it first (so requests of one application queue in the order they were sent), a
// deployment nobody asked for (a reset one) asks itself, and a deployment releases it, through
// these calls (from its local activities). Idempotent: the lock queues a requester once, and
// releasing twice is releasing.
import { WithStartWorkflowOperation, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { lockWorkflowId } from '../core/workflow-ids';
import { acquireLockUpdate, enqueueLockSignal, releaseLockSignal, type LockRequester } from '../../workflows/definitions';

/** The lock workflow's type, by name: clients do not import workflow code. */
export const LOCK_WORKFLOW_TYPE = 'applicationLockWorkflow';

const lockStart = (application: string, taskQueue: string) => ({
  workflowId: lockWorkflowId(application),
  taskQueue,
  args: [{ application, waiting: [] }],
  staticSummary: `One deployment of ${application} at a time`,
});

/** Queues a run, starting the lock workflow if needed. */
export async function enqueueForLock(client: Client, taskQueue: string, application: string, requester: LockRequester): Promise<void> {
  await client.workflow.signalWithStart(LOCK_WORKFLOW_TYPE, { ...lockStart(application, taskQueue), signal: enqueueLockSignal, signalArgs: [requester] });
}

/** Asks for the lock (queueing the deployment): `granted`, or `queued` and a grant signal follows. */
export async function acquireLock(client: Client, taskQueue: string, application: string, requester: LockRequester): Promise<'granted' | 'queued'> {
  return client.workflow.executeUpdateWithStart(acquireLockUpdate, {
    args: [requester],
    startWorkflowOperation: new WithStartWorkflowOperation(LOCK_WORKFLOW_TYPE, { ...lockStart(application, taskQueue), workflowIdConflictPolicy: 'USE_EXISTING' }),
  });
}

/** Releases the lock or leaves its queue; a lock workflow that has ended holds nothing to release. */
export async function releaseLock(client: Client, application: string, requester: LockRequester): Promise<void> {
  try {
    await client.workflow.getHandle(lockWorkflowId(application)).signal(releaseLockSignal, requester);
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}
