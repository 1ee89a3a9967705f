// Reading a topic to the end it had when the read began (src/kafka/read-to-end.ts), on the real
// broker, when the last offsets hold records a consumer is never handed: a transaction's commit
// or abort marker, and the records of an aborted transaction. Both readers that wait for that
// end — a one-off scan (src/kafka/topic-scan.ts) and the fleet follower (src/fleet.ts) — must
// get there at once, not when their timeout gives up.
import { Partitioners, type Producer } from 'kafkajs';
import type { Config } from '../../src/config';
import { followFleet, type FleetFollower } from '../../src/fleet';
import { partitionOf, scanTopic } from '../../src/kafka/topic-scan';
import { createLogger } from '../../src/log';
import { startDeployer, waitFor, type TestDeployer } from '../support/deployer';

jest.setTimeout(120_000);

/** Well under the readers' own timeouts (60 s): a read that only ends there fails. */
const PROMPTLY_MS = 15_000;

const run = Date.now().toString(36);
let d: TestDeployer;
let producer: Producer;
const topics: string[] = [];

const started = Date.now();
beforeAll(async () => {
  d = await startDeployer('read-to-end', { worker: false, bridge: false });
  producer = d.kafka.producer({ transactionalId: `it-read-to-end-${run}`, idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await d?.admin.deleteTopics({ topics }).catch(() => undefined);
  await d?.stop();
  process.stderr.write(`read-to-end suite: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
});

/** A topic of this run, compacted like the Node Manager's, with three partitions. */
async function newTopic(name: string): Promise<string> {
  const topic = `it-read-to-end-${run}.${name}`;
  topics.push(topic);
  await d.admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
  return topic;
}

/** Offsets after the last one of each partition that a read-committed reader may read up to. */
async function ends(topic: string): Promise<Map<number, bigint>> {
  return new Map((await d.admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
}

const total = (offsets: Map<number, bigint>) => [...offsets.values()].reduce((a, b) => a + b, 0n);

/**
 * Sends the messages in one transaction, then commits or aborts it, and waits for its markers:
 * the broker writes them after the commit or abort returns, and until then the topic's end is
 * before the transaction. So the last offset of every partition it wrote to is its marker.
 */
async function transaction(topic: string, messages: { key: string; value: string | null }[], end: 'commit' | 'abort'): Promise<void> {
  const before = total(await ends(topic));
  const { topics: [{ partitions }] } = await d.admin.fetchTopicMetadata({ topics: [topic] });
  const markers = new Set(messages.map((m) => partitionOf(topic, partitions, m.key))).size;
  const tx = await producer.transaction();
  try {
    await tx.send({ topic, acks: -1, messages });
  } catch (err) {
    await tx.abort();
    throw err;
  }
  await (end === 'commit' ? tx.commit() : tx.abort());
  const expected = before + BigInt(messages.length + markers);
  await waitFor(`the ${end} markers on ${topic}`, async () => total(await ends(topic)) === expected, PROMPTLY_MS, 50);
}

/** Waits for `promise` to settle no later than PROMPTLY_MS from now; throws what it threw. */
async function promptly<T>(what: string, promise: Promise<T>): Promise<T> {
  let outcome: { value: T } | { error: unknown } | undefined;
  promise.then(
    (value) => (outcome = { value }),
    (error: unknown) => (outcome = { error }),
  );
  await waitFor(what, () => outcome, PROMPTLY_MS, 50);
  if ('error' in outcome!) throw outcome.error;
  return outcome!.value;
}

const nodeRecord = (nodeId: string, generation: number) =>
  JSON.stringify({ nodeId, generation, observedAt: new Date().toISOString(), status: 'Online', address: '10.77.0.11', target: { kind: 'docker-engine', docker: { host: '10.77.0.11', port: 2375, insecure: true } } });

describe('reading a topic to its end when its last offset is a transaction marker', () => {
  it('a scan of the whole topic ends at once with every committed message', async () => {
    const topic = await newTopic('scan');
    const keys = Array.from({ length: 9 }, (_, i) => `key-${i}`);
    await transaction(topic, keys.map((key) => ({ key, value: `v-${key}` })), 'commit');

    const seen: string[] = [];
    await promptly('the scan to end', scanTopic(d.kafka, topic, { groupPrefix: `it-read-to-end-${run}` }, (m) => seen.push(m.key!.toString())));
    expect(seen.sort()).toEqual(keys);
  });

  it('a scan from given offsets ends at once when all it has left is an aborted transaction', async () => {
    const topic = await newTopic('aborted');
    await transaction(topic, [{ key: 'kept', value: 'kept' }], 'commit');
    const from = await ends(topic);
    await transaction(topic, ['a', 'b', 'c', 'd', 'e', 'f'].map((key) => ({ key, value: key })), 'abort');

    const seen: string[] = [];
    await promptly('the scan to end', scanTopic(d.kafka, topic, { groupPrefix: `it-read-to-end-${run}`, from }, (m) => seen.push(m.key!.toString())));
    expect(seen).toEqual([]);
  });

  it('the fleet follower is ready at once with every node, and goes on following after', async () => {
    const topic = await newTopic('nodes');
    const ids = Array.from({ length: 5 }, (_, i) => `rte-${run}-${i}`);
    await transaction(topic, ids.map((id) => ({ key: id, value: nodeRecord(id, 1) })), 'commit');
    // An aborted transaction after it: the follower must neither wait for it nor apply it.
    await transaction(topic, [{ key: ids[0]!, value: null }], 'abort');

    const config: Config = { ...d.config, kafka: { ...d.config.kafka, topics: { ...d.config.kafka.topics, nodes: topic } } };
    let fleet: FleetFollower | undefined;
    try {
      fleet = followFleet(config, d.kafka, createLogger('fleet', 'warn'));
      await promptly('the fleet to be ready', fleet.ready);
      const ours = () => fleet!.view().nodes.filter((n) => n.id.startsWith(`rte-${run}-`)).map((n) => n.id);
      expect(ours().sort()).toEqual(ids);

      await transaction(topic, [{ key: ids[0]!, value: null }], 'commit');
      await waitFor('the follower to take the tombstone sent after it was ready', () => !ours().includes(ids[0]!), PROMPTLY_MS);
    } finally {
      await fleet?.stop();
    }
  });
});
