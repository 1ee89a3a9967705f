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
  return kafkaClient(config, clientId, {
    // Seven retries from 300 ms, doubling, at most 5 s apart, span about 20 s: longer than a
    // quorum stalls when a broker dies (a new controller, then the dead broker fenced: ~12 s,
    // docs/cluster-mode.md), so a send or a commit then waits instead of failing; shorter than
    // an attempt of the workflows' publish (30 s, workflows/options.ts), so a send never goes
    // on retrying behind an attempt that timed out, to land late after later events. Every
    // field is given: kafkajs takes the rest from defaults that shrink under NODE_ENV=test.
    retry: { initialRetryTime: 300, multiplier: 2, factor: 0.2, maxRetryTime: 5_000, retries: 7 },
  });
}

function kafkaClient(config: Config, clientId: string, behaviour: Pick<KafkaConfig, 'retry' | 'requestTimeout'>): Kafka {
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
    ...behaviour,
  });
}

/**
 * For a node step's events as they happen (activities/targets/live-events.ts): a send either
 * goes through now or fails at once, never retried in the background. A step must not wait
 * out a broker's outage, and a send retried there could land after the events the deployment
 * publishes once the step gave up publishing live, out of seq order. So a client of its own:
 * the shared one's retries (about 20 s, above) also govern finding the broker before
 * a send, which a producer's own `retries: 0` does not cut short. (Not idempotent either:
 * kafkajs refuses an idempotent producer without retries.)
 */
export function createLiveProducer(config: Config): Producer {
  const kafka = kafkaClient(config, `${config.kafka.clientId}-live`, { retry: { retries: 0 }, requestTimeout: LIVE_REQUEST_TIMEOUT_MS });
  return kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 0 } });
}

/** A live send not answered in this time fails: a broker that hangs must not hold a step either. */
const LIVE_REQUEST_TIMEOUT_MS = 5_000;

/**
 * Keys stay in their partition (murmur2, the Java client's default), so one deployment's events
 * stay in order. Every send waits for all in-sync replicas (acks -1).
 *
 * Not idempotent: these producers are shared by concurrent sends, and kafkajs 2.2.4's
 * idempotent producer hands the sequence numbers of a failed request back to whichever send
 * comes next. When a broker dies after replicating a batch but before answering, a different
 * batch with the same numbers is then acknowledged as its duplicate and silently dropped
 * (measured on the quorum: one acknowledged message lost in three runs of 30 concurrent senders
 * with the leader killed; docs/cluster-mode.md). A retried send may instead land twice, which
 * the Deployer absorbs: events are told apart by seq, a second request for a deployment starts
 * no second workflow, and records are compacted by key.
 */
export function createProducer(kafka: Kafka): Producer {
  return kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
}
