// One deployment per application at a time. Each application has a lock workflow
// (`lock/<application>`) holding a FIFO queue of deployment runs: a run is queued (by the
// bridge right after it starts the run, so that requests of one application — one Kafka key,
// one partition — queue in the order they were sent; by the run itself when nobody did) and
// waits for a `lockGranted` signal naming it; it releases the lock when it no longer touches
// nodes, however it ends. A run cancelled while waiting leaves the queue without touching
// any node. A run that continues as new hands the lock to its continuation, which claims it
// by naming the run it continues. A holder that closed without releasing (terminated by an
// operator) is noticed by a liveness check and skipped.
import { CancellationScope, condition, continueAsNew, defineQuery, getExternalWorkflowHandle, patched, proxyActivities, proxyLocalActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { LockActivities } from '../activities/control/lock';
import { enqueueLockSignal, lockGrantedSignal, releaseLockSignal, type LockRequester } from './definitions';
import { lockWorkflowId } from '../src/core/workflow-ids';
import { lockCall, lookup } from './options';
import { PATCHES } from './patches';
import { engineCall } from './v1/options';

// The first shape's liveness check keeps its options, so that its histories replay unchanged.
const { deploymentRunning } = proxyActivities<LockActivities>(engineCall);
const { holderStatus } = proxyActivities<LockActivities>({ ...lockCall, summary: "check the lock holder's status" });

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
    // A continuation of the holder takes the lock over at once; any other claim queues as usual.
    if (r.continuing !== undefined && holder !== undefined && holder.workflowId === r.workflowId && holder.runId === r.continuing) {
      holder = { workflowId: r.workflowId, runId: r.runId };
      void grant(holder).catch(() => undefined);
      return;
    }
    const requester = { workflowId: r.workflowId, runId: r.runId };
    if (!same(holder, requester) && !waiting.some((w) => same(w, requester))) waiting.push(requester);
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
      if (!released && same(holder, current) && !(await holderAlive(current))) holder = undefined;
      continue;
    }
    if (workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof applicationLockWorkflow>({ application: state.application, waiting });
    }
    if (!(await condition(() => waiting.length > 0, IDLE))) return;
    const next = waiting.shift()!;
    try {
      await grant(next);
      holder = next;
    } catch {
      // The run ended while it waited: the next one's turn.
    }
  }
}

/** Grants the lock to a run, naming it, so that a reset run cannot take its base run's grant for its own. */
function grant(to: LockRequester): Promise<void> {
  const handle = getExternalWorkflowHandle(to.workflowId, to.runId);
  return patched(PATCHES.lockGrantsName) ? handle.signal(lockGrantedSignal, { runId: to.runId }) : handle.signal(lockGrantedSignal);
}

/** A holder that continued as new is alive: its continuation claims the lock. */
async function holderAlive(holder: LockRequester): Promise<boolean> {
  if (!patched(PATCHES.lockGrantsName)) return deploymentRunning(holder);
  return (await holderStatus(holder)).status !== 'closed';
}

const { enqueueForLock } = proxyLocalActivities<LockActivities>({ ...lookup, summary: "queue for the application's lock" });

/**
 * The lock as a deployment run holds it. Grants count only when they name this run: a run
 * reset from another (the Temporal UI's Reset reapplies the old run's signals) asks for the
 * lock itself.
 */
export class ApplicationLock {
  private granted = false;
  private released = false;
  private readonly me: LockRequester;

  constructor(private readonly application: string) {
    const { workflowId, runId } = workflowInfo();
    this.me = { workflowId, runId };
    setHandler(lockGrantedSignal, (grant) => {
      if (grant?.runId === runId) this.granted = true;
    });
  }

  get held(): boolean {
    return this.granted && !this.released;
  }

  /**
   * Waits for the lock. The bridge queues every run it starts; a run nobody queued (a reset
   * one, or one whose bridge died between start and queueing) queues itself after a moment,
   * and a continued run claims its predecessor's lock at once.
   */
  async acquire(onWait: () => void): Promise<void> {
    const { runId, originalExecutionRunId, continuedFromExecutionRunId } = workflowInfo();
    const continuing = continuedFromExecutionRunId !== undefined && runId === originalExecutionRunId ? continuedFromExecutionRunId : undefined;
    if (continuing !== undefined || runId !== originalExecutionRunId) await this.enqueue(continuing);
    if (await condition(() => this.granted, '1s')) return;
    onWait();
    // Idempotent: a run the bridge queued stays where it is.
    await this.enqueue();
    await condition(() => this.granted);
  }

  /** Releases the lock, or leaves its queue. Awaited: a signal sent in a run's closing task is dropped. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await CancellationScope.nonCancellable(() =>
      getExternalWorkflowHandle(lockWorkflowId(this.application))
        .signal(releaseLockSignal, this.me)
        // The lock workflow may have ended (idle, or never reached): then there is nothing to release.
        .catch(() => undefined),
    );
  }

  private enqueue(continuing?: string): Promise<void> {
    return enqueueForLock({ application: this.application, requester: { ...this.me, ...(continuing !== undefined ? { continuing } : {}) } });
  }
}
