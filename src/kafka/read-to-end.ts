// Running a consumer over a topic until it has read each partition up to a given end: what
// a one-off scan (topic-scan.ts) and the fleet follower (../fleet.ts) wait for before they
// answer. A partition is read to its end when the consumer's position passed the end's last
// offset, not when a message at that offset was handed out: the last offsets may hold records
// a consumer is never handed, such as a transaction's commit or abort marker (always the last
// offset after a transactional producer) and the records of an aborted transaction.
import type { Consumer, KafkaMessage } from 'kafkajs';

export interface ReadToEnd {
  topic: string;
  /** Per partition to wait for, the offset after its last one to read (the topic's end when the read began). */
  ends: ReadonlyMap<number, bigint>;
  /** Each message the consumer is handed, in order per partition; it goes on after the ends were reached, for as long as the consumer runs. */
  each: (message: KafkaMessage, partition: number) => void;
  timeoutMs: number;
  /** What the error says when the ends were not reached in time. */
  tooLong: string;
  /** Called once the consumer runs (e.g. to seek). */
  started?: () => void;
}

/**
 * Runs the subscribed consumer; settles once every partition of `ends` was read up to its end,
 * rejecting when the consumer fails first or `timeoutMs` passes. The consumer keeps running.
 */
export function readToEnd(consumer: Consumer, { topic, ends, each, timeoutMs, tooLong, started }: ReadToEnd): Promise<void> {
  const open = new Set(ends.keys());
  return new Promise<void>((resolve, reject) => {
    const finish = (err?: Error) => {
      clearTimeout(timer);
      stopListening();
      if (err === undefined) resolve();
      else reject(err);
    };
    const timer = setTimeout(() => finish(new Error(tooLong)), timeoutMs);
    // The consumer's position is past `lastOffset`; kafkajs resolves that same offset and fetches from the next.
    const passed = (partition: number, lastOffset: string) => {
      if (!open.has(partition) || BigInt(lastOffset) + 1n < ends.get(partition)!) return;
      open.delete(partition);
      if (open.size === 0) finish();
    };
    // A batch of nothing but markers or aborted records never reaches eachBatch (kafkajs's
    // runner skips it and moves on), but is reported as processed with no messages.
    const stopListening = consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic === topic && payload.batchSize === 0) passed(payload.partition, payload.lastOffset);
    });
    consumer
      .run({
        autoCommit: false,
        eachBatch: async ({ batch, isRunning, isStale }) => {
          for (const message of batch.messages) {
            // A seek made the rest of the batch void: the partition is read again from where it points.
            if (!isRunning() || isStale()) return;
            each(message, batch.partition);
          }
          // lastOffset counts what the batch held past its last message: markers, aborted records.
          passed(batch.partition, batch.lastOffset());
        },
      })
      .then(
        () => {
          started?.();
          if (open.size === 0) finish();
        },
        (err: unknown) => finish(err instanceof Error ? err : new Error(String(err))),
      );
  });
}
