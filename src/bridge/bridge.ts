// The Kafka bridge: consumes `deployer.requests`, validates each request against the
// contract (or imports a TOSCA service template as one Deploy per application) and acts on
// it in Temporal. At least once, with the effect of exactly once: the offset is committed
// only after the request was acted on (workflow started) or dead-lettered, and workflow id =
// deploymentId makes a redelivered request start nothing.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Consumer, EachBatchPayload, KafkaMessage, Producer, TopicMessages } from 'kafkajs';
import type { Config } from '../config';
import type { Logger } from '../log';
import { bridgeMetrics } from '../metrics';
import type { StatusEvent } from '../core/schemas/event';
import type { Inventory } from '../core/schemas/inventory';
import type { Request } from '../core/schemas/request';
import { createOperations } from '../operations/start';
import { traceArrival } from '../tracing';
import type { Issue } from '../core/issues';
import { deadLetterOf, REASON_CHARS } from './dead-letter';
import { actInOrder, refusalKeys, requestKeys, type Work } from './in-order';
import { parseRequest, type Parsed } from './parse';

export interface BridgeDeps {
  config: Config;
  client: Client;
  consumer: Consumer;
  producer: Producer;
  inventory: () => Inventory;
  log: Logger;
}

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
/** Messages of one partition acted on side by side at most. */
const AT_ONCE = 16;
/** Partitions acted on side by side at most: as many as the requests topic has in the local stack. */
const PARTITIONS_AT_ONCE = 3;

/** How long a Retry waits for a deployment that is still running to close (it may have just published its outcome). */
const CLOSING_WITHIN_MS = 15_000;

export type Handled = 'started' | 'duplicate' | 'dead-lettered' | 'cancelled' | 'ignored';

/** Where a request came from: what a Retry run remembers, so that a redelivered Retry is recognised. */
const coordinates = (w: { topic: string; partition: number; offset: string }) => `${w.topic}/${w.partition}/${w.offset}`;

export function createBridge({ config, client, consumer, producer, inventory, log }: BridgeDeps) {
  const { topics } = config.kafka;
  const { startOperation, requestOf } = createOperations(client, config.temporal.taskQueue, { lockIdleMs: config.lockIdleMs });

  /** The dead letter of a message, as a message of the dead-letter topic. */
  function deadLetter(where: { topic: string; partition: number; message: KafkaMessage }, reason: string, issues: Issue[]): TopicMessages {
    const { topic, partition, message } = where;
    const record = deadLetterOf({ topic, partition, offset: message.offset, value: message.value ?? Buffer.alloc(0), reason, issues }, config.kafka.maxRequestBytes);
    return { topic: topics.deadLetters, messages: [{ key: message.key, value: JSON.stringify(record) }] };
  }

  /** A Rejected event, as a message of the events topic. */
  function rejected(deploymentId: string, application: string | undefined, reason: string): TopicMessages {
    const event: StatusEvent = {
      deploymentId,
      ...(application !== undefined ? { application } : {}),
      phase: 'Rejected',
      message: reason.slice(0, REASON_CHARS),
      at: new Date().toISOString(),
      seq: 1,
    };
    return { topic: topics.events, messages: [{ key: deploymentId, value: JSON.stringify(event) }] };
  }

  /** Publishes messages of several topics in one request to the broker, each written by every replica before it returns. */
  const publish = (topicMessages: TopicMessages[]) => producer.sendBatch({ acks: -1, topicMessages });

  async function deploymentExists(deploymentId: string): Promise<boolean> {
    try {
      await client.workflow.getHandle(deploymentId).describe();
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  /** Cancel: the deployment rolls back what it changed and ends Cancelled. A Cancel of an ended one changes nothing. */
  async function cancel(deploymentId: string): Promise<Handled | Issue[]> {
    const handle = client.workflow.getHandle(deploymentId);
    try {
      const { status } = await handle.describe();
      if (status.name !== 'RUNNING') return 'ignored';
      await handle.cancel();
      return 'cancelled';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return [{ path: ['deploymentId'], message: `no deployment '${deploymentId}'` }];
      throw err;
    }
  }

  /**
   * Retry: the same request again, as a new run of the same workflow id. A deployment that
   * has published its outcome still releases its lock and writes its memo before its run
   * closes: a Retry sent on its terminal event can arrive in that moment, so a running one
   * gets a few seconds to close. One still running after them is refused, with the reason.
   */
  async function retry(deploymentId: string, where: { topic: string; partition: number; offset: string }): Promise<Handled | Issue[]> {
    const handle = client.workflow.getHandle(deploymentId);
    let described;
    try {
      described = await handle.describe();
      for (const until = Date.now() + CLOSING_WITHIN_MS; described.status.name === 'RUNNING' && Date.now() < until; ) {
        await new Promise((r) => setTimeout(r, 250));
        described = await handle.describe();
      }
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return [{ path: ['deploymentId'], message: `no deployment '${deploymentId}'` }];
      throw err;
    }
    if (described.status.name === 'RUNNING') {
      return [{ path: ['deploymentId'], message: `deployment '${deploymentId}' is still running; only a failed, cancelled or rolled-back deployment can be retried` }];
    }
    if (described.status.name === 'COMPLETED') {
      return [{ path: ['deploymentId'], message: `deployment '${deploymentId}' succeeded; only a failed, cancelled or rolled-back deployment can be retried` }];
    }
    // This very message already started the latest run: a redelivery.
    if (described.memo?.retriedBy === coordinates(where)) return 'duplicate';
    const request = await requestOf(deploymentId);
    const lastSeq = typeof described.memo?.lastSeq === 'number' ? described.memo.lastSeq : 0;
    return startOperation(request, { options: { seqStart: lastSeq }, retriedBy: coordinates(where) });
  }

  /** Acts on one request of a message; a request about an existing (or unknown) deployment that cannot be done is dead-lettered. */
  async function act(request: Request, where: { topic: string; partition: number; message: KafkaMessage }): Promise<Handled> {
    // The root of the deployment's trace, or the continuation of the one the message carries (a request sent through the HTTP API).
    return traceArrival('kafka', request, () => actOn(request, where), where.message.headers);
  }

  async function actOn(request: Request, where: { topic: string; partition: number; message: KafkaMessage }): Promise<Handled> {
    const coords = { topic: where.topic, partition: where.partition, offset: where.message.offset };
    const outcome =
      request.kind === 'Cancel' ? await cancel(request.deploymentId) : request.kind === 'Retry' ? await retry(request.deploymentId, coords) : await startOperation(request);
    if (Array.isArray(outcome)) {
      // About an existing (or unknown) deployment: a dead letter, but no Rejected event, which would add a second terminal event.
      const reason = outcome.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      await publish([deadLetter(where, reason, outcome)]);
      log.warn('request rejected', { ...coords, kind: request.kind, deploymentId: request.deploymentId, reason });
      return 'dead-lettered';
    }
    log.info(`${request.kind} request: ${outcome}`, { ...coords, deploymentId: request.deploymentId });
    return outcome;
  }

  /** What a message asks, or why it is refused. */
  const parse = (message: KafkaMessage): Parsed =>
    parseRequest(message.value, { inventory: inventory(), gitPrefixes: config.build.gitPrefixes, maxBytes: config.kafka.maxRequestBytes });

  /** Counted once the whole message was acted on, so a message handled again after an outage counts once, its whole wait as lag. */
  function acted(message: KafkaMessage, outcomes: Handled[]): Handled[] {
    for (const outcome of outcomes) bridgeMetrics.requests.inc({ outcome });
    bridgeMetrics.lag.observe(Math.max(0, Date.now() - Number(message.timestamp)) / 1000);
    return outcomes;
  }

  /**
   * Refuses a message: its dead letter and, when it names a deployment that does not exist yet,
   * a Rejected event, published in one request to the broker.
   */
  async function refuse(topic: string, partition: number, message: KafkaMessage, parsed: Extract<Parsed, { ok: false }>): Promise<Handled[]> {
    // A Rejected event only for an id that names no deployment yet: an existing one already has (or will have) its own terminal event.
    const event = parsed.deploymentId !== undefined && !(await deploymentExists(parsed.deploymentId)) ? [rejected(parsed.deploymentId, parsed.application, parsed.reason)] : [];
    await publish([deadLetter({ topic, partition, message }, parsed.reason, parsed.issues), ...event]);
    // Cut as the Rejected event's: a reason naming every unknown field of a large message is about as large as the message.
    log.warn('request rejected', { topic, partition, offset: message.offset, deploymentId: parsed.deploymentId, reason: parsed.reason.slice(0, REASON_CHARS) });
    return acted(message, ['dead-lettered']);
  }

  /** Acts on each request of a message in order: a TOSCA template's dependencies first. */
  async function accept(topic: string, partition: number, message: KafkaMessage, requests: Request[]): Promise<Handled[]> {
    const outcomes: Handled[] = [];
    for (const request of requests) outcomes.push(await act(request, { topic, partition, message }));
    return acted(message, outcomes);
  }

  /**
   * Acts on one message: refuses it, or acts on its requests. Throws only when it could not act
   * (Temporal or Kafka unreachable): then nothing is committed, and the message is handled
   * again from its first request, whose start is then a duplicate.
   */
  async function handle(topic: string, partition: number, message: KafkaMessage): Promise<Handled[]> {
    const parsed = parse(message);
    return parsed.ok ? accept(topic, partition, message, parsed.requests) : refuse(topic, partition, message, parsed);
  }

  /**
   * Acts on a batch of one partition's messages: side by side where their order cannot matter
   * (in-order.ts), each message's offset resolved, to be committed, once it and every message
   * before it was acted on.
   */
  async function handleBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    function* works(): Iterable<Work> {
      for (const message of batch.messages) {
        const parsed = parse(message);
        const actOn = parsed.ok ? () => accept(topic, partition, message, parsed.requests) : () => refuse(topic, partition, message, parsed);
        yield {
          offset: message.offset,
          keys: parsed.ok ? requestKeys(parsed.requests) : refusalKeys(parsed.deploymentId),
          // A long batch keeps the consumer's session; a rebalance under way fails the message, which is then handled again.
          act: async () => {
            await actOn();
            await heartbeat();
          },
        };
      }
    }
    await actInOrder(works(), { limit: AT_ONCE, resolve: resolveOffset, stopped: () => !isRunning() || isStale() });
  }

  return {
    handle,
    async run(): Promise<void> {
      await consumer.subscribe({ topic: topics.requests, fromBeginning: true });
      const backoffMs = new Map<number, number>();
      await consumer.run({
        // The partitions of one fetch side by side (the next fetch waits for them all).
        partitionsConsumedConcurrently: PARTITIONS_AT_ONCE,
        eachBatchAutoResolve: false,
        eachBatch: async (payload) => {
          const { topic, partition } = payload.batch;
          try {
            await handleBatch(payload);
            backoffMs.delete(partition);
          } catch (err) {
            // Temporal (or Kafka) could not be reached: what was acted on is committed, the rest
            // not. The partition pauses, and after the pause the first message not acted on is
            // fetched and handled again.
            const retryInMs = backoffMs.get(partition) ?? MIN_BACKOFF_MS;
            log.warn('could not act on a request; pausing the partition', { topic, partition, retryInMs, error: String(err) });
            consumer.pause([{ topic, partitions: [partition] }]);
            setTimeout(() => {
              // A consumer that crashed meanwhile (its retries ran out while a broker was being
              // fenced) is restarting: it has no group to resume in and throws, which here, in a
              // timer, would end the process. Its restart joins with nothing paused, so there is
              // nothing to resume.
              try {
                consumer.resume([{ topic, partitions: [partition] }]);
              } catch (resumeErr) {
                log.warn('the consumer is restarting; the partition is fetched again when it has', { topic, partition, error: String(resumeErr) });
              }
            }, retryInMs).unref();
            backoffMs.set(partition, Math.min(retryInMs * 2, MAX_BACKOFF_MS));
            throw err;
          }
        },
      });
    },
  };
}
