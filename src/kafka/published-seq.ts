// How far a deployment's status events got on the events topic: the last seq published for
// it since a given time. A run publishes from local activities, which its history records
// only when the workflow task they ran in completes; a run terminated (or reset) in the
// middle of a task has published events that its history, and so its query, does not show.
// Whatever numbers on after such a run (its compensation, a Retry, a Reset) numbers after
// this as well, so that no consumer drops one of its events as a repeat of a seq it saw.
import type { Kafka } from 'kafkajs';
import { statusEventSchema } from '../core/schemas/event';
import { partitionOf, scanTopic, valueOf } from './topic-scan';

export type PublishedSeqReader = (deploymentId: string, sinceMs: number) => Promise<number>;

export function publishedSeqReader(kafka: Kafka, topic: string): PublishedSeqReader {
  return async (deploymentId, sinceMs) => {
    // Only the partition the deployment's key goes to, from the first message at that time.
    const admin = kafka.admin();
    await admin.connect();
    let from: Map<number, bigint>;
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      const partition = partitionOf(topic, topics[0]!.partitions, deploymentId);
      const at = await admin.fetchTopicOffsetsByTimestamp(topic, sinceMs);
      from = new Map([[partition, BigInt(at.find((p) => p.partition === partition)!.offset)]]);
    } finally {
      await admin.disconnect();
    }
    let last = 0;
    await scanTopic(kafka, topic, { groupPrefix: 'deployer-seq', from }, (message) => {
      if (message.key?.toString() !== deploymentId) return;
      const event = statusEventSchema.safeParse(valueOf(message));
      if (event.success) last = Math.max(last, event.data.seq);
    });
    return last;
  };
}
