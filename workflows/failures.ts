// How the workflows read failures: the reason an operator should see, and the failure a
// node workflow ends with.
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';
import { SITE_UNREACHABLE, SiteUnreachableError } from '../src/core/errors';

/** Failure type of a node workflow whose rollout failed; details: the steps it took. */
export const NODE_ROLLOUT_FAILED = 'NodeRolloutFailed';

/**
 * What actually went wrong: the first application failure in the chain (a named Deployer
 * error raised by an activity), not the child-workflow and activity wrappers around it.
 */
export function rootMessage(err: unknown): string {
  for (let e = err; e instanceof Error; e = e.cause) {
    if (e instanceof ApplicationFailure) return e.message;
    if (!(e.cause instanceof Error)) return e.message;
  }
  return String(err);
}

/**
 * A call to a site's queue that no worker took up within `waitedMs` (its schedule-to-start
 * timeout: Temporal's own type and timeout type, never a message), as the site's named
 * failure; undefined for any other failure. `site`: the node's site, when the fleet names one.
 */
export function siteUnreachable(err: unknown, queue: { taskQueue: string; site?: string }, waitedMs: number): SiteUnreachableError | undefined {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof TimeoutFailure) || err.cause.timeoutType !== 'SCHEDULE_TO_START') return undefined;
  return new SiteUnreachableError(queue.site ?? queue.taskQueue, queue.taskQueue, waitedMs);
}

/** The failure a workflow raises for a site no worker serves: its named type, not retried. */
export function siteFailure(unreachable: SiteUnreachableError): ApplicationFailure {
  return ApplicationFailure.create({ type: SITE_UNREACHABLE, message: unreachable.message, nonRetryable: true });
}

/** What a failure says to an operator, naming the site when it was a call no site worker took up. */
export function reasonOf(err: unknown, queue: { taskQueue: string; site?: string }, waitedMs: number): string {
  return siteUnreachable(err, queue, waitedMs)?.message ?? rootMessage(err);
}

/** The steps a failed node verb took, from its failure's details (activities/targets/node-activities.ts). */
export function stepsOf<T>(err: unknown): T[] {
  for (let e = err; e instanceof Error; e = e.cause) {
    const steps = e instanceof ApplicationFailure ? (e.details?.[0] as { steps?: T[] } | undefined)?.steps : undefined;
    if (Array.isArray(steps)) return steps;
  }
  return [];
}

/** The last seq a failed step or node workflow may have published under (its lease), from its failure's details. */
export function lastSeqOf(err: unknown): number | undefined {
  for (let e = err; e instanceof Error; e = e.cause) {
    const seq = e instanceof ApplicationFailure ? (e.details?.[0] as { lastSeq?: unknown } | undefined)?.lastSeq : undefined;
    if (typeof seq === 'number') return seq;
  }
  return undefined;
}

/** The checks and tests a failed node workflow ran, from its failure's details (workflows/node.ts). */
export function checksOf<T>(err: unknown): T[] {
  for (let e = err; e instanceof Error; e = e.cause) {
    const checks = e instanceof ApplicationFailure ? (e.details?.[0] as { checks?: T[] } | undefined)?.checks : undefined;
    if (Array.isArray(checks)) return checks;
  }
  return [];
}

/** Thrown inside an operation when nodes failed and it is to be rolled back. */
export class NodesFailed extends Error {
  constructor(
    readonly reasons: Record<string, string>,
    prefix = '',
  ) {
    super(prefix + Object.entries(reasons).map(([node, reason]) => `${node}: ${reason}`).join('; '));
  }
}
