// Reading deployment records back from the compacted records topic: every partition from its
// start to the end it had when the read began, keeping the latest record per deploymentId
// (compaction may not have folded older ones yet, and a null value deletes one).
import type { Kafka } from 'kafkajs';
import { deploymentRecordSchema, type DeploymentRecord } from '../core/schemas/record';
import { scanTopic, valueOf } from '../kafka/topic-scan';

export interface RecordScan {
  records: DeploymentRecord[];
  /** Values the schema refused (written by something else); skipped. */
  invalid: number;
}

/** `groupPrefix` names the reader's consumer group (the CLI's, the API's), for whoever looks at the groups. */
export async function readRecords(kafka: Kafka, topic: string, keep: (r: DeploymentRecord) => boolean = () => true, groupPrefix = 'deployer-cli-records'): Promise<RecordScan> {
  const latest = new Map<string, DeploymentRecord | undefined>();
  let invalid = 0;
  await scanTopic(kafka, topic, { groupPrefix }, (message) => {
    const key = message.key?.toString();
    if (key === undefined) return;
    if (message.value === null) {
      latest.set(key, undefined);
      return;
    }
    const parsed = deploymentRecordSchema.safeParse(valueOf(message));
    if (parsed.success) latest.set(key, parsed.data);
    else invalid++;
  });
  const records = [...latest.values()].filter((r): r is DeploymentRecord => r !== undefined && keep(r));
  records.sort((a, b) => b.endedAt.localeCompare(a.endedAt));
  return { records, invalid };
}
