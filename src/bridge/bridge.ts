// The Kafka bridge: consumes `deployer.requests`, validates each request against the
// contract and acts on it in Temporal. At least once, with the effect of exactly once:
// the offset is committed only after the request was acted on (workflow started) or
// dead-lettered, and workflow id = deploymentId makes a redelivered request start nothing.
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Consumer, KafkaMessage, Producer } from 'kafkajs';
import type { Config } from '../config';
import type { Logger } from '../log';
import type { DeadLetter } from '../schemas/dead-letter';
import type { StatusEvent } from '../schemas/event';
import type { Inventory } from '../schemas/inventory';
import type { DeployRequest, Request } from '../schemas/request';
import { SEARCH_ATTRIBUTES } from '../search-attributes';
import type { deployWorkflow } from '../../workflows/deploy';
import { parseRequest, type Issue } from './parse';

export interface BridgeDeps {
  config: Config;
  client: Client;
  consumer: Consumer;
  producer: Producer;
  inventory: () => Inventory;
  log: Logger;
}

export type Handled = 'started' | 'duplicate' | 'dead-lettered';

/** Request features this version of the Deployer does not carry out yet: rejected, never ignored. */
function notYetSupported(request: Request): Issue[] {
  if (request.kind !== 'Deploy') {
    return [{ path: ['kind'], message: `${request.kind} requests are not supported by this Deployer version yet` }];
  }
  const issues: Issue[] = [];
  if (request.container.secrets.length > 0) issues.push({ path: ['container', 'secrets'], message: 'secrets are not supported by this Deployer version yet' });
  if (request.dependsOn.length > 0) issues.push({ path: ['dependsOn'], message: 'dependsOn is not supported by this Deployer version yet' });
  if (request.strategy.onFailure === 'pause') issues.push({ path: ['strategy', 'onFailure'], message: '"pause" is not supported by this Deployer version yet' });
  return issues;
}

export function createBridge({ config, client, consumer, producer, inventory, log }: BridgeDeps) {
  const { topics } = config.kafka;

  async function deadLetter(where: { topic: string; partition: number; message: KafkaMessage }, reason: string, issues: Issue[]): Promise<void> {
    const value = where.message.value ?? Buffer.alloc(0);
    const text = (() => {
      try {
        return { original: new TextDecoder('utf-8', { fatal: true }).decode(value), originalEncoding: 'utf8' as const };
      } catch {
        return { original: value.toString('base64'), originalEncoding: 'base64' as const };
      }
    })();
    const record: DeadLetter = { reason, issues, topic: where.topic, partition: where.partition, offset: where.message.offset, ...text };
    await producer.send({
      topic: topics.deadLetters,
      acks: -1,
      messages: [{ key: where.message.key, value: JSON.stringify(record) }],
    });
  }

  async function rejected(deploymentId: string, application: string | undefined, reason: string): Promise<void> {
    const event: StatusEvent = {
      deploymentId,
      ...(application !== undefined ? { application } : {}),
      phase: 'Rejected',
      message: reason.slice(0, 4096),
      at: new Date().toISOString(),
      seq: 1,
    };
    await producer.send({ topic: topics.events, acks: -1, messages: [{ key: deploymentId, value: JSON.stringify(event) }] });
  }

  async function startDeploy(request: DeployRequest): Promise<Handled> {
    try {
      await client.workflow.start<typeof deployWorkflow>('deployWorkflow', {
        workflowId: request.deploymentId,
        taskQueue: config.temporal.taskQueue,
        args: [request],
        // A deploymentId names one deployment forever: a redelivery, even after it ended, starts nothing.
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTES.application, value: request.application.name },
          { key: SEARCH_ATTRIBUTES.version, value: request.application.version },
          { key: SEARCH_ATTRIBUTES.status, value: 'Accepted' },
          { key: SEARCH_ATTRIBUTES.nodes, value: request.nodes },
        ],
        staticSummary: `Deploy ${request.application.name}:${request.application.version} to ${request.nodes.join(', ')}`,
      });
      return 'started';
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return 'duplicate';
      throw err;
    }
  }

  /** Acts on one message. Throws only when it could not act (Temporal or Kafka unreachable): then nothing is committed. */
  async function handle(topic: string, partition: number, message: KafkaMessage): Promise<Handled> {
    const where = { topic, partition, offset: message.offset };
    const parsed = parseRequest(message.value, {
      knownNodes: new Set(inventory().nodes.map((n) => n.id)),
      maxBytes: config.kafka.maxRequestBytes,
    });
    let problem: { reason: string; issues: Issue[]; deploymentId?: string; application?: string } | undefined;
    if (!parsed.ok) problem = parsed;
    else {
      const issues = notYetSupported(parsed.request);
      if (issues.length > 0) {
        const deploymentId = parsed.request.deploymentId;
        problem = { reason: issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), issues, deploymentId };
      }
    }
    if (problem !== undefined) {
      await deadLetter({ topic, partition, message }, problem.reason, problem.issues);
      if (problem.deploymentId !== undefined) await rejected(problem.deploymentId, problem.application, problem.reason);
      log.warn('request rejected', { ...where, deploymentId: problem.deploymentId, reason: problem.reason });
      return 'dead-lettered';
    }
    const request = (parsed as { request: DeployRequest }).request;
    const outcome = await startDeploy(request);
    log.info(outcome === 'started' ? 'deployment started' : 'deployment already exists; redelivered request ignored', {
      ...where,
      deploymentId: request.deploymentId,
    });
    return outcome;
  }

  return {
    handle,
    async run(): Promise<void> {
      await consumer.subscribe({ topic: topics.requests, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ topic, partition, message }) => {
          await handle(topic, partition, message);
        },
      });
    },
  };
}
