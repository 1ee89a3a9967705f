// Lock adapter: the Temporal calls a workflow cannot make itself (signal-with-start of the
// application's lock workflow, and whether a deployment still runs).
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { LockRequester } from '../workflows/definitions';
import { enqueueLockSignal, lockWorkflowId } from '../workflows/definitions';
import type { applicationLockWorkflow } from '../workflows/application-lock';

export function createLockActivities(client: Client, taskQueue: string) {
  return {
    /** Puts a deployment in its application's queue, starting the lock workflow if needed. Idempotent. */
    async enqueueForLock({ application, requester }: { application: string; requester: LockRequester }): Promise<void> {
      await client.workflow.signalWithStart<typeof applicationLockWorkflow, [LockRequester]>('applicationLockWorkflow', {
        workflowId: lockWorkflowId(application),
        taskQueue,
        args: [{ application, waiting: [] }],
        signal: enqueueLockSignal,
        signalArgs: [requester],
        staticSummary: `One deployment of ${application} at a time`,
      });
    },

    async deploymentRunning({ workflowId, runId }: LockRequester): Promise<boolean> {
      try {
        const { status } = await client.workflow.getHandle(workflowId, runId).describe();
        return status.name === 'RUNNING';
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return false;
        throw err;
      }
    },
  };
}

export type LockActivities = ReturnType<typeof createLockActivities>;
