// Acting on a batch of one partition's messages side by side where their order cannot matter.
// A message concerns some deployments and applications (its keys); one whose keys meet an
// earlier one's waits for it, as does one that concerns everything, so requests about one
// deployment or one application are acted on in the order they came. The rest need not
// wait: one message at a time, each start waited for its application's lock (a round trip
// through a worker, 0.1-1 s on a loaded host) and each refusal for three round trips, and a
// burst of a few hundred messages left the bridge seconds behind its sender. Offsets are
// resolved in order: a message's only once it and every message before it was acted on.
// No Kafka, no Temporal: tested with plain functions.
import { applicationOf } from '../core/operation-kinds';
import type { Request } from '../core/schemas/request';

/** A message to act on: its offset, what it concerns (`all`: everything, as a barrier), and the acting. */
export interface Work {
  offset: string;
  keys: readonly string[] | 'all';
  act: () => Promise<unknown>;
}

export interface InOrderOptions {
  /** At most this many messages acted on at once. */
  limit: number;
  /** Called with the offset of the last message of an acted-on prefix of the batch. */
  resolve: (offset: string) => void;
  /** Whether to stop taking new messages (the consumer is stopping, or the partition was sought). */
  stopped?: () => boolean;
}

interface Running {
  offset: string;
  keys: readonly string[] | 'all';
  /** Acted on: its offset may be resolved. */
  done: boolean;
  /** Ended, acted on or failed: it no longer takes a place under the limit. */
  settled: boolean;
  /** Settles when the acting ends, however it ends. */
  ended: Promise<void>;
}

/**
 * What a message's requests concern: each one's deployment, and the application whose lock an
 * operation asks for. A Retry concerns everything: its application is known only once its
 * deployment's first request is read.
 */
export function requestKeys(requests: readonly Request[]): Work['keys'] {
  if (requests.some((r) => r.kind === 'Retry')) return 'all';
  return [...new Set(requests.flatMap((r) => [`deployment:${r.deploymentId}`, ...(r.kind !== 'Cancel' && r.kind !== 'Retry' ? [`application:${applicationOf(r)}`] : [])]))];
}

/** What a refused message concerns: the deployment it names, whose existence decides its Rejected event. */
export const refusalKeys = (deploymentId: string | undefined): Work['keys'] => (deploymentId !== undefined ? [`deployment:${deploymentId}`] : []);

const meet = (a: Running['keys'], b: Running['keys']) => a === 'all' || b === 'all' || a.some((k) => b.includes(k));

/**
 * Acts on each work of `works` (taken one at a time, in order) as soon as no earlier one it
 * meets is still running. At the first failure it takes no more, waits for those running,
 * resolves the acted-on prefix and throws that failure: the rest is handled again.
 */
export async function actInOrder(works: Iterable<Work>, { limit, resolve, stopped = () => false }: InOrderOptions): Promise<void> {
  const running: Running[] = [];
  let failed: { error: unknown } | undefined;
  const advance = () => {
    let last: string | undefined;
    while (running[0]?.done) last = running.shift()!.offset;
    if (last !== undefined) resolve(last);
  };
  // Not `!done`: a failed acting is never done, and counted as busy it would keep the wait for
  // a free place below answering at once, forever, in microtasks that starve the event loop
  // (the bridge spun out of memory when a broker's loss failed a message with `limit` at work).
  const busy = () => running.filter((r) => !r.settled);

  try {
    for (const work of works) {
      if (failed !== undefined || stopped()) break;
      await Promise.all(busy().filter((r) => meet(r.keys, work.keys)).map((r) => r.ended));
      while (busy().length >= limit) await Promise.race(busy().map((r) => r.ended));
      // Asked again: the wait may have been long.
      if (failed !== undefined || stopped()) break;
      const entry: Running = { offset: work.offset, keys: work.keys, done: false, settled: false, ended: Promise.resolve() };
      entry.ended = work.act().then(
        () => {
          entry.done = entry.settled = true;
          advance();
        },
        (error: unknown) => {
          entry.settled = true;
          failed ??= { error };
        },
      );
      running.push(entry);
    }
  } catch (error) {
    // Taking the next work failed (reading the inventory, say): as a failure of that work.
    failed ??= { error };
  }
  await Promise.all(running.map((r) => r.ended));
  advance();
  if (failed !== undefined) throw failed.error;
}
