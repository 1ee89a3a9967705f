// A worker whose every node is the SIMULATED target (simulated-target.ts), for the wide
// benchmark only. Otherwise the Deployer's own worker: same workflows, same control
// activities, same configuration (its inventory names the simulated nodes).
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { dataConverter } from '../../src/codec/data-converter';
import { loadConfig } from '../../src/config';
import { fileFleet } from '../../src/fleet';
import { createKafka, createLiveProducer, createProducer } from '../../src/kafka/client';
import { createWorker } from '../../src/worker/worker';
import { simulatedTarget } from './simulated-target';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const config = loadConfig();
  const converter = dataConverter(config);
  const kafka = createKafka(config, `${config.kafka.clientId}-simulated-worker`);
  const producer = createProducer(kafka);
  await producer.connect();
  const liveProducer = createLiveProducer(config);
  await liveProducer.connect();
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const client = new Client({ connection: await Connection.connect({ address: config.temporal.address }), namespace: config.temporal.namespace, dataConverter: converter });
  const worker = await createWorker({ config, kafka, producer, liveProducer, client, connection, dataConverter: converter, fleet: fileFleet(config.inventoryPath), workflowsPath: require.resolve('../../workflows'), targets: { 'docker-engine': simulatedTarget() } });
  process.once('SIGTERM', () => worker.shutdown());
  await worker.run();
  await liveProducer.disconnect();
  await producer.disconnect();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
