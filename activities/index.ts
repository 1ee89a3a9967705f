// All activities, built from their adapters. The worker is the only place that wires them.
import type { Producer } from 'kafkajs';
import type { Inventory } from '../src/schemas/inventory';
import { createBuildActivities } from './build';
import { createDockerActivities } from './docker';
import { Engines } from './engines';
import { createEventActivities } from './events';
import { createHealthActivities } from './health';
import { createInventoryActivities } from './inventory';

export interface ActivityDeps {
  inventory: () => Inventory;
  producer: Producer;
  eventsTopic: string;
  taskQueue: string;
}

export function createActivities({ inventory, producer, eventsTopic, taskQueue }: ActivityDeps) {
  const engines = new Engines(inventory);
  return {
    ...createInventoryActivities(inventory, taskQueue),
    ...createBuildActivities(engines, () => inventory().registry.push),
    ...createDockerActivities(engines),
    ...createHealthActivities(engines),
    ...createEventActivities(producer, eventsTopic),
  };
}

export type Activities = ReturnType<typeof createActivities>;
