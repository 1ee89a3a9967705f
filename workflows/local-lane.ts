// Local activities one at a time per workflow run: every local activity of workflow code is
// called through `localActivities`, which queues each call behind the one before it.
//
// Why: a run's local activities have no history events of their own, only a marker each
// when they complete. Two in flight at once (a publish of the event log beside the lock's
// acquire and the inventory lookup, say) resolve in the live run as each answers, one
// workflow activation apiece or together, as the clock had it; a replay resolves them as
// their markers come, often together in one activation. The code after each resolution then
// runs in another order, schedules its next command in another order, and the replay fails
// ("Missing associated machine for LocalActivity(n)"): the suite saw it under load, where a
// worker evicts runs from its cache and replays them mid-flight. The Temporal SDKs track the
// same hazard (temporalio/sdk-python#1578, #1881; sdk-typescript#1744). With one local
// activity in flight, an activation resolves at most one, live or replayed.
//
// What it costs: calls that could overlap wait for each other. Local activities here are
// short lookups, publishes and node calls of the workflows' own queue; a node's long steps
// run in its own child workflow, with a lane of its own. Calls to other queues are
// activities, never queued here.
import { patched, proxyLocalActivities, type LocalActivityOptions } from '@temporalio/workflow';
import { PATCHES } from './patches';

// Module state is the run's own: the SDK evaluates workflow modules once per run.
let tail: Promise<unknown> = Promise.resolve();
const settled = () => undefined;

/** Runs `call` once every local activity called before it has answered. */
function inLane<R>(call: () => Promise<R>): Promise<R> {
  // A run recorded before the lane called its local activities as they came.
  if (!patched(PATCHES.localActivityLane)) return call();
  const turn = tail.then(call);
  tail = turn.then(settled, settled);
  return turn;
}

/** `proxyLocalActivities`, each call in the run's one lane. */
export function localActivities<A extends object>(options: LocalActivityOptions): A {
  const calls = proxyLocalActivities<A>(options) as Record<string, (...args: unknown[]) => Promise<unknown>>;
  return new Proxy(calls, {
    get(target, name: string) {
      const call = target[name]!;
      return (...args: unknown[]) => inLane(() => call(...args));
    },
  }) as unknown as A;
}
