// A Deployer on the three-broker quorum (scripts/kafka-quorum.sh) loses a broker in the middle
// of a burst of requests, with deployments under way and ending: the quorum's active
// controller is SIGKILLed, the harshest loss (a new controller is elected, and every partition
// that broker led stalls until it is fenced, about 12 s). The worker and the bridge run in their own processes, as in production, on topics
// replicated three times with two in sync. Every request is still started exactly once,
// nothing valid is dead-lettered, and every deployment's terminal event arrives (once, told by
// its seq: a publish retried after a lost answer may land twice, which the contract allows).
// Then the broker starts again and rejoins: every replica back in sync.
//
// The requests are Undeploys of applications that were never deployed, on one fog node: each
// is a whole operation (bridge, workflow, application lock, an engine read, events, a record)
// that ends Succeeded, "nothing to remove", touching no container.
import { isTerminal } from '../../src/core/schemas/event';
import { engineNodes, runsOf, startDeployer, waitFor, type TestDeployer } from '../support/deployer';
import { kafkaQuorum, QUORUM_BROKERS, quorumLeader } from '../support/stack-control';

jest.setTimeout(900_000);

const BURST = 200;
/** The request, by number, after which the broker is killed (once a first deployment ended): the rest are sent while the quorum recovers. */
const KILL_AFTER = 60;
const stamp = Date.now().toString(36);
const ids = Array.from({ length: BURST }, (_, i) => `it-kq${i}-${stamp}`);
let d: TestDeployer;
let killed: number | undefined;

beforeAll(async () => {
  kafkaQuorum('up');
  d = await startDeployer('kquorum', { processes: true, replicas: 3, settings: { KAFKA_BROKERS: QUORUM_BROKERS } });
});

afterAll(async () => {
  if (killed !== undefined) kafkaQuorum('start-broker', String(killed));
  if (d) await d.stop();
});

const ms = (from: number) => `${((performance.now() - from) / 1000).toFixed(1)} s`;
const terminalOf = (id: string) => d.events.filter((e) => e.deploymentId === id && isTerminal(e.phase));

describe('a broker of the Kafka quorum killed during a burst of requests', () => {
  it('loses no request and starts none twice; every deployment ends once; the broker rejoins', async () => {
    const { topics } = d.config.kafka;
    const names = [topics.requests, topics.events, topics.deadLetters, topics.records];
    // The topics as the quorum's own: three replicas, two of them needed for a write.
    const metadata = await d.admin.fetchTopicMetadata({ topics: names });
    expect(metadata.topics.flatMap((t) => t.partitions.map((p) => p.replicas.length))).toEqual(Array(12).fill(3));
    const configs = await d.admin.describeConfigs({ includeSynonyms: false, resources: names.map((name) => ({ type: 2, name, configNames: ['min.insync.replicas'] })) });
    expect(configs.resources.map((r) => r.configEntries[0]?.configValue)).toEqual(['2', '2', '2', '2']);

    const node = engineNodes(d)[0]!.id;
    const victim = quorumLeader();
    const t0 = performance.now();
    let endedAtKill = 0;
    let killAt = 0;
    for (const [i, id] of ids.entries()) {
      const application = id;
      await d.send({ kind: 'Undeploy', deploymentId: id, application, nodes: [node] }, application);
      if (i + 1 === KILL_AFTER) {
        // Once events flow (a deployment has ended), so the kill meets every kind of traffic:
        // requests consumed, workflows started, events and records published, offsets committed.
        await waitFor('a first deployment to end', () => ids.some((x) => terminalOf(x).length > 0), 120_000, 50);
        endedAtKill = ids.filter((x) => terminalOf(x).length > 0).length;
        kafkaQuorum('kill-broker', String(victim));
        killed = victim;
        killAt = performance.now();
      }
    }
    const sent = ms(t0);
    // The kill met work in flight: not every request sent before it had ended.
    expect(endedAtKill).toBeLessThan(KILL_AFTER);

    await waitFor(`all ${BURST} deployments to end`, () => ids.every((id) => terminalOf(id).length > 0), 600_000, 1000);
    const ended = ms(t0);
    const afterKill = ms(killAt);

    // Every terminal event delivered, once by its seq, and Succeeded.
    const outcomes = ids.map((id) => [id, [...new Map(terminalOf(id).map((e) => [e.seq, e.phase])).values()]]);
    expect(outcomes.filter(([, phases]) => phases.length !== 1 || phases[0] !== 'Succeeded')).toEqual([]);
    const redelivered = ids.reduce((n, id) => n + terminalOf(id).length - 1, 0);
    // Nothing valid dead-lettered.
    expect(d.deadLetters).toEqual([]);
    // Exactly one workflow run per request, and no other operation on the test's queue.
    const runs = await Promise.all(ids.map(async (id) => [id, (await runsOf(d, id)).length] as const));
    expect(runs.filter(([, n]) => n !== 1)).toEqual([]);
    const query = `TaskQueue = '${d.config.temporal.taskQueue}' AND WorkflowType = 'undeployWorkflow'`;
    const counted = await waitFor(`Temporal's list to show ${BURST} Undeploys`, async () => {
      const { count } = await d.client.workflow.count(query);
      return count >= BURST ? count : undefined;
    });
    expect(counted).toBe(BURST);

    // The broker again: it rejoins, and every replica of the test's topics is in sync once more.
    const t1 = performance.now();
    kafkaQuorum('start-broker', String(victim));
    killed = undefined;
    await waitFor('every replica back in sync', async () => {
      const { topics: found } = await d.admin.fetchTopicMetadata({ topics: names });
      return found.every((t) => t.partitions.every((p) => p.isr.length === 3));
    }, 120_000, 500);
    console.log(
      `kafka quorum: broker ${victim} (the active controller) SIGKILLed after request ${KILL_AFTER} of ${BURST} (${endedAtKill} ended by then); ` +
        `burst sent in ${sent}, all ended ${ended} after the first send (${afterKill} after the kill); ` +
        `${redelivered} terminal events delivered a second time (same seq); broker back with every replica in sync in ${ms(t1)}`,
    );
  });
});
