// The Kafka bridge: consumes `deployer.requests`, validates each request against the
// contract (or imports a TOSCA service template as one Deploy per application) and acts on
// it in Temporal. At least once, with the effect of exactly once: the offset is committed
// only after the request was acted on (workflow started) or dead-lettered, and workflow id =
// deploymentId makes a redelivered request start nothing.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Consumer, KafkaMessage, Producer } from 'kafkajs';
import type { Config } from '../config';
import type { Logger } from '../log';
import { bridgeMetrics } from '../metrics';
import type { StatusEvent } from '../core/schemas/event';
import type { Inventory } from '../core/schemas/inventory';
import type { Request } from '../core/schemas/request';
import { createOperations } from '../operations/start';
import type { Issue } from '../core/issues';
import { deadLetterOf, REASON_CHARS } from './dead-letter';
import { parseRequest } from './parse';

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

export type Handled = 'started' | 'duplicate' | 'dead-lettered' | 'cancelled' | 'ignored';

/** Where a request came from: what a Retry run remembers, so that a redelivered Retry is recognised. */
const coordinates = (w: { topic: string; partition: number; offset: string }) => `${w.topic}/${w.partition}/${w.offset}`;

export function createBridge({ config, client, consumer, producer, inventory, log }: BridgeDeps) {
  const { topics } = config.kafka;
  const { startOperation, requestOf } = createOperations(client, config.temporal.taskQueue, { lockIdleMs: config.lockIdleMs });

  async function deadLetter(where: { topic: string; partition: number; message: KafkaMessage }, reason: string, issues: Issue[]): Promise<void> {
    const { topic, partition, message } = where;
    const record = deadLetterOf({ topic, partition, offset: message.offset, value: message.value ?? Buffer.alloc(0), reason, issues }, config.kafka.maxRequestBytes);
    await producer.send({
      topic: topics.deadLetters,
      acks: -1,
      messages: [{ key: message.key, value: JSON.stringify(record) }],
    });
  }

  async function rejected(deploymentId: string, application: string | undefined, reason: string): Promise<void> {
    const event: StatusEvent = {
      deploymentId,
      ...(application !== undefined ? { application } : {}),
      phase: 'Rejected',
      message: reason.slice(0, REASON_CHARS),
      at: new Date().toISOString(),
      seq: 1,
    };
    await producer.send({ topic: topics.events, acks: -1, messages: [{ key: deploymentId, value: JSON.stringify(event) }] });
  }

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

  /** Retry: the same request again, as a new run of the same workflow id. */
  async function retry(deploymentId: string, where: { topic: string; partition: number; offset: string }): Promise<Handled | Issue[]> {
    const handle = client.workflow.getHandle(deploymentId);
    let described;
    try {
      described = await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return [{ path: ['deploymentId'], message: `no deployment '${deploymentId}'` }];
      throw err;
    }
    if (described.status.name === 'RUNNING') return 'ignored';
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
    const coords = { topic: where.topic, partition: where.partition, offset: where.message.offset };
    const outcome =
      request.kind === 'Cancel' ? await cancel(request.deploymentId) : request.kind === 'Retry' ? await retry(request.deploymentId, coords) : await startOperation(request);
    if (Array.isArray(outcome)) {
      // About an existing (or unknown) deployment: a dead letter, but no Rejected event, which would add a second terminal event.
      const reason = outcome.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      await deadLetter(where, reason, outcome);
      log.warn('request rejected', { ...coords, kind: request.kind, deploymentId: request.deploymentId, reason });
      return 'dead-lettered';
    }
    log.info(`${request.kind} request: ${outcome}`, { ...coords, deploymentId: request.deploymentId });
    return outcome;
  }

  /**
   * Acts on one message: its request, or each request of a TOSCA template in order (dependencies
   * first). Throws only when it could not act (Temporal or Kafka unreachable): then nothing is
   * committed, and the message is handled again from its first request, whose start is then a duplicate.
   */
  async function handle(topic: string, partition: number, message: KafkaMessage): Promise<Handled[]> {
    const where = { topic, partition, offset: message.offset };
    // Counted once the whole message was acted on, so a message handled again after an outage counts once, its whole wait as lag.
    const acted = (outcomes: Handled[]): Handled[] => {
      for (const outcome of outcomes) bridgeMetrics.requests.inc({ outcome });
      bridgeMetrics.lag.observe(Math.max(0, Date.now() - Number(message.timestamp)) / 1000);
      return outcomes;
    };
    const parsed = parseRequest(message.value, {
      inventory: inventory(),
      gitPrefixes: config.build.gitPrefixes,
      maxBytes: config.kafka.maxRequestBytes,
    });
    if (!parsed.ok) {
      await deadLetter({ topic, partition, message }, parsed.reason, parsed.issues);
      // A Rejected event only for an id that names no deployment yet: an existing one already has (or will have) its own terminal event.
      if (parsed.deploymentId !== undefined && !(await deploymentExists(parsed.deploymentId))) {
        await rejected(parsed.deploymentId, parsed.application, parsed.reason);
      }
      // Cut as the Rejected event's: a reason naming every unknown field of a large message is about as large as the message.
      log.warn('request rejected', { ...where, deploymentId: parsed.deploymentId, reason: parsed.reason.slice(0, REASON_CHARS) });
      return acted(['dead-lettered']);
    }
    const outcomes: Handled[] = [];
    for (const request of parsed.requests) outcomes.push(await act(request, { topic, partition, message }));
    return acted(outcomes);
  }

  return {
    handle,
    async run(): Promise<void> {
      await consumer.subscribe({ topic: topics.requests, fromBeginning: true });
      let backoffMs = MIN_BACKOFF_MS;
      await consumer.run({
        eachMessage: async ({ topic, partition, message }) => {
          try {
            await handle(topic, partition, message);
            backoffMs = MIN_BACKOFF_MS;
          } catch (err) {
            // Temporal (or Kafka) could not be reached: nothing is committed. The partition
            // pauses, and after the pause the same message is fetched and handled again.
            log.warn('could not act on a request; pausing the partition', { topic, partition, offset: message.offset, retryInMs: backoffMs, error: String(err) });
            consumer.pause([{ topic, partitions: [partition] }]);
            setTimeout(() => consumer.resume([{ topic, partitions: [partition] }]), backoffMs).unref();
            backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
            throw err;
          }
        },
      });
    },
  };
}
