// The CLI's connections to the platform. A person is waiting at the terminal, so each fails
// within seconds and says once what it could not reach (exit 3), instead of the services'
// patient retries and their logs.
import { Client, Connection } from '@temporalio/client';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { dataConverter } from '../codec/data-converter';
import type { Config } from '../config';
import type { Fleet } from '../core/fleet';
import { readFleet } from '../fleet';
import { kafkaConnection } from '../kafka/client';
import { createLogger } from '../log';
import { PlatformUnreachableError } from './errors';

const CONNECT_TIMEOUT_MS = 5_000;

export interface Temporal {
  client: Client;
  /** Runs a call that would otherwise wait for a worker without end (a query), up to a deadline. */
  withDeadline<T>(ms: number, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function connectTemporal(config: Config): Promise<Temporal> {
  // The keys are read first: without them nothing the Deployer wrote can be read (exit 2, not 3).
  const converter = dataConverter(config);
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: config.temporal.address, connectTimeout: CONNECT_TIMEOUT_MS });
  } catch (err) {
    throw new PlatformUnreachableError('Temporal', config.temporal.address, { cause: err });
  }
  return {
    client: new Client({ connection, namespace: config.temporal.namespace, dataConverter: converter }),
    withDeadline: (ms, fn) => connection.withDeadline(Date.now() + ms, fn),
    close: () => connection.close(),
  };
}

export function cliKafka(config: Config): Kafka {
  return new Kafka({
    clientId: `${config.kafka.clientId}-cli`,
    ...kafkaConnection(config),
    connectionTimeout: CONNECT_TIMEOUT_MS,
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 300, retries: 2 },
  });
}

/** Runs `fn` and turns a Kafka failure into PlatformUnreachableError naming the brokers. */
export async function onKafka<T>(config: Config, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if ((err as Error).name?.startsWith('KafkaJS')) throw new PlatformUnreachableError('Kafka', config.kafka.brokers.join(','), { cause: err });
    throw err;
  }
}

/** Sends one request to the requests topic, keyed by application like the Scheduler's. */
export async function sendRequest(config: Config, key: string, value: unknown): Promise<void> {
  await sendMessages(config, config.kafka.topics.requests, [{ key, value: JSON.stringify(value) }]);
}

/**
 * Sends messages to `topic`, keyed, waiting for every replica. Idempotent, so a retry after a
 * lost answer does not write them twice: safe here, unlike in the services' shared producers
 * (src/kafka/client.ts), because this producer makes one send and only that send's own retry
 * reuses its sequence numbers.
 */
export async function sendMessages(config: Config, topic: string, messages: { key: string; value: string | null }[]): Promise<void> {
  const producer: Producer = cliKafka(config).producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
  await onKafka(config, async () => {
    await producer.connect();
    try {
      await producer.send({ topic, acks: -1, messages });
    } finally {
      await producer.disconnect();
    }
  });
}

/** The fleet as the bridge sees it now: the inventory file and the Node Manager's topic, read to its end. */
export function cliFleet(config: Config): Promise<Fleet> {
  return onKafka(config, () => readFleet(config, cliKafka(config), createLogger('cli', 'error')));
}
