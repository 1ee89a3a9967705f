// Reading how far a deployment's events got on the real events topic (src/kafka/published-seq.ts):
// what the compensation of a terminated run, a Retry and a Reset number their events after,
// when the run's history does not hold everything it published.
import type { Producer } from 'kafkajs';
import { createProducer } from '../../src/kafka/client';
import { publishedSeqReader } from '../../src/kafka/published-seq';
import type { StatusEvent } from '../../src/core/schemas/event';
import { startDeployer, type TestDeployer } from '../support/deployer';

jest.setTimeout(120_000);

let d: TestDeployer;
let producer: Producer;
// A topic of its own, like the events topic: it also holds what is not an event, which the test Deployer's own reader refuses.
let topic: string;

beforeAll(async () => {
  d = await startDeployer('published-seq', { worker: false, bridge: false });
  topic = `${d.config.kafka.topics.events}.read-back`;
  await d.admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3, replicationFactor: 1 }] });
  producer = createProducer(d.kafka);
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await d?.admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await d?.stop();
});

const event = (deploymentId: string, seq: number): StatusEvent => ({ deploymentId, application: 'seq-app', phase: 'Accepted', message: `event ${seq}`, at: new Date().toISOString(), seq });

async function publish(...events: StatusEvent[]): Promise<void> {
  await producer.send({ topic, acks: -1, messages: events.map((e) => ({ key: e.deploymentId, value: JSON.stringify(e) })) });
}

describe('the last seq of a deployment on the events topic', () => {
  it("is the highest of that deployment's events since the time asked, whatever else the topic holds", async () => {
    const read = publishedSeqReader(d.kafka, topic);
    const [a, b] = [`seq-a-${Date.now()}`, `seq-b-${Date.now()}`];
    // Other keys in between land in every partition: the read keeps to its deployment.
    const others = Array.from({ length: 12 }, (_, i) => event(`seq-other-${i}`, 40 + i));
    await publish(event(a, 1), ...others, event(b, 7), event(a, 3), event(a, 2), event('not json', 1));
    await producer.send({ topic, messages: [{ key: a, value: 'not an event' }, { key: a, value: null }] });

    expect(await read(a, Date.now() - 60_000)).toBe(3);
    expect(await read(b, Date.now() - 60_000)).toBe(7);
    expect(await read(`seq-none-${Date.now()}`, Date.now() - 60_000)).toBe(0);

    // Only what was published since the time asked.
    const since = Date.now() + 1;
    await new Promise((r) => setTimeout(r, 5));
    await publish(event(b, 9));
    expect(await read(a, since)).toBe(0);
    expect(await read(b, since)).toBe(9);
  });
});
