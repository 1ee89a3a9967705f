// Following one deployment's status events on the events topic, from after a given seq, until
// its terminal event: what the API's Server-Sent Events stream (GET /v1/deployments/{id}/events)
// sends. The events of a deployment are keyed by its deploymentId, so they share one
// partition: its end as of the start tells when the backlog has been read, so that a client
// resuming after the terminal event (Last-Event-ID) gets an end instead of a silent stream.
import { randomUUID } from 'node:crypto';
import { Partitioners, type Kafka } from 'kafkajs';
import { isTerminal, statusEventSchema, type StatusEvent } from '../core/schemas/event';
import { valueOf } from '../kafka/topic-scan';

const ended = (e: StatusEvent) => e.node === undefined && isTerminal(e.phase);

/**
 * Calls `each` for every event of `deploymentId` with a seq above `afterSeq`, in order, once
 * each (repeats dropped by seq); resolves after the terminal event, when the backlog shows
 * the deployment ended at or before `afterSeq`, or when `signal` aborts.
 */
export async function followDeploymentEvents(kafka: Kafka, topic: string, deploymentId: string, afterSeq: number, each: (event: StatusEvent) => Promise<void>, signal: AbortSignal): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  let partition: number;
  let backlogEnd: bigint;
  try {
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    // The producers' partitioner (murmur2 of the key), so this is the partition the events are on.
    partition = Partitioners.DefaultPartitioner()({ topic, partitionMetadata: metadata!.partitions, message: { key: deploymentId, value: null } });
    const offsets = (await admin.fetchTopicOffsets(topic)).find((o) => o.partition === partition)!;
    backlogEnd = BigInt(offsets.high) > BigInt(offsets.low) ? BigInt(offsets.high) - 1n : -1n;
  } finally {
    await admin.disconnect();
  }
  const groupId = `deployer-http-events-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  try {
    await new Promise<void>((resolve, reject) => {
      if (signal.aborted) return resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
      const seen = new Set<number>();
      let latest: StatusEvent | undefined;
      const caughtUp = () => latest !== undefined && ended(latest) && latest.seq <= afterSeq;
      consumer
        .subscribe({ topic, fromBeginning: true })
        .then(() =>
          consumer.run({
            autoCommit: false,
            eachMessage: async ({ partition: p, message }) => {
              if (p !== partition || signal.aborted) return;
              if (message.key?.toString() === deploymentId) {
                const event = statusEventSchema.safeParse(valueOf(message));
                if (event.success && !seen.has(event.data.seq)) {
                  seen.add(event.data.seq);
                  if (latest === undefined || event.data.seq > latest.seq) latest = event.data;
                  if (event.data.seq > afterSeq) {
                    await each(event.data);
                    if (ended(event.data)) return resolve();
                  }
                }
              }
              if (BigInt(message.offset) >= backlogEnd && caughtUp()) resolve();
            },
          }),
        )
        .catch(reject);
    });
  } finally {
    await consumer.disconnect().catch(() => {});
    const cleanup = kafka.admin();
    await cleanup
      .connect()
      .then(() => cleanup.deleteGroups([groupId]))
      .catch(() => undefined);
    await cleanup.disconnect().catch(() => {});
  }
}
