// Heartbeats for activities whose engine call gives no progress of its own: a worker that
// dies mid-call is then noticed within the heartbeat timeout, not at the end of the
// start-to-close timeout, and another worker takes the activity over.
import { Context } from '@temporalio/activity';

const EVERY_MS = 1000;

export function heartbeating<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    const ctx = Context.current();
    ctx.heartbeat();
    const timer = setInterval(() => ctx.heartbeat(), EVERY_MS);
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
