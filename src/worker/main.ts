// Entry point of a Deployer worker process.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { dataConverter } from '../codec/data-converter';
import { loadConfig } from '../config';
import { loadInventory } from '../inventory';
import { createKafka, createProducer } from '../kafka/client';
import { createLogger } from '../log';
import { scrapeText, serveMetrics, workerRegistry } from '../metrics';
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
  const converter = dataConverter(config);
  const producer = createProducer(createKafka(config, `${config.kafka.clientId}-worker`));
  await producer.connect();
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const clientConnection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace, dataConverter: converter });
  const worker = await createWorker({ config, producer, client, connection, dataConverter: converter, workflowsPath: require.resolve('../../workflows') });
  const site = config.temporal.siteTaskQueue;
  log.info('worker started', { role: site !== undefined ? 'site' : 'control', taskQueue: site ?? config.temporal.taskQueue, temporal: config.temporal.address, metrics: metrics.url });
  try {
    await worker.run();
  } finally {
    await producer.disconnect();
    await clientConnection.close();
    await connection.close();
    await metrics.close();
  }
}

main().catch((err) => {
  createLogger('worker').error('worker stopped', { error: String(err?.stack ?? err) });
  process.exit(1);
});
