// Lock adapter: the Temporal calls a workflow cannot make itself (signal-with-start of the
// application's lock workflow, the release, and how a lock's holder is doing).
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { acquireLock, enqueueForLock, releaseLock, type LockSettings } from '../../src/operations/lock';
import type { LockRequester } from '../../workflows/definitions';

/** How a lock's holder is doing: still running, continued as a new run (which takes the lock over), or closed. */
export type HolderStatus = { status: 'running' } | { status: 'continued' } | { status: 'closed'; closedAs: string; runId?: string };

export function createLockActivities(client: Client, lock: LockSettings) {
  // A holder by token is the deployment's latest run (a continued run is its continuation).
  const describe = async ({ workflowId, runId, token }: LockRequester): Promise<{ status: string; runId?: string }> => {
    try {
      const d = await client.workflow.getHandle(workflowId, token !== undefined ? undefined : runId).describe();
      return { status: d.status.name, runId: d.runId };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { status: 'NOT_FOUND' };
      throw err;
    }
  };
  return {
    /** Puts a deployment of the first workflow shape in its application's queue, starting the lock workflow if needed. Idempotent. */
    async enqueueForLock({ application, requester }: { application: string; requester: LockRequester }): Promise<void> {
      await enqueueForLock(client, lock, application, requester);
    },

    async acquireLock({ application, requester }: { application: string; requester: LockRequester }): Promise<'granted' | 'queued'> {
      return acquireLock(client, lock, application, requester);
    },

    async releaseLock({ application, requester }: { application: string; requester: LockRequester }): Promise<void> {
      await releaseLock(client, application, requester);
    },

    async holderStatus(requester: LockRequester): Promise<HolderStatus> {
      const { status, runId } = await describe(requester);
      if (status === 'RUNNING') return { status: 'running' };
      if (status === 'CONTINUED_AS_NEW') return { status: 'continued' };
      return { status: 'closed', closedAs: status, ...(runId !== undefined ? { runId } : {}) };
    },
  };
}

export type LockActivities = ReturnType<typeof createLockActivities>;
