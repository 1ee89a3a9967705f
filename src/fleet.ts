// The fleet as every process reads it (worker, bridge, HTTP API, CLI): the inventory file
// merged with the Node Manager's topic by the rules of src/core/fleet.ts. A long-running
// process follows the topic from its start, in a consumer group of its own that commits
// nothing (each process keeps its own whole view); the CLI reads it once to its end.
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Config } from './config';
import { applyJudgement, emptyTopicView, fleetOfFile, judgeRecord, mergeFleet, type Fleet, type Judgement, type TopicView } from './core/fleet';
import type { Inventory } from './core/schemas/inventory';
import { inventoryReader } from './inventory';
import { readToEnd } from './kafka/read-to-end';
import { scanTopic } from './kafka/topic-scan';
import type { Logger } from './log';
import { fleetRecords } from './metrics';

/** How long a process waits at start to have read the topic up to its end. */
const CATCH_UP_TIMEOUT_MS = 60_000;

/** Thrown when the fleet is asked for before the topic was read to the end it had at start: an answer then could miss nodes. */
export class FleetNotReadyError extends Error {
  override readonly name = 'FleetNotReadyError';
}

export interface FleetFollower {
  /** The merged view as of now. */
  view: () => Fleet;
  /** Settles once the topic was read up to the end it had at start; rejects when it cannot be. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/** Judges and applies one message, logging and counting what it did; whether it changed the view. */
function take(view: TopicView, message: KafkaMessage, inventory: Inventory, log: Logger): boolean {
  const key = message.key === null ? null : message.key.toString('utf8');
  const judgement: Judgement = judgeRecord(key, message.value, key === null ? undefined : view.generations.get(key), inventory);
  const outcome = judgement.kind === 'record' ? 'applied' : judgement.kind;
  fleetRecords.inc({ outcome });
  if (judgement.kind === 'invalid' || judgement.kind === 'stale') {
    log.warn(`node record ${judgement.kind}: it changes nothing`, { nodeId: judgement.nodeId, offset: message.offset, reason: judgement.reason });
  } else {
    log.info(judgement.kind === 'record' ? 'node record applied' : 'node decommissioned', judgement.kind === 'record' ? { nodeId: judgement.record.nodeId, generation: judgement.record.generation, status: judgement.record.status } : { nodeId: judgement.nodeId });
  }
  return applyJudgement(view, judgement);
}

/** The merged view, merged again only when the file or the topic (its `version`) changed; problems logged once each time they change. */
function mergedView(readInventory: () => Inventory, topic: TopicView, version: () => number, log: Logger): () => Fleet {
  let cached: { inventory: Inventory; version: number; fleet: Fleet; problems: string } | undefined;
  return () => {
    const inventory = readInventory();
    const now = version();
    if (cached?.inventory === inventory && cached.version === now) return cached.fleet;
    const { fleet, problems } = mergeFleet(inventory, topic);
    const said = problems.join('\n');
    if (said !== '' && said !== cached?.problems) log.warn('node records the inventory cannot resolve; those nodes are as the file has them', { problems });
    cached = { inventory, version: now, fleet, problems: said };
    return fleet;
  };
}

/** The inventory file alone, as a fleet: DEPLOYER_NODES_TOPIC set empty. */
export function fileFleet(inventoryPath: string): () => Fleet {
  const read = inventoryReader(inventoryPath);
  let cached: { inventory: Inventory; fleet: Fleet } | undefined;
  return () => {
    const inventory = read();
    if (cached?.inventory !== inventory) cached = { inventory, fleet: fleetOfFile(inventory) };
    return cached.fleet;
  };
}

/** The end offset of each partition of the topic that holds anything now; a clear error when the topic does not exist. */
async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [] });
    if (!topics.some((t) => t.name === topic)) {
      throw new Error(`the Node Manager's topic '${topic}' does not exist: create it (compacted) as scripts/stack.sh does, or set DEPLOYER_NODES_TOPIC to nothing to use the inventory file alone`);
    }
    return new Map((await admin.fetchTopicOffsets(topic)).filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Follows the Node Manager's topic from its beginning, for the life of the process. `view`
 * throws FleetNotReadyError until the topic was read to the end it had at start: a worker or
 * bridge awaits `ready` before it serves; the HTTP API answers 503 meanwhile.
 */
export function followFleet(config: Config, kafka: Kafka, log: Logger): FleetFollower {
  const readInventory = inventoryReader(config.inventoryPath);
  const topicName = config.kafka.topics.nodes;
  if (topicName === undefined) return { view: fileFleet(config.inventoryPath), ready: Promise.resolve(), stop: async () => {} };
  const topic = emptyTopicView();
  let version = 0;
  let caughtUp = false;
  const merged = mergedView(readInventory, topic, () => version, log);
  const groupId = `${config.kafka.clientId}-fleet-${randomUUID()}`;
  let consumer: Consumer | undefined;

  const ready = (async () => {
    const ends = await endOffsets(kafka, topicName);
    consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topic: topicName, fromBeginning: true });
    await readToEnd(consumer, {
      topic: topicName,
      ends,
      each: (message) => {
        if (take(topic, message, readInventory(), log)) version += 1;
      },
      timeoutMs: CATCH_UP_TIMEOUT_MS,
      tooLong: `reading the Node Manager's topic '${topicName}' to its end took longer than ${CATCH_UP_TIMEOUT_MS / 1000} s`,
    });
    caughtUp = true;
    log.info('fleet read', { topic: topicName, nodes: merged().nodes.length });
  })();
  ready.catch(() => undefined);

  return {
    view: () => {
      if (!caughtUp) throw new FleetNotReadyError(`the Node Manager's topic '${topicName}' has not been read to its end yet`);
      return merged();
    },
    ready,
    async stop() {
      await consumer?.disconnect().catch(() => undefined);
      const admin = kafka.admin();
      await admin.connect().then(() => admin.deleteGroups([groupId])).catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    },
  };
}

/** The fleet as of now, read once (the CLI): the topic up to its end, merged with the file. */
export async function readFleet(config: Config, kafka: Kafka, log: Logger): Promise<Fleet> {
  const inventory = inventoryReader(config.inventoryPath)();
  const topicName = config.kafka.topics.nodes;
  if (topicName === undefined) return fleetOfFile(inventory);
  await endOffsets(kafka, topicName);
  const topic = emptyTopicView();
  await scanTopic(kafka, topicName, { groupPrefix: `${config.kafka.clientId}-cli-fleet` }, (message) => {
    const key = message.key === null ? null : message.key.toString('utf8');
    applyJudgement(topic, judgeRecord(key, message.value, key === null ? undefined : topic.generations.get(key), inventory));
  });
  return mergedView(() => inventory, topic, () => 0, log)();
}
