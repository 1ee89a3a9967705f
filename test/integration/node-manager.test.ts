// The Node Manager's topic on the real stack (contract node-manager-kafka-v1): a compiled
// worker and bridge in processes of their own follow platform.nodes, and every change there
// applies without a restart. Nodes are this run's own (unique ids on the shared topic, each
// tombstoned at the end) and are driven through the fog nodes' real engines.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { createProducer } from '../../src/kafka/client';
import { describeNodes } from '../../src/operations/nodes';
import { runCli } from '../support/cli';
import { containersOf, httpGet, removeApplication, runningOn, startDeployer, waitFor, type TestDeployer } from '../support/deployer';

jest.setTimeout(300_000);

const run = Date.now().toString(36);
const app = `it-nm-${run}`;
/** This run's nodes, unknown to any other suite. */
const ids = { added: `nm-${run}-added`, offline: `nm-${run}-offline`, slow: `nm-${run}-slow`, gone: `nm-${run}-gone`, first: `nm-${run}-first`, waited: `nm-${run}-waited` };
/** The application of the test that decommissions a node in its health wait: nothing of the others' runs beside it. */
const waitedApp = `${app}-w`;
/** Two plain-TCP fog engines of the stack's inventory that stand behind this run's nodes. */
const engines = { 'fog-1': '10.77.0.11', 'fog-2': '10.77.0.12' } as const;
const TOPIC = 'platform.nodes';
let d: TestDeployer;
let producer: Producer;

const started = Date.now();
beforeAll(async () => {
  d = await startDeployer('node-manager', { processes: true });
  producer = createProducer(d.kafka);
  await producer.connect();
});

afterAll(async () => {
  if (producer) {
    await producer.send({ topic: TOPIC, acks: -1, messages: Object.values(ids).map((key) => ({ key, value: null })) });
    await producer.disconnect();
  }
  if (d) {
    await removeApplication(d, app, Object.keys(engines));
    await removeApplication(d, waitedApp, Object.keys(engines));
    await d.stop();
  }
  process.stderr.write(`node-manager suite: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
});

/** A node record as the Node Manager would publish it, for a node driven through a fog engine. */
function record(nodeId: string, engine: keyof typeof engines, generation: number, status: 'Online' | 'Offline' | 'Draining') {
  const host = engines[engine];
  return { nodeId, generation, observedAt: new Date().toISOString(), status, address: host, labels: { zone: 'test' }, target: { kind: 'docker-engine', docker: { host, port: 2375, insecure: true } } };
}

async function publish(key: string, value: unknown): Promise<void> {
  await producer.send({ topic: TOPIC, acks: -1, messages: [{ key, value: value === null ? null : typeof value === 'string' ? value : JSON.stringify(value) }] });
}

/** The bridge's log lines that are JSON objects (all of its own are). */
const bridgeLines = () =>
  d.bridgeLog.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });

/** Waits for the bridge's log to say what it did with a record of `nodeId` (`applied`, `decommissioned`, `stale`, `invalid`), and returns that line. */
async function bridgeTook(nodeId: string, what: RegExp): Promise<Record<string, unknown>> {
  const line = await waitFor(`the bridge to log ${what} for ${nodeId}`, () =>
    bridgeLines().find((l) => l.nodeId === nodeId && what.test(String(l.message))),
  );
  return line;
}

/** The bridge's count of node records by outcome, from its metrics endpoint. */
async function fleetRecordCounts(): Promise<Record<string, number>> {
  const startedLine = bridgeLines().find((l) => l.message === 'bridge started')!;
  const text = await (await fetch(String(startedLine.metrics))).text();
  return Object.fromEntries([...text.matchAll(/^deployer_fleet_records_total\{outcome="(\w+)"\} (\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
}

/** What the worker's fleet says of `nodeId`, asked as `deployer nodes` asks. */
async function workerSees(nodeId: string) {
  return (await describeNodes(d.client, d.config.temporal.taskQueue)).find((n) => n.node === nodeId);
}

/**
 * A web server that answers `body` after `slowStart` seconds; with `slowAt`, slow only on the
 * node of that address (the same container goes to every node, and with host networking it
 * knows its node by the node's address).
 */
const serve = (port: number, body: string, slowStart = 0, slowAt?: string) => ({
  command: ['sh', '-c', `${slowStart > 0 ? `${slowAt !== undefined ? `ip -4 addr | grep -q 'inet ${slowAt}/' && ` : ''}sleep ${slowStart}; ` : ''}trap 'exit 0' TERM; httpd -f -p ${port} -h /www & wait`],
  files: [{ path: '/www/v', content: body }],
  restartPolicy: 'no',
});

describe('the Node Manager topic', () => {
  it('makes a node added by an Online record deployable without a restart, shown as the topic\'s with its generation', async () => {
    await publish(ids.added, record(ids.added, 'fog-1', 1, 'Online'));
    await bridgeTook(ids.added, /^node record applied$/);
    const seen = await waitFor('the worker to see the new node', async () => (await workerSees(ids.added))?.fleet);
    expect(seen).toEqual(expect.objectContaining({ status: 'Online', source: 'topic', generation: 1 }));

    const id = `${app}-added`;
    const request = {
      kind: 'Deploy',
      deploymentId: id,
      application: { name: app, version: 'v1', image: `${d.inventory.registry.pull}/busybox:1` },
      nodes: [ids.added],
      container: serve(18851, 'v1'),
      healthCheck: { tcp: { port: 18851 }, intervalMs: 300, healthyAfter: 1, deadlineMs: 60_000 },
    };
    // `deployer validate` checks against the same fleet: the node known only from the topic is accepted.
    const dir = mkdtempSync(join(tmpdir(), 'deployer-nm-'));
    try {
      writeFileSync(join(dir, 'request.json'), JSON.stringify(request));
      const validated = await runCli(['validate', join(dir, 'request.json')], d.env);
      expect({ code: validated.code, stdout: validated.stdout }).toEqual({ code: 0, stdout: expect.stringContaining(ids.added) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await d.send(request);
    const events = await d.terminal(id);
    expect(events.at(-1)!.phase).toBe('Succeeded');
    expect(await httpGet(`http://${engines['fog-1']}:18851/v`)).toEqual({ status: 200, body: 'v1' });
  });

  it('leaves a node as it was after a stale and a malformed record, and counts both', async () => {
    const before = await fleetRecordCounts();
    // Generation 1 again, now Offline: not above the last applied, so stale.
    await publish(ids.added, record(ids.added, 'fog-1', 1, 'Offline'));
    expect((await bridgeTook(ids.added, /stale/)).reason).toBe('generation 1 is not above 1, the last applied');
    await publish(ids.added, '{"nodeId": "oops"');
    expect((await bridgeTook(ids.added, /invalid/)).reason).toMatch(/^the record is not JSON: /);
    const after = await fleetRecordCounts();
    expect((after.stale ?? 0) - (before.stale ?? 0)).toBe(1);
    expect((after.invalid ?? 0) - (before.invalid ?? 0)).toBe(1);

    // Both processes still take the node as Online at generation 1: a new deployment to it succeeds.
    expect((await workerSees(ids.added))?.fleet).toEqual(expect.objectContaining({ status: 'Online', generation: 1 }));
    const id = `${app}-still`;
    await d.send({
      kind: 'Deploy',
      deploymentId: id,
      application: { name: app, version: 'v2', image: `${d.inventory.registry.pull}/busybox:1` },
      nodes: [ids.added],
      container: serve(18851, 'v2'),
      healthCheck: { tcp: { port: 18851 }, intervalMs: 300, healthyAfter: 1, deadlineMs: 60_000 },
    });
    expect((await d.terminal(id)).at(-1)!.phase).toBe('Succeeded');
  });

  it('rejects a new request naming an Offline node, naming the node and its status', async () => {
    await publish(ids.offline, record(ids.offline, 'fog-2', 5, 'Offline'));
    await bridgeTook(ids.offline, /^node record applied$/);
    const id = `${app}-offline`;
    await d.send({
      kind: 'Deploy',
      deploymentId: id,
      application: { name: app, version: 'v1', image: `${d.inventory.registry.pull}/busybox:1` },
      nodes: [ids.offline],
      container: serve(18852, 'v1'),
    });
    const letter = await waitFor('the dead letter', () => d.deadLetters.find((l) => l.original.includes(id)));
    expect(letter.issues).toEqual([{ path: ['nodes', 0], message: `node '${ids.offline}' is Offline (Node Manager): no new step starts on it` }]);
    expect((await containersOf(d, app))['fog-2']!.filter((c) => c.deploymentId === id)).toEqual([]);
  });

  it('fails a node tombstoned mid-rollout with a reason naming the decommission, and rolls the others back', async () => {
    await publish(ids.slow, record(ids.slow, 'fog-2', 1, 'Online'));
    await publish(ids.gone, record(ids.gone, 'fog-1', 1, 'Online'));
    await bridgeTook(ids.gone, /^node record applied$/);
    await waitFor('the worker to see both nodes', async () => (await workerSees(ids.slow)) && (await workerSees(ids.gone)));

    const id = `${app}-tomb`;
    // One node at a time: the first waits out a slow health check while the second is decommissioned.
    await d.send({
      kind: 'Deploy',
      deploymentId: id,
      application: { name: app, version: 'v3', image: `${d.inventory.registry.pull}/busybox:1` },
      nodes: [ids.slow, ids.gone],
      container: serve(18853, 'v3', 15),
      healthCheck: { tcp: { port: 18853 }, intervalMs: 500, healthyAfter: 1, deadlineMs: 90_000 },
      strategy: { maxParallel: 1, onFailure: 'rollback' },
    });
    await runningOn(d, app, id, ['fog-2']);
    await publish(ids.gone, null);
    await bridgeTook(ids.gone, /^node decommissioned$/);

    const events = await d.terminal(id, 180_000);
    expect(events.at(-1)!.phase).toBe('RolledBack');
    expect(events.some((e) => e.node === ids.gone && /decommissioned by the Node Manager/.test(e.message))).toBe(true);
    // The first node is back as it was: nothing of this deployment runs there.
    expect((await containersOf(d, app))['fog-2']!.filter((c) => c.deploymentId === id && c.state === 'running')).toEqual([]);
    // And a new request naming the decommissioned node is refused as unknown.
    const again = `${app}-again`;
    await d.send({ kind: 'Deploy', deploymentId: again, application: { name: app, version: 'v4', image: `${d.inventory.registry.pull}/busybox:1` }, nodes: [ids.gone], container: serve(18853, 'v4') });
    const letter = await waitFor('the dead letter', () => d.deadLetters.find((l) => l.original.includes(again)));
    expect(letter.issues).toEqual([{ path: ['nodes', 0], message: `unknown node '${ids.gone}'` }]);
  });

  it('fails a node tombstoned while its own health check is waited for within seconds, not at the deadline, and rolls the others back', async () => {
    await publish(ids.first, record(ids.first, 'fog-1', 1, 'Online'));
    await publish(ids.waited, record(ids.waited, 'fog-2', 1, 'Online'));
    await bridgeTook(ids.waited, /^node record applied$/);
    await waitFor('the worker to see both nodes', async () => (await workerSees(ids.first)) && (await workerSees(ids.waited)));

    const id = `${waitedApp}-tomb`;
    const deadlineMs = 90_000;
    // One node at a time: the first is healthy at once; the second's server starts only after
    // the deadline, so its wait can end early only because its node left the fleet.
    await d.send({
      kind: 'Deploy',
      deploymentId: id,
      application: { name: waitedApp, version: 'v1', image: `${d.inventory.registry.pull}/busybox:1` },
      nodes: [ids.first, ids.waited],
      container: serve(18854, 'v1', deadlineMs / 1000 + 60, engines['fog-2']),
      healthCheck: { tcp: { port: 18854 }, intervalMs: 500, healthyAfter: 1, deadlineMs },
      strategy: { maxParallel: 1, onFailure: 'rollback' },
    });
    // Its live events say when the second node's wait began.
    await waitFor("the second node's health wait to begin", () => d.events.find((e) => e.deploymentId === id && e.node === ids.waited && e.phase === 'Verifying'), 120_000);
    const tombstonedAt = Date.now();
    await publish(ids.waited, null);

    const events = await d.terminal(id, 180_000);
    expect(events.at(-1)!.phase).toBe('RolledBack');
    const failed = events.find((e) => e.node === ids.waited && /decommissioned by the Node Manager/.test(e.message));
    expect(failed).toEqual(expect.objectContaining({ phase: 'RollingBack', message: expect.stringContaining(`node '${ids.waited}' was decommissioned by the Node Manager`) }));
    // Noticed on the wait's next rounds, a few seconds at most: far from the deadline.
    expect(Date.parse(failed!.at) - tombstonedAt).toBeLessThan(10_000);
    // The first node, healthy before, is back as it was: nothing of this deployment runs there.
    expect(events.some((e) => e.node === ids.first && e.message === 'healthy')).toBe(true);
    expect((await containersOf(d, waitedApp))['fog-1']!.filter((c) => c.deploymentId === id && c.state === 'running')).toEqual([]);
  });
});
