// Entry point of a Deployer worker process.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { dataConverter } from '../codec/data-converter';
import { loadConfig } from '../config';
import { loadInventory } from '../inventory';
import { createKafka, createProducer } from '../kafka/client';
import { createLogger } from '../log';
import { createWorker } from './worker';

async function main(): Promise<void> {
  const log = createLogger('worker');
  const config = loadConfig();
  loadInventory(config.inventoryPath); // fail at start, not at the first deployment
  const converter = dataConverter(config);
  const producer = createProducer(createKafka(config, `${config.kafka.clientId}-worker`));
  await producer.connect();
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const clientConnection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace, dataConverter: converter });
  const worker = await createWorker({ config, producer, client, connection, dataConverter: converter, workflowsPath: require.resolve('../../workflows') });
  log.info('worker started', { taskQueue: config.temporal.taskQueue, temporal: config.temporal.address });
  try {
    await worker.run();
  } finally {
    await producer.disconnect();
    await clientConnection.close();
    await connection.close();
  }
}

main().catch((err) => {
  createLogger('worker').error('worker stopped', { error: String(err?.stack ?? err) });
  process.exit(1);
});
