// Deployment records adapter: writes the record of a deployment that ended to the compacted
// `deployer.records` topic, keyed by deploymentId, so that compaction keeps the latest
// record of each deployment (a Retry's run replaces the one before it).
import type { Producer } from 'kafkajs';
import { deploymentRecordSchema, type DeploymentRecord } from '../../src/core/schemas/record';

/** What a record said of a deployment's end. */
export interface RecordedOutcome {
  status: DeploymentRecord['status'];
  reason?: string;
}

export function createRecordActivities(producer: Producer, topic: string) {
  return {
    /**
     * Idempotent: a repeat writes the same record under the same key, which compaction folds
     * into one. Returns the outcome it recorded, which the run's history then keeps (a local
     * activity's input is not kept): what a terminated run's compensation reads.
     */
    async recordDeployment(record: DeploymentRecord): Promise<RecordedOutcome> {
      const valid = deploymentRecordSchema.parse(record);
      await producer.send({ topic, acks: -1, messages: [{ key: valid.deploymentId, value: JSON.stringify(valid) }] });
      return { status: valid.status, ...(valid.reason !== undefined ? { reason: valid.reason } : {}) };
    },
  };
}

export type RecordActivities = ReturnType<typeof createRecordActivities>;
