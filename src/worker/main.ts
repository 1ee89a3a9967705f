// Entry point of a Deployer worker process.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, TransportError } from '@temporalio/worker';
import { dataConverter } from '../codec/data-converter';
import { loadConfig } from '../config';
import { followFleet } from '../fleet';
import { loadInventory } from '../inventory';
import { createKafka, createLiveProducer, createProducer } from '../kafka/client';
import { createLogger } from '../log';
import { scrapeText, serveMetrics, workerRegistry } from '../metrics';
import { startTracing } from '../tracing';
import { sdkLogger } from './sdk-logger';
import { createWorker } from './worker';

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
  const kafka = createKafka(config, `${config.kafka.clientId}-worker`);
  const producer = createProducer(kafka);
  await producer.connect();
  const liveProducer = createLiveProducer(kafka);
  await liveProducer.connect();
  // Every node the Node Manager knows, read before the first activity asks for one.
  const fleet = followFleet(config, kafka, createLogger('fleet'));
  await fleet.ready;
  const clientConnection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace, dataConverter: converter, ...(tracing !== undefined ? { interceptors: { workflow: tracing.clientInterceptors } } : {}) });
  const site = config.temporal.siteTaskQueue;
  try {
    await runThroughOutages(log, async () => {
      const connection = await NativeConnection.connect({ address: config.temporal.address });
      try {
        const worker = await createWorker({ config, kafka, producer, liveProducer, client, connection, dataConverter: converter, fleet: fleet.view, workflowsPath: require.resolve('../../workflows'), ...(tracing !== undefined ? { tracing } : {}) });
        log.info('worker started', { role: site !== undefined ? 'site' : 'control', taskQueue: site ?? config.temporal.taskQueue, temporal: config.temporal.address, metrics: metrics.url, ...(config.tracing !== undefined ? { traces: config.tracing.endpoint } : {}) });
        await worker.run();
      } finally {
        await connection.close().catch(() => undefined);
      }
    });
  } finally {
    await fleet.stop();
    await liveProducer.disconnect();
    await producer.disconnect();
    await clientConnection.close();
    await metrics.close();
    await tracing?.shutdown();
  }
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
