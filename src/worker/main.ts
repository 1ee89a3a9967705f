// Entry point of a Deployer worker process: a control worker (workflows, build, events,
// records, locks; Kafka and the Node Manager's topic), or with DEPLOYER_SITE_TASK_QUEUE a site
// worker, which reaches only Temporal and its site's nodes (docs/configuration.md).
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, TransportError } from '@temporalio/worker';
import type { Kafka, Producer } from 'kafkajs';
import { dataConverter } from '../codec/data-converter';
import { loadConfig, type Config } from '../config';
import { fileFleet, followFleet, type FleetFollower } from '../fleet';
import { loadInventory } from '../inventory';
import { createKafka, createLiveProducer, createProducer } from '../kafka/client';
import { createLogger } from '../log';
import { scrapeText, serveMetrics, workerRegistry } from '../metrics';
import { startTracing } from '../tracing';
import { sdkLogger } from './sdk-logger';
import { createSiteWorker, createWorker } from './worker';

/** A port free on loopback now: the SDK's exporter cannot say which port it got for 0. */
async function freeLoopbackPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function main(): Promise<void> {
  const log = createLogger('worker');
  const config = loadConfig();
  loadInventory(config.inventoryPath); // fail at start, not at the first deployment
  // The SDK's exporter listens on loopback only; operators scrape one endpoint per worker,
  // which appends the SDK's metrics to the Deployer's.
  const sdkMetrics = `127.0.0.1:${await freeLoopbackPort()}`;
  Runtime.install({
    logger: sdkLogger(log),
    telemetryOptions: { logging: { forward: {} }, metrics: { prometheus: { bindAddress: sdkMetrics } } },
  });
  const metrics = await serveMetrics(workerRegistry, { host: config.metrics.host, port: config.metrics.workerPort, onPortTaken: (port) => log.warn('metrics port taken; serving metrics on a free port instead', { port }), extra: scrapeText(`http://${sdkMetrics}/metrics`) });
  const tracing = await startTracing(config.tracing, 'worker');
  const converter = dataConverter(config);
  const site = config.temporal.siteTaskQueue;
  // A site worker connects to no Kafka: its nodes are those of its own inventory file, and its
  // steps' events go to the deployment's run through Temporal.
  const control = site === undefined ? await connectKafka(config) : undefined;
  const fleet = control?.fleet.view ?? fileFleet(config.inventoryPath);
  const clientConnection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace, dataConverter: converter, ...(tracing !== undefined ? { interceptors: { workflow: tracing.clientInterceptors } } : {}) });
  try {
    await runThroughOutages(log, async () => {
      const connection = await NativeConnection.connect({ address: config.temporal.address });
      try {
        const common = { config, client, connection, dataConverter: converter, fleet, ...(tracing !== undefined ? { tracing } : {}) };
        const worker = site !== undefined ? await createSiteWorker({ ...common, siteTaskQueue: site }) : await createWorker({ ...common, kafka: control!.kafka, producer: control!.producer, liveProducer: control!.liveProducer, workflowsPath: require.resolve('../../workflows') });
        log.info('worker started', { role: site !== undefined ? 'site' : 'control', taskQueue: site ?? config.temporal.taskQueue, temporal: config.temporal.address, metrics: metrics.url, ...(config.tracing !== undefined ? { traces: config.tracing.endpoint } : {}) });
        await worker.run();
      } finally {
        await connection.close().catch(() => undefined);
      }
    });
  } finally {
    await control?.fleet.stop();
    await control?.liveProducer.disconnect();
    await control?.producer.disconnect();
    await clientConnection.close();
    await metrics.close();
    await tracing?.shutdown();
  }
}

/** What a control worker has beyond a site worker: Kafka, its producers, and the fleet as the Node Manager's topic adds to the file. */
async function connectKafka(config: Config): Promise<{ kafka: Kafka; producer: Producer; liveProducer: Producer; fleet: FleetFollower }> {
  const kafka = createKafka(config, `${config.kafka.clientId}-worker`);
  const producer = createProducer(kafka);
  await producer.connect();
  const liveProducer = createLiveProducer(config);
  await liveProducer.connect();
  // Every node the Node Manager knows, read before the first activity asks for one.
  const fleet = followFleet(config, kafka, createLogger('fleet'));
  await fleet.ready;
  return { kafka, producer, liveProducer, fleet };
}

/**
 * Runs the worker until it is told to stop. The SDK ends a worker whose Temporal server
 * cannot be reached for a few seconds (a restart, an outage); this worker waits it out and
 * polls again with a new connection, as a supervisor would restart it, so that work on the
 * nodes resumes by itself once the server is back. Any other failure ends the process.
 */
async function runThroughOutages(log: ReturnType<typeof createLogger>, run: () => Promise<void>): Promise<void> {
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => (stopping = true));
  let wait = 1000;
  for (;;) {
    const started = Date.now();
    try {
      await run();
      return;
    } catch (err) {
      const lost = err instanceof TransportError || (err as Error | undefined)?.name === 'TransportError';
      if (stopping || !lost) throw err;
      // A worker that ran a while before it lost Temporal starts its backoff over.
      wait = Date.now() - started > 60_000 ? 1000 : wait;
      log.warn('lost Temporal; polling again once it can be reached', { retryInMs: wait, error: String(err) });
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
    if (stopping) return;
    wait = Math.min(wait * 2, 15_000);
  }
}

main().catch((err) => {
  createLogger('worker').error('worker stopped', { error: String(err?.stack ?? err) });
  process.exit(1);
});
