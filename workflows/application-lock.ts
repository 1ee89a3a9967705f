// One deployment per application at a time. Each application has a lock workflow
// (`lock/<application>`) holding a FIFO queue of deployments: a deployment enqueues itself
// (idempotently) and waits for the `lockGranted` signal; it releases the lock when it ends,
// however it ends. The queue order is the order in which deployments reached the lock; the
// bridge enqueues each deployment right after starting it, so requests of one application
// (one Kafka key, one partition) queue in the order they were sent. A deployment cancelled
// while waiting leaves the queue without touching any node. A holder that ended without
// releasing (terminated by an operator) is noticed by a liveness check and skipped.
import { condition, continueAsNew, defineQuery, getExternalWorkflowHandle, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { LockActivities } from '../activities/lock';
import { enqueueLockSignal, lockGrantedSignal, releaseLockSignal, type LockRequester } from './definitions';
import { engineCall } from './options';

const { deploymentRunning } = proxyActivities<LockActivities>(engineCall);

export interface LockState {
  application: string;
  holder?: LockRequester;
  waiting: LockRequester[];
}

export const lockStateQuery = defineQuery<LockState>('lockState');

const same = (a: LockRequester | undefined, b: LockRequester) => a !== undefined && a.workflowId === b.workflowId && a.runId === b.runId;

/** How long an idle lock lives before it ends (a later deployment starts a new one). */
const IDLE = '2m';
/** How often the holder's liveness is checked. */
const LEASE = '30s';

export async function applicationLockWorkflow(state: LockState): Promise<void> {
  const waiting = [...state.waiting];
  let holder = state.holder;
  setHandler(lockStateQuery, () => ({ application: state.application, holder, waiting }));
  setHandler(enqueueLockSignal, (r) => {
    if (!same(holder, r) && !waiting.some((w) => same(w, r))) waiting.push(r);
  });
  setHandler(releaseLockSignal, (r) => {
    if (same(holder, r)) holder = undefined;
    const i = waiting.findIndex((w) => same(w, r));
    if (i >= 0) waiting.splice(i, 1);
  });

  for (;;) {
    if (holder !== undefined) {
      const current = holder;
      const released = await condition(() => !same(holder, current), LEASE);
      if (!released && !(await deploymentRunning(current))) holder = undefined;
      continue;
    }
    if (workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof applicationLockWorkflow>({ application: state.application, waiting });
    }
    if (!(await condition(() => waiting.length > 0, IDLE))) return;
    const next = waiting.shift()!;
    try {
      await getExternalWorkflowHandle(next.workflowId, next.runId).signal(lockGrantedSignal);
      holder = next;
    } catch {
      // The deployment ended while it waited: the next one's turn.
    }
  }
}
