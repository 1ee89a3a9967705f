// All activities, built from their adapters. The worker is the only place that wires them.
import type { Client } from '@temporalio/client';
import type { Producer } from 'kafkajs';
import type { Inventory } from '../src/schemas/inventory';
import { createBuildActivities } from './build';
import { createDependencyActivities } from './dependencies';
import { createDockerActivities } from './docker';
import { allHeartbeating } from './heartbeat';
import { Engines } from './engines';
import { createEventActivities } from './events';
import { createHealthActivities } from './health';
import { createHistoryActivities } from './history';
import { createInventoryActivities } from './inventory';
import { createLockActivities } from './lock';
import { createRecordActivities } from './records';
import type { SecretProvider } from './secrets';

export interface ActivityDeps {
  inventory: () => Inventory;
  producer: Producer;
  client: Client;
  secrets: SecretProvider;
  eventsTopic: string;
  recordsTopic: string;
  taskQueue: string;
}

export function createActivities({ inventory, producer, client, secrets, eventsTopic, recordsTopic, taskQueue }: ActivityDeps) {
  const engines = new Engines(inventory);
  return {
    ...createInventoryActivities(inventory, taskQueue),
    ...allHeartbeating(createBuildActivities(engines, () => inventory().registry.push)),
    ...allHeartbeating(createDockerActivities(engines, secrets)),
    ...createHealthActivities(engines),
    ...createEventActivities(producer, eventsTopic),
    ...createRecordActivities(producer, recordsTopic),
    ...createLockActivities(client, taskQueue),
    ...allHeartbeating(createHistoryActivities(client)),
    ...createDependencyActivities(engines, client),
  };
}

export type Activities = ReturnType<typeof createActivities>;
