// Status events adapter: publishes the workflow's events on `deployer.events`, keyed by
// deploymentId so that one deployment's events stay in one partition, in order.
import type { Producer } from 'kafkajs';
import { statusEventSchema, type StatusEvent } from '../src/schemas/event';

export function createEventActivities(producer: Producer, topic: string) {
  return {
    /**
     * At least once: a retried publish may repeat an event with the same seq, which
     * consumers drop; seq is assigned by the workflow, so a repeat never gets a new one.
     */
    async publishEvent(event: StatusEvent): Promise<void> {
      const valid = statusEventSchema.parse(event);
      await producer.send({ topic, acks: -1, messages: [{ key: valid.deploymentId, value: JSON.stringify(valid) }] });
    },
  };
}

export type EventActivities = ReturnType<typeof createEventActivities>;
