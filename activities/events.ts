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
    async publishEvents(events: StatusEvent[]): Promise<void> {
      const valid = events.map((e) => statusEventSchema.parse(e));
      await producer.send({ topic, acks: -1, messages: valid.map((e) => ({ key: e.deploymentId, value: JSON.stringify(e) })) });
    },
  };
}

export type EventActivities = ReturnType<typeof createEventActivities>;
