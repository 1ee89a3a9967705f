// The worker: the one place where activities get their clients. It serves the main task
// queue (workflows, build host, and every node without a task queue of its own).
import type { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { type NativeConnection, Worker } from '@temporalio/worker';
import type { Producer } from 'kafkajs';
import { createActivities } from '../../activities';
import { directorySecretProvider } from '../../activities/secrets';
import type { Config } from '../config';
import { loadInventory } from '../inventory';

export interface WorkerOptions {
  config: Config;
  producer: Producer;
  /** For the activities that talk to Temporal itself (the application locks). */
  client: Client;
  connection: NativeConnection;
  /** The same converter as the client's (src/codec), so both read what the other wrote. */
  dataConverter: DataConverter;
  /** Path of workflows/index (.ts under ts-jest, .js when compiled). */
  workflowsPath: string;
  taskQueue?: string;
}

export async function createWorker({ config, producer, client, connection, dataConverter, workflowsPath, taskQueue }: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: taskQueue ?? config.temporal.taskQueue,
    workflowsPath,
    dataConverter,
    activities: createActivities({
      inventory: () => loadInventory(config.inventoryPath),
      producer,
      client,
      secrets: directorySecretProvider(config.secretsPath),
      eventsTopic: config.kafka.topics.events,
      recordsTopic: config.kafka.topics.records,
      taskQueue: config.temporal.taskQueue,
    }),
  });
}
