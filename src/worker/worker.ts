// The worker: the one place where activities get their clients. A control worker serves the
// main task queue (workflows, build host, and every node without a task queue of its own);
// a site worker (`siteTaskQueue` set) serves only the node activities of its site's queue,
// next to its nodes, and runs no workflows.
import type { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { type NativeConnection, Worker } from '@temporalio/worker';
import type { Kafka, Producer } from 'kafkajs';
import { createActivities, createEventPublisher, createNodeSideActivities, directorySecretProvider, type TargetFactories } from '../../activities';
import type { Config } from '../config';
import type { Fleet } from '../core/fleet';
import type { Tracing } from '../tracing';
import { checkWorkflowBundle } from './workflow-bundle';

export interface WorkerOptions {
  config: Config;
  /** The Kafka client the producer came from: a compensation reads the events topic back with it. */
  kafka: Kafka;
  producer: Producer;
  /** Where node steps publish their events as they happen (createLiveProducer); absent, nodes report their steps when they end. */
  liveProducer?: Producer;
  /** For the activities that talk to Temporal itself (the application locks, history). */
  client: Client;
  connection: NativeConnection;
  /** The same converter as the client's (src/codec), so both read what the other wrote. */
  dataConverter: DataConverter;
  /** The fleet as of now (src/fleet.ts): what every activity looks nodes up in. */
  fleet: () => Fleet;
  /** Path of workflows/index (.ts under ts-jest, .js when compiled). */
  workflowsPath: string;
  taskQueue?: string;
  /** Replaces a kind of target: only a benchmark that says it simulates nodes does this. */
  targets?: Partial<TargetFactories>;
  /** Set when tracing is on (src/tracing): the workflow and activity interceptors, and the sink of the workflows' spans. */
  tracing?: Tracing;
}

export async function createWorker({ config, kafka, producer, liveProducer, client, connection, dataConverter, fleet, workflowsPath, taskQueue, targets, tracing }: WorkerOptions): Promise<Worker> {
  const nodeDeps = {
    fleet,
    client,
    secrets: directorySecretProvider(config.secretsPath),
    defaultTaskQueue: config.temporal.taskQueue,
    publishEvents: createEventPublisher(producer, config.kafka.topics.events, undefined, liveProducer),
    ...(targets !== undefined ? { targets } : {}),
  };
  if (config.temporal.siteTaskQueue !== undefined) {
    // No workflows for this queue: it dies with its site, so the workflows bound every call they send here.
    const activity = tracing?.workerOptions.interceptors?.activity;
    return Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.siteTaskQueue,
      dataConverter,
      activities: createNodeSideActivities(nodeDeps),
      ...(activity !== undefined ? { interceptors: { activity } } : {}),
    });
  }
  if (config.workflowBundlePath !== undefined) checkWorkflowBundle(config.workflowBundlePath, dataConverter.failureConverterPath, tracing !== undefined);
  return Worker.create({
    ...tracing?.workerOptions,
    connection,
    namespace: config.temporal.namespace,
    taskQueue: taskQueue ?? config.temporal.taskQueue,
    // A prebuilt bundle saves each worker the seconds of CPU that bundling takes at start.
    ...(config.workflowBundlePath !== undefined ? { workflowBundle: { codePath: config.workflowBundlePath } } : { workflowsPath }),
    dataConverter,
    activities: createActivities({ ...nodeDeps, kafka, producer, eventsTopic: config.kafka.topics.events, recordsTopic: config.kafka.topics.records, lockIdleMs: config.lockIdleMs, buildSources: config.build }),
  });
}
