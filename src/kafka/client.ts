// Kafka clients from the config module; kafkajs's own logs go through the structured logger.
import { Kafka, logLevel, Partitioners, type LogEntry, type Producer } from 'kafkajs';
import type { Config } from '../config';
import { createLogger } from '../log';

export function createKafka(config: Config, clientId = config.kafka.clientId): Kafka {
  const log = createLogger('kafka');
  return new Kafka({
    clientId,
    brokers: config.kafka.brokers,
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...rest } = entry.log;
      const fields = { namespace: entry.namespace, ...rest };
      if (entry.level <= logLevel.ERROR) log.error(message, fields);
      else log.warn(message, fields);
    },
    retry: { initialRetryTime: 300, retries: 10 },
  });
}

/** Keys stay in their partition (murmur2, the Java client's default), so one deployment's events stay in order. */
export function createProducer(kafka: Kafka): Producer {
  return kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
}
