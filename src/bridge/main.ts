// Entry point of the Kafka bridge process.
import { Client, Connection } from '@temporalio/client';
import { dataConverter } from '../codec/data-converter';
import { loadConfig } from '../config';
import { followFleet } from '../fleet';
import { loadInventory } from '../inventory';
import { createKafka, createProducer } from '../kafka/client';
import { createLogger } from '../log';
import { bridgeRegistry, serveMetrics } from '../metrics';
import { startTracing } from '../tracing';
import { createBridge } from './bridge';

async function main(): Promise<void> {
  const log = createLogger('bridge');
  const config = loadConfig();
  loadInventory(config.inventoryPath); // fail at start, not at the first request
  const metrics = await serveMetrics(bridgeRegistry, { host: config.metrics.host, port: config.metrics.bridgePort, onPortTaken: (port) => log.warn('metrics port taken; serving metrics on a free port instead', { port }) });
  const tracing = await startTracing(config.tracing, 'bridge');
  const converter = dataConverter(config);
  const kafka = createKafka(config, `${config.kafka.clientId}-bridge`);
  const producer = createProducer(kafka);
  const consumer = kafka.consumer({ groupId: config.kafka.groupId });
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter: converter, ...(tracing !== undefined ? { interceptors: { workflow: tracing.clientInterceptors } } : {}) });
  // Every node the Node Manager knows, read before the first request is admitted.
  const fleet = followFleet(config, kafka, createLogger('fleet'));
  await fleet.ready;
  await producer.connect();
  await consumer.connect();
  const bridge = createBridge({ config, client, consumer, producer, inventory: fleet.view, log });
  await bridge.run();
  log.info('bridge started', { topic: config.kafka.topics.requests, group: config.kafka.groupId, metrics: metrics.url, ...(config.tracing !== undefined ? { traces: config.tracing.endpoint } : {}) });

  const stop = async (signal: string) => {
    log.info('bridge stopping', { signal });
    await consumer.disconnect();
    await fleet.stop();
    await producer.disconnect();
    await connection.close();
    await tracing?.shutdown();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  createLogger('bridge').error('bridge stopped', { error: String(err?.stack ?? err) });
  process.exit(1);
});
