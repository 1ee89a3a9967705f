// Reading a topic back, up to the end it had when the read began: every partition from its
// start, or some partitions from given offsets. Kafka consumers read only in a group, so the
// scan joins one of its own, named for the reader, and deletes it after.
import { randomUUID } from 'node:crypto';
import { Partitioners, type Kafka, type KafkaMessage } from 'kafkajs';
import type { PartitionMetadata } from 'kafkajs';
import { readToEnd } from './read-to-end';

/** How long a scan may take before it gives up: the messages a topic holds in the tens of thousands take seconds. */
const SCAN_TIMEOUT_MS = 60_000;

export interface ScanOptions {
  /** Names the scan's own consumer group, e.g. `deployer-cli-records`. */
  groupPrefix: string;
  /** Where to start in the partitions to read; left out, every partition from its start. */
  from?: Map<number, bigint>;
  timeoutMs?: number;
}

export async function scanTopic(kafka: Kafka, topic: string, options: ScanOptions, each: (message: KafkaMessage, partition: number) => void): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `${options.groupPrefix}-${randomUUID()}`;
  try {
    // The offsets of each partition to read, first and last, as they are now.
    const ranges = new Map<number, { first: bigint; last: bigint }>();
    const offsets = await admin.fetchTopicOffsets(topic);
    for (const o of offsets) {
      const low = BigInt(o.low);
      const wanted = options.from === undefined ? low : options.from.get(o.partition);
      if (wanted === undefined) continue;
      const first = wanted > low ? wanted : low;
      if (BigInt(o.high) > first) ranges.set(o.partition, { first, last: BigInt(o.high) - 1n });
    }
    if (ranges.size === 0) return;
    const timeoutMs = options.timeoutMs ?? SCAN_TIMEOUT_MS;
    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      const delivered = new Map<number, bigint>();
      await readToEnd(consumer, {
        topic,
        ends: new Map([...ranges].map(([partition, { last }]) => [partition, last + 1n])),
        // Each offset of the ranges once: before its seek took effect, a partition may deliver
        // from its start, and the seek may then take it back over what it delivered; after its
        // end come the messages published since the scan began.
        each: (message, partition) => {
          const range = ranges.get(partition);
          const offset = BigInt(message.offset);
          if (range === undefined || offset < range.first || offset > range.last || offset <= (delivered.get(partition) ?? -1n)) return;
          delivered.set(partition, offset);
          each(message, partition);
        },
        timeoutMs,
        tooLong: `reading ${topic} took longer than ${timeoutMs / 1000} s`,
        started: () => {
          if (options.from === undefined) return;
          const others = offsets.map((o) => o.partition).filter((p) => !ranges.has(p));
          if (others.length > 0) consumer.pause([{ topic, partitions: others }]);
          for (const [partition, { first }] of ranges) consumer.seek({ topic, partition, offset: first.toString() });
        },
      });
    } finally {
      await consumer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
  } finally {
    await admin.disconnect();
  }
}

/** A message's value as JSON; undefined when it is none. */
export function valueOf(message: KafkaMessage): unknown {
  if (message.value === null) return undefined;
  try {
    return JSON.parse(message.value.toString());
  } catch {
    return undefined;
  }
}

/** The partition the Deployer's producers send a key to (src/kafka/client.ts: murmur2, the Java client's default). */
export function partitionOf(topic: string, partitionMetadata: PartitionMetadata[], key: string): number {
  return Partitioners.DefaultPartitioner()({ topic, partitionMetadata, message: { key, value: null } });
}
