// The application lock's protocol rules, shared by those who ask for the lock
// (src/operations/lock.ts, for the bridge, the CLI and the lock activities) and by the lock
// and its holders (workflows/application-lock.ts, where the protocol is told as a whole):
// who a requester is, the tokens, how a run tells that it was reset, what a lock starts with.
// Pure: imported by workflow code.

/**
 * A deployment waiting for or holding its application's lock: by its lock token (one per
 * start, Retry or Reset of the deployment), or, for the first workflow shape, by its run.
 */
export interface LockRequester {
  workflowId: string;
  token?: string;
  runId?: string;
  /**
   * Set by a run that continued as new from the holder: it takes the lock over without
   * queueing. The lock checks the claim against its holder.
   */
  continuing?: string;
  /**
   * Set by a run reset from another (the Temporal UI's Reset): it replaces every other run of
   * its workflow id, which Temporal has closed, so their place in the lock (holding it, or
   * waiting) passes to it, and their tokens are forgotten.
   */
  supersedes?: boolean;
}

/** A deployment's claim on its application's lock: its token, and whether the lock was granted when asked. */
export interface LockHold {
  token: string;
  granted: boolean;
}

/** Sent by the lock workflow to the deployment whose turn it is. */
export interface LockGrant {
  /** The token the lock is granted to: a run reset from another must not take that one's grant for its own. */
  token?: string;
  /** The run it is granted to, for deployments of the first workflow shape. */
  runId?: string;
}

/** What a lock workflow starts with, and carries when it continues as new. */
export interface LockState {
  application: string;
  holder?: LockRequester;
  waiting: LockRequester[];
  /** How long the lock lives with no holder and nobody waiting, in ms (LOCK_IDLE_MS when unset). */
  idleMs?: number;
}

/**
 * How long a lock with no holder and nobody waiting lives before it ends, in ms: long enough
 * that a run of deployments of one application shares one lock workflow, short enough that
 * the Temporal UI's Running view lists deployments, not the locks of finished ones. The next
 * request starts the lock again; a setting (DEPLOYER_LOCK_IDLE_MS) for whoever starts locks.
 */
export const LOCK_IDLE_MS = 10_000;

/**
 * Lock tokens. The same request asks with the same token, so a redelivery asks for what it
 * asked before; a Retry asks with the request that asked for it; a reset run with one of its
 * own (its base run's token and grants are not its own).
 */
export const lockTokens = {
  start: 'start',
  retry: (retriedBy: string) => `retry:${retriedBy}`,
  /** A reset run's: how long its history was when it began, and the run's randomness, which a reset seeds anew. */
  reset: (historyLength: number, random: string) => `run:${historyLength}:${random}`,
  /** A reset run's before the reset-from-history patch (workflows/patches.ts). */
  resetByRunId: (runId: string) => `run:${runId}`,
} as const;

/**
 * Whether a run was reset from another, told from what its history holds, so that a replay
 * decides the same: a fresh run's first workflow task sees 3 events (started, task scheduled,
 * task started); a reset run's comes after its base run's first task and the reset.
 */
export const wasReset = (historyLengthAtFirstTask: number): boolean => historyLengthAtFirstTask > 3;

/** The same requester: by lock token when either has one, by run otherwise (the first shape). */
export const sameRequester = (a: LockRequester | undefined, b: LockRequester): boolean =>
  a !== undefined && a.workflowId === b.workflowId && (a.token !== undefined || b.token !== undefined ? a.token === b.token : a.runId === b.runId);

/** A requester as the lock keeps it: its identity only. */
export const requesterOf = (r: LockRequester): LockRequester =>
  r.token !== undefined ? { workflowId: r.workflowId, token: r.token } : { workflowId: r.workflowId, runId: r.runId };
