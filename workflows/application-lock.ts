// One deployment per application at a time: the lock workflow (`lock/<application>`, a FIFO
// queue of deployments) and the lock as a deployment holds it (ApplicationLock, below). The
// protocol, as a whole:
// - Asking. Whoever starts a deployment (the bridge, `deployer deploy --direct`) asks the lock
//   first, with the `acquire` update sent with start (update-with-start: the lock workflow is
//   started if it is not running; src/operations/lock.ts), answered at once, and starts the
//   deployment knowing the answer: granted, and the deployment touches nodes as soon as it is
//   ready; or queued, and a `lockGranted` signal naming its lock token comes when its turn
//   does. Requests of one application (one Kafka key, one partition) so queue in the order
//   they were sent. A deployment nobody asked for, or one reset in the Temporal UI, asks
//   itself, the same way, with a token of its own. A start that started nothing (the id was
//   taken) gives back or hands on what it was granted (settleUnstarted). Tokens, who is who
//   and how a reset run tells: src/core/lock-protocol.ts, shared with the clients.
// - Holding and releasing. A deployment releases the lock (the `release` signal, from a local
//   activity) when it no longer touches nodes, however it ends; one that continues as new
//   keeps it (its token travels with it); a reset one takes the place of the run it replaces.
//   A holder that closed without releasing (terminated by an operator) is noticed by a
//   liveness check, compensated, and skipped.
// - The idle end. A lock with no holder and nobody waiting ends after its idle period
//   (LockState.idleMs, DEPLOYER_LOCK_IDLE_MS), so that the Temporal UI's Running view lists
//   deployments, not the locks of finished ones; the next request starts it again, since
//   every request is sent with start. No request ends with the run: one the lock has taken
//   in keeps it running; one that reaches Temporal while the last task runs is either a
//   signal, for which Temporal refuses the completion and hands it in a new task, or an
//   update sent with start, which Temporal aborts on the closing run and sends to a new one.
//
// Deployments of the first workflow shape (workflows/v1/) queue by run with the `enqueue`
// signal (signal-with-start) and are granted by run. That path stays while such deployments
// may run (the target-seam patch), and the recorded first-shape lock
// (test/fixtures/histories/application-lock.json) replays through it.
import {
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  deprecatePatch,
  executeChild,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  setHandler,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { LockActivities } from '../activities/control/lock';
import { acquireLockUpdate, enqueueLockSignal, lockGrantedSignal, releaseLockSignal } from './definitions';
import { LOCK_IDLE_MS, lockTokens, requesterOf, sameRequester as same, wasReset, type LockHold, type LockRequester, type LockState } from '../src/core/lock-protocol';
import { compensationWorkflowId } from '../src/core/workflow-ids';
import { compensateTerminatedWorkflow } from './compensation';
import { lockCall, lookup } from './options';
import { PATCHES } from './patches';
import { localActivities } from './local-lane';

const { holderStatus } = proxyActivities<LockActivities>({ ...lockCall, summary: "check the lock holder's status" });

export type { LockState };

export const lockStateQuery = defineQuery<LockState>('lockState');

/** How often the holder's liveness is checked: how soon a terminated holder is compensated and the next one goes. */
const LEASE = '10s';

export async function applicationLockWorkflow(state: LockState): Promise<void> {
  const waiting = [...state.waiting];
  let holder = state.holder;
  const idleMs = state.idleMs ?? LOCK_IDLE_MS;
  const busy = () => holder !== undefined || waiting.length > 0;
  const enqueue = (r: LockRequester) => {
    const requester = requesterOf(r);
    if (!same(holder, requester) && !waiting.some((w) => same(w, requester))) waiting.push(requester);
    return requester;
  };
  setHandler(lockStateQuery, () => ({ application: state.application, holder, waiting, idleMs }));
  setHandler(enqueueLockSignal, (r) => {
    // A first-shape run that continued as new claimed its predecessor's lock this way.
    if (r.continuing !== undefined && holder !== undefined && holder.workflowId === r.workflowId && holder.runId === r.continuing) {
      holder = { workflowId: r.workflowId, runId: r.runId! };
      void grant(holder).catch(() => undefined);
      return;
    }
    enqueue(r);
  });
  // A reset run takes the place of the run it replaces (Temporal terminated that one, so it
  // cannot release): holding the lock it goes on holding it, waiting it waits on.
  const supersede = (r: LockRequester) => {
    const earlier = (w: LockRequester) => w.workflowId === r.workflowId && w.token !== r.token;
    const at = waiting.findIndex(earlier);
    if (holder !== undefined && earlier(holder)) holder = requesterOf(r);
    else if (at >= 0 && !waiting.some((w) => same(w, r))) waiting.splice(at, 1, requesterOf(r));
    for (let i = waiting.length - 1; i >= 0; i--) if (earlier(waiting[i]!)) waiting.splice(i, 1);
  };
  // Answered at once, so that whoever asks knows before the deployment starts.
  setHandler(acquireLockUpdate, (r) => {
    if (r.supersedes === true) supersede(r);
    const requester = enqueue(r);
    if (same(holder, requester)) return 'granted';
    if (holder === undefined && same(waiting[0], requester)) {
      waiting.shift();
      holder = requester;
      return 'granted';
    }
    return 'queued';
  });
  setHandler(releaseLockSignal, (r) => {
    if (same(holder, r)) holder = undefined;
    const i = waiting.findIndex((w) => same(w, r));
    if (i >= 0) waiting.splice(i, 1);
  });

  for (;;) {
    if (holder !== undefined) {
      const current = holder;
      deprecatePatch(PATCHES.lockGrantsName);
      const released = await condition(() => !same(holder, current), LEASE);
      if (!released && same(holder, current) && !(await holderAlive(current))) holder = undefined;
      continue;
    }
    if (workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof applicationLockWorkflow>({ application: state.application, waiting, idleMs });
    }
    // Replay-critical: asked even when someone waits (it then starts and cancels a timer), as
    // the lock's first shape did, so that the histories it recorded keep their timers.
    if (!(await condition(busy, idleMs))) {
      // Idle. It ends unless a request came in the activation that ended the wait. The SDK
      // runs handlers before it fires a timer of the same activation, so the wait then ends
      // with the request; this check keeps the end from depending on that order, or on every
      // handler finishing at once. A request that comes later is not lost with the run (the
      // top of this file).
      await condition(allHandlersFinished);
      if (!busy()) return;
    }
    // An `acquire` answered while this waited took the lock at once.
    if (holder !== undefined) continue;
    const next = waiting.shift()!;
    holder = next;
    try {
      await grant(next);
    } catch {
      // A deployment asked for by token may not have started yet (its starter asks first):
      // it keeps its turn, and learns of it when it asks itself; the liveness check frees a
      // turn nobody takes. A first-shape run that is not there has ended: the next one's turn.
      if (next.token === undefined && same(holder, next)) holder = undefined;
    }
  }
}

/**
 * Tells a queued deployment that its turn has come, naming its token (or, for the first
 * shape, its run): a run reset from another must not take that one's grant for its own.
 */
function grant(to: LockRequester): Promise<void> {
  if (to.token !== undefined) return getExternalWorkflowHandle(to.workflowId).signal(lockGrantedSignal, { token: to.token });
  deprecatePatch(PATCHES.lockGrantsName);
  return getExternalWorkflowHandle(to.workflowId, to.runId).signal(lockGrantedSignal, { runId: to.runId! });
}

/**
 * A holder that continued as new is alive: its continuation holds the lock. One that an
 * operator terminated is compensated (its nodes restored, its end announced and recorded)
 * before the lock goes to the next.
 */
async function holderAlive(holder: LockRequester): Promise<boolean> {
  const status = await holderStatus(holder);
  if (status.status !== 'closed') return true;
  if (status.closedAs === 'TERMINATED' && holder.token !== undefined) {
    await executeChild(compensateTerminatedWorkflow, {
      workflowId: compensationWorkflowId(holder.workflowId, status.runId ?? holder.token),
      args: [{ deploymentId: holder.workflowId }],
      staticSummary: `Compensate ${holder.workflowId}, terminated by an operator`,
    });
  }
  return false;
}

const { acquireLock, releaseLock } = localActivities<LockActivities>({ ...lookup, summary: "the application's lock" });

/**
 * The lock as a deployment holds it. It holds it from its start when whoever started it was
 * granted the lock for it; otherwise it waits for a grant naming its token. A run reset from
 * another (the Temporal UI's Reset replays the old run's input and reapplies its signals)
 * trusts neither: it asks again, with a token of its own run.
 */
export class ApplicationLock {
  private granted = false;
  private released = false;
  private readonly token: string;
  /** Whether this run was reset from another (the Temporal UI's Reset): it asks for the lock itself, and numbers its events after its base run's. */
  readonly reset: boolean;

  constructor(
    private readonly application: string,
    private readonly hold: LockHold | undefined,
  ) {
    const { runId, originalExecutionRunId, historyLength } = workflowInfo();
    if (patched(PATCHES.resetFromHistory)) {
      // Told from what the history holds, so that a replay decides the same (the replayer
      // gives every run the id its history started with).
      this.reset = wasReset(historyLength);
      this.token = !this.reset && hold !== undefined ? hold.token : lockTokens.reset(historyLength, uuid4());
    } else {
      this.reset = runId !== originalExecutionRunId;
      this.token = !this.reset && hold !== undefined ? hold.token : lockTokens.resetByRunId(runId);
    }
    setHandler(lockGrantedSignal, (grant) => {
      if (grant?.token === this.token) this.granted = true;
    });
  }

  /** What a run that continues as new carries: it keeps the lock. */
  get carried(): LockHold {
    return { token: this.token, granted: true };
  }

  /** Waits for the lock. `onWait`: called when another deployment holds it. */
  async acquire(onWait: () => void): Promise<void> {
    if (!this.reset && this.hold?.granted) {
      this.granted = true;
      return;
    }
    // Nobody asked for this run (a reset one, or one started without the operations module)
    // or it was queued: it asks itself. Queued, it may have been granted before it started,
    // when a grant could not reach it; asking again is how it learns.
    if (this.reset || this.hold === undefined || !this.hold.granted) {
      const answer = await acquireLock({ application: this.application, requester: this.me() });
      if (answer === 'granted') this.granted = true;
    }
    if (this.granted) return;
    onWait();
    await condition(() => this.granted);
  }

  /**
   * Releases the lock, or leaves its queue: a local activity that signals the lock through
   * the client, so the run needs no workflow task for the signal's round trip (a signal a
   * workflow sends itself must be awaited: in the run's closing task it is dropped).
   */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await CancellationScope.nonCancellable(() => releaseLock({ application: this.application, requester: this.me() }));
  }

  private me(): LockRequester {
    return { workflowId: workflowInfo().workflowId, token: this.token, ...(this.reset ? { supersedes: true } : {}) };
  }
}
