// The HTTP API's real dependencies (./deps.ts) from the config: one Temporal connection and
// one Kafka producer for the life of the process, both made without I/O so that the API
// serves (and /readyz says what is missing) while Temporal or Kafka is still coming up.
import { Client, Connection, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { Kafka, logLevel } from 'kafkajs';
import { dataConverter } from '../codec/data-converter';
import type { Config } from '../config';
import { followFleet } from '../fleet';
import { createKafka, createProducer, kafkaConnection } from '../kafka/client';
import { describeDeployment, viewOfRecord, type TemporalAccess } from '../operations/describe';
import { followDeploymentEvents } from '../operations/events';
import { recordMatches } from '../operations/filters';
import { describeNodes } from '../operations/nodes';
import { listDeployments } from '../operations/list';
import { readRecords } from '../operations/records';
import { decideUpdate } from '../../workflows/definitions';
import { fileTokenStore } from './auth';
import type { HttpDeps } from './deps';
import type { Logger } from '../log';
import { traceHeaders } from '../tracing';

/** How long /readyz waits for each of Temporal and Kafka: a probe must answer within seconds. */
const READY_DEADLINE_MS = 2_000;
/** The consumer groups of the API's reads of the records topic. */
const RECORDS_GROUP = 'deployer-http-records';
/** How long the API waits before it reads the Node Manager's topic again after a failure. */
const FLEET_RETRY_MS = 5_000;
/** The workers answer within seconds; past this, no worker serves the Deployer's queue. */
const NODES_DEADLINE_MS = 60_000;

function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function createPlatformDeps(config: Config, log: Logger): { deps: HttpDeps; close(): Promise<void> } {
  const connection = Connection.lazy({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter: dataConverter(config) });
  const temporal: TemporalAccess = { client, withDeadline: (ms, fn) => connection.withDeadline(Date.now() + ms, fn) };
  const kafka = createKafka(config, `${config.kafka.clientId}-http`);
  const producer = createProducer(kafka);
  let connected: Promise<void> | undefined;
  // A probe must not wait out the service clients' patient retries: its own clients make one attempt each.
  const probeTemporal = Connection.lazy({ address: config.temporal.address, interceptors: [], connectTimeout: READY_DEADLINE_MS });
  const probeKafka = new Kafka({ clientId: `${config.kafka.clientId}-http-probe`, ...kafkaConnection(config), connectionTimeout: READY_DEADLINE_MS, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  // Followed from the start, in the background, and again after a failure (Kafka still coming up):
  // until it was read to its end, a request that needs it answers 503 (FleetNotReadyError).
  let fleet = followFleet(config, kafka, log);
  let closing = false;
  const keepFollowing = () =>
    fleet.ready.catch(async (err: unknown) => {
      log.warn('cannot read the Node Manager\'s topic; trying again', { error: (err as Error).message, retryInMs: FLEET_RETRY_MS });
      await fleet.stop();
      setTimeout(() => {
        if (closing) return;
        fleet = followFleet(config, kafka, log);
        void keepFollowing();
      }, FLEET_RETRY_MS).unref();
    });
  void keepFollowing();

  const deps: HttpDeps = {
    tokens: fileTokenStore(config.http.tokensPath, (err) => log.error('cannot read the tokens file; no token is accepted until it is fixed', { error: err.message })),
    parseContext: () => ({ inventory: fleet.view(), gitPrefixes: config.build.gitPrefixes, maxBytes: config.kafka.maxRequestBytes }),
    async send(key, request) {
      connected ??= producer.connect().catch((err: unknown) => {
        connected = undefined;
        throw err;
      });
      await connected;
      const headers = traceHeaders();
      await producer.send({ topic: config.kafka.topics.requests, acks: -1, messages: [{ key, value: JSON.stringify(request), ...(headers !== undefined ? { headers } : {}) }] });
    },
    describe: (deploymentId) => describeDeployment(temporal, deploymentId),
    async record(deploymentId) {
      const { records } = await readRecords(kafka, config.kafka.topics.records, (r) => r.deploymentId === deploymentId, RECORDS_GROUP);
      return records[0] && viewOfRecord(records[0]);
    },
    list: (filters, limit) => listDeployments(client, config.temporal.taskQueue, filters, limit),
    async records(filters, limit) {
      const { records } = await readRecords(kafka, config.kafka.topics.records, recordMatches(filters), RECORDS_GROUP);
      return records.slice(0, limit);
    },
    events: (deploymentId, afterSeq, each, signal) => followDeploymentEvents(kafka, config.kafka.topics.events, deploymentId, afterSeq, each, signal),
    nodes: () => temporal.withDeadline(NODES_DEADLINE_MS, () => describeNodes(client, config.temporal.taskQueue)),
    async decide(deploymentId, decision) {
      try {
        const answer = await client.workflow.getHandle(deploymentId).executeUpdate(decideUpdate, { args: [decision] });
        return { ok: true, ...answer };
      } catch (err) {
        // The workflow refused (not paused, already decided), or it has ended or never existed (Temporal answers not found for both).
        if (err instanceof WorkflowUpdateFailedError) return { ok: false, unknown: false, message: `${deploymentId}: ${(err.cause as Error | undefined)?.message ?? err.message}` };
        if (err instanceof WorkflowNotFoundError) return { ok: false, unknown: true, message: `no running deployment '${deploymentId}'` };
        throw err;
      }
    },
    async unreachable() {
      const checks = [
        {
          service: 'Temporal',
          at: config.temporal.address,
          probe: () => within(READY_DEADLINE_MS, 'Temporal', probeTemporal.withDeadline(Date.now() + READY_DEADLINE_MS, () => probeTemporal.workflowService.getSystemInfo({}))),
        },
        {
          service: 'Kafka',
          at: config.kafka.brokers.join(','),
          probe: async () => {
            const admin = probeKafka.admin();
            try {
              await within(READY_DEADLINE_MS, 'Kafka', admin.connect().then(() => admin.describeCluster()));
            } finally {
              await admin.disconnect().catch(() => {});
            }
          },
        },
      ];
      const answers = await Promise.all(checks.map(async ({ service, at, probe }) => probe().then(() => undefined, (err: unknown) => ({ service, reason: `cannot reach ${service} at ${at}: ${(err as Error).message}` }))));
      return answers.filter((a) => a !== undefined);
    },
  };
  return {
    deps,
    async close() {
      if (connected !== undefined) await producer.disconnect().catch(() => {});
      closing = true;
      await fleet.stop();
      await probeTemporal.close();
      await connection.close();
    },
  };
}
