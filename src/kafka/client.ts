// Kafka clients from the config module; kafkajs's own logs go through the structured logger.
import { Kafka, logLevel, Partitioners, type KafkaConfig, type LogEntry, type Producer } from 'kafkajs';
import type { Config } from '../config';
import { createLogger } from '../log';

/** How every Kafka client of the Deployer reaches the brokers: TLS and SASL when configured. */
export function kafkaConnection(config: Config): Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'> {
  const { brokers, tls, sasl } = config.kafka;
  return {
    brokers,
    ...(tls !== undefined ? { ssl: tls.ca !== undefined ? { ca: [tls.ca] } : true } : {}),
    ...(sasl !== undefined ? { sasl: { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password.reveal() } as KafkaConfig['sasl'] } : {}),
  };
}

export function createKafka(config: Config, clientId = config.kafka.clientId): Kafka {
  const log = createLogger('kafka');
  return new Kafka({
    clientId,
    ...kafkaConnection(config),
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

/**
 * For a node step's events as they happen (activities/targets/live-events.ts): a send either
 * goes through now or fails at once, never retried in the background. A step must not wait
 * out a broker's outage, and a send retried there could land after the events the deployment
 * publishes once the step gave up publishing live, out of seq order.
 */
export function createLiveProducer(kafka: Kafka): Producer {
  return kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 0 } });
}

/** Keys stay in their partition (murmur2, the Java client's default), so one deployment's events stay in order. */
export function createProducer(kafka: Kafka): Producer {
  return kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
}
