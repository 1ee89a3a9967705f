// The application's lock, from the outside (the protocol: workflows/application-lock.ts):
// whoever starts a deployment asks for the lock for it first, a deployment nobody asked for
// (a reset one) asks itself, and a deployment releases it, through these calls (from its
// local activities). Idempotent: the lock queues a requester once, and releasing twice is
// releasing. Each call that asks also starts the lock workflow when it is not running (it
// ends when idle), so there is no separate start and nothing to race with.
import { WithStartWorkflowOperation, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { lockWorkflowId } from '../core/workflow-ids';
import type { LockState } from '../core/lock-protocol';
import { acquireLockUpdate, enqueueLockSignal, lockGrantedSignal, releaseLockSignal, type LockRequester } from '../../workflows/definitions';

/** The lock workflow's type, by name: clients do not import workflow code. */
export const LOCK_WORKFLOW_TYPE = 'applicationLockWorkflow';

/** Where the applications' locks run, and how long one lives idle (ms; unset: LOCK_IDLE_MS). */
export interface LockSettings {
  taskQueue: string;
  idleMs?: number;
}

const lockStart = (application: string, { taskQueue, idleMs }: LockSettings) => ({
  workflowId: lockWorkflowId(application),
  taskQueue,
  args: [{ application, waiting: [], ...(idleMs !== undefined ? { idleMs } : {}) } satisfies LockState],
  staticSummary: `One deployment of ${application} at a time`,
});

/** Queues a run of the first workflow shape (workflows/v1/), starting the lock workflow if needed. */
export async function enqueueForLock(client: Client, lock: LockSettings, application: string, requester: LockRequester): Promise<void> {
  await client.workflow.signalWithStart(LOCK_WORKFLOW_TYPE, { ...lockStart(application, lock), signal: enqueueLockSignal, signalArgs: [requester] });
}

/** Asks for the lock (queueing the deployment): `granted`, or `queued` and a grant signal follows. */
export async function acquireLock(client: Client, lock: LockSettings, application: string, requester: LockRequester): Promise<'granted' | 'queued'> {
  return client.workflow.executeUpdateWithStart(acquireLockUpdate, {
    args: [requester],
    startWorkflowOperation: new WithStartWorkflowOperation(LOCK_WORKFLOW_TYPE, { ...lockStart(application, lock), workflowIdConflictPolicy: 'USE_EXISTING' }),
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

/**
 * What becomes of the lock asked for a start that started nothing, because the deployment
 * id was taken. A deployment that does not run gets nothing held for it: released. One that
 * runs is the same requester (same id, same token), so a grant this call received is its
 * grant: a redelivery or a look-alike asking just after the holder released took the lock in
 * its place, and the deployment, waiting for a grant signal, would never hear of it. It is
 * told; a deployment that holds the lock already ignores it.
 */
export async function settleUnstarted(client: Client, application: string, requester: LockRequester & { token: string }, answer: 'granted' | 'queued'): Promise<void> {
  const handle = client.workflow.getHandle(requester.workflowId);
  if ((await handle.describe()).status.name !== 'RUNNING') return releaseLock(client, application, requester);
  if (answer !== 'granted') return;
  await handle.signal(lockGrantedSignal, { token: requester.token }).catch((e: unknown) => {
    if (!(e instanceof WorkflowNotFoundError)) throw e;
  });
}
