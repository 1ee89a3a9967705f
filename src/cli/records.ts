// Reading deployment records back from the compacted records topic: every partition from its
// start to the end it had when the read began, keeping the latest record per deploymentId
// (compaction may not have folded older ones yet, and a null value deletes one).
import type { Kafka } from 'kafkajs';
import { deploymentRecordSchema, type DeploymentRecord } from '../core/schemas/record';

/** How long a scan may take before it gives up: the records a topic holds in the tens of thousands take seconds. */
const SCAN_TIMEOUT_MS = 60_000;

export interface RecordScan {
  records: DeploymentRecord[];
  /** Values the schema refused (written by something else); skipped. */
  invalid: number;
}

export async function readRecords(kafka: Kafka, topic: string, keep: (r: DeploymentRecord) => boolean = () => true): Promise<RecordScan> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `deployer-cli-records-${process.pid}-${Date.now()}`;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const last = new Map(offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high) - 1n]));
    const latest = new Map<string, DeploymentRecord | undefined>();
    let invalid = 0;
    if (last.size > 0) {
      const consumer = kafka.consumer({ groupId });
      await consumer.connect();
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`reading ${topic} took longer than ${SCAN_TIMEOUT_MS / 1000} s`)), SCAN_TIMEOUT_MS);
          consumer
            .run({
              autoCommit: false,
              eachMessage: async ({ partition, message }) => {
                const key = message.key?.toString();
                if (key !== undefined) {
                  if (message.value === null) latest.set(key, undefined);
                  else {
                    const parsed = deploymentRecordSchema.safeParse(parseJson(message.value.toString()));
                    if (parsed.success) latest.set(key, parsed.data);
                    else invalid++;
                  }
                }
                const end = last.get(partition);
                if (end !== undefined && BigInt(message.offset) >= end) last.delete(partition);
                if (last.size === 0) {
                  clearTimeout(timer);
                  resolve();
                }
              },
            })
            .catch(reject);
        });
      } finally {
        await consumer.disconnect();
        await admin.deleteGroups([groupId]).catch(() => undefined);
      }
    }
    const records = [...latest.values()].filter((r): r is DeploymentRecord => r !== undefined && keep(r));
    records.sort((a, b) => b.endedAt.localeCompare(a.endedAt));
    return { records, invalid };
  } finally {
    await admin.disconnect();
  }
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
