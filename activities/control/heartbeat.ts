// Heartbeats. An activity whose work gives no progress of its own heartbeats every second,
// so a worker that dies mid-call is noticed within the heartbeat timeout, not at the end of
// the start-to-close timeout, and another worker takes the activity over. Details an
// activity reports (its steps so far) are sent again with every beat, so the Temporal UI
// keeps showing them. Local activities do not heartbeat: their workflow task is their liveness.
import { Context } from '@temporalio/activity';

const EVERY_MS = 1000;
const lastDetails = new WeakMap<Context, unknown>();

/** Heartbeats the current activity, with `details` (or the last ones it gave). */
export function heartbeat(details?: unknown): void {
  const ctx = Context.current();
  if (ctx.info.isLocal) return;
  if (details !== undefined) lastDetails.set(ctx, details);
  ctx.heartbeat(lastDetails.get(ctx));
}

export function heartbeating<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    const ctx = Context.current();
    if (ctx.info.isLocal) return fn(...args);
    heartbeat();
    const timer = setInterval(() => ctx.heartbeat(lastDetails.get(ctx)), EVERY_MS);
    try {
      return await fn(...args);
    } finally {
      clearInterval(timer);
    }
  };
}

/** Wraps every function of an activity object. */
export function allHeartbeating<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  return Object.fromEntries(Object.entries(activities).map(([name, fn]) => [name, heartbeating(fn)])) as T;
}
