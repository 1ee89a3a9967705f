// The fake target as a conformance Platform (test/support/conformance.ts): the suite's
// requests go to the bridge's own handling of a Kafka message (parsed, validated against the
// inventory, started, cancelled or retried through src/operations), without Kafka; the
// workflows run in the Temporal test environment with the fake target
// (test/support/fake-environment.ts), whose world is what runs. The fake runs no program
// and serves no HTTP, so it answers from what it was asked: a node serves the version file
// its instance was given; a program that misbehaves is a rule its health check reads; a
// secret is resolved by the same provider as the worker's, and its file is its sha256; a
// stop takes the grace the instance was created with (what a real engine takes for a program
// that ignores SIGTERM).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Consumer, KafkaMessage, Producer } from 'kafkajs';
import { directorySecretProvider } from '../../activities/control/secrets';
import { createBridge } from '../../src/bridge/bridge';
import { loadConfig } from '../../src/config';
import { SECRETS_DIR } from '../../src/core/intent';
import { isTerminal, type StatusEvent } from '../../src/core/schemas/event';
import { createLogger } from '../../src/log';
import type { NodeLoss, Platform, SuiteDeployer } from './conformance';
import { waitFor } from './deployer';
import { startFakeEnvironment } from './fake-environment';
import { fakeInventory, newWorld, type FakeInstance, type FakeWorld, type ProgramHealth } from './fake-target';

const NODES = ['fog-1', 'fog-2', 'fog-3'];

export interface FakeDeployer extends SuiteDeployer {
  world: FakeWorld;
  /** What each deployment's program answers its health check on a node, by deploymentId (`misbehave`). */
  programs: Map<string, (node: string) => ReturnType<ProgramHealth>>;
}

async function startFakeDeployer(name: string): Promise<FakeDeployer> {
  const taskQueue = `conformance-${name.replace(/\W+/g, '-')}`;
  const secretsPath = mkdtempSync(join(tmpdir(), 'fake-secrets-'));
  const programs: FakeDeployer['programs'] = new Map();
  const world: FakeWorld = {
    ...newWorld(NODES),
    // A Rollback, Scale or Undeploy reads what the suite's own operations left, as on the stack.
    history: 'temporal',
    secrets: directorySecretProvider(secretsPath),
    health: (node, deploymentId) => programs.get(deploymentId)?.(node),
  };
  const fake = await startFakeEnvironment(taskQueue, () => world);
  const config = loadConfig({ DEPLOYER_TASK_QUEUE: taskQueue, DEPLOYER_SECRETS_DIR: secretsPath, TEMPORAL_ADDRESS: fake.env.address });
  const inventory = fakeInventory(() => NODES, taskQueue)();
  const deadLetters: string[] = [];
  // The bridge writes to Kafka only a dead letter (and a Rejected event): kept to fail the send.
  const producer = { send: async ({ messages }: { messages: { value: string | Buffer | null }[] }) => void deadLetters.push(...messages.map((m) => String(m.value))) };
  const bridge = createBridge({
    config,
    client: fake.env.client,
    // Never run: each message is handed to the bridge's handling directly.
    consumer: {} as Consumer,
    producer: producer as unknown as Producer,
    inventory: () => inventory,
    log: createLogger('bridge', 'info'),
  });
  let offset = 0;
  return {
    config,
    inventory,
    client: fake.env.client,
    world,
    programs,
    get events(): StatusEvent[] {
      return world.events;
    },
    async send(value, key) {
      const request = value as { application?: { name?: string } };
      const message = { key: Buffer.from(key ?? request.application?.name ?? 'test'), value: Buffer.from(JSON.stringify(value)), offset: String(offset++), timestamp: String(Date.now()), attributes: 0, headers: {} };
      const handled = await bridge.handle(config.kafka.topics.requests, 0, message as unknown as KafkaMessage);
      // A request of the suite that the bridge refuses is the suite's mistake: said at once, not as a missing terminal event.
      if (handled.includes('dead-lettered')) throw new Error(`the bridge refused the request: ${deadLetters.at(-1)}`);
    },
    async terminal(deploymentId, timeoutMs = 120_000) {
      await waitFor(`a terminal event of ${deploymentId}`, () => world.events.some((e) => e.deploymentId === deploymentId && isTerminal(e.phase)), timeoutMs);
      return world.events.filter((e) => e.deploymentId === deploymentId);
    },
    async stop() {
      await fake.stop();
      rmSync(secretsPath, { recursive: true, force: true });
    },
  };
}

/** The application's instances on each node, in the nodes' order. */
const instances = (d: FakeDeployer, app: string) => NODES.map((node) => ({ node, here: d.world.nodes[node]!.filter((c) => c.name.startsWith(`${app}--`)) }));
const runningOn = (d: FakeDeployer, app: string) => instances(d, app).map(({ node, here }) => ({ node, here: here.filter((c) => c.running) }));
const servedBy = (c: FakeInstance | undefined) => c?.files?.['/www/version.txt'] ?? 'unreachable';

export const fakePlatform: Platform<FakeDeployer> = {
  name: 'the fake target',
  tag: 'fake',
  port: 18000,
  start: startFakeDeployer,
  nodes: (d) => d.inventory.nodes,
  nameOf: (n) => n.id,
  misbehave: (d, deploymentId, how) => {
    const startedAt = Date.now();
    d.programs.set(deploymentId, (node) => {
      if ('startLate' in how) return (how.on === undefined || node === how.on.id) && Date.now() < startedAt + how.startLate * 1000 ? 'hanging' : undefined;
      return node === how.refuseOn.id && !(how.until?.open() ?? false) ? 'unhealthy' : undefined;
    });
    return '';
  },
  // Read by the rule `misbehave` sets: nothing to serve.
  gate: async (_d, _port, open) => ({ url: '', open, close: async () => undefined }),
  served: async (d, app) => runningOn(d, app).map(({ here }) => servedBy(here[0])),
  secretFile: async (d, app, node) => {
    const [c] = d.world.nodes[node.id]!.filter((x) => x.running && x.name.startsWith(`${app}--`));
    const [, sha256] = Object.entries(c?.files ?? {}).find(([path]) => path.startsWith(`${SECRETS_DIR}/`)) ?? [];
    return { sha256: sha256 ?? 'no secret file' };
  },
  workloads: async (d, app) =>
    runningOn(d, app)
      .filter(({ here }) => here.length > 0)
      .map(({ node, here }) => ({ node, version: here[0]!.version, deploymentId: here[0]!.deploymentId, replicas: here.length })),
  // The running instances themselves: the same ones again after a rollback.
  specs: async (d, app) => runningOn(d, app).flatMap(({ node, here }) => here.map((c) => [node, c])),
  runningNodes: async (d, app) => runningOn(d, app).flatMap(({ node, here }) => here.map(() => node)),
  runningOf: async (d, app, deploymentId) => runningOn(d, app).filter(({ here }) => here.some((c) => c.deploymentId === deploymentId)).map(({ node }) => node),
  graceSeconds: async (d, app) => runningOn(d, app).flatMap(({ here }) => here.map((c) => c.stopGraceMs! / 1000)),
  // The grace each old instance was stopped with, where it was stopped.
  stopTimes: async (d, app, old, replace) => {
    await replace();
    return Object.fromEntries(instances(d, app).map(({ node, here }) => [node, here.find((c) => c.deploymentId === old && !c.running)?.stopGraceMs ?? NaN]));
  },
  graceSlackMs: 0,
  secretPlaces: async (d, app) => ({ instances: JSON.stringify(instances(d, app)) }),
  leftovers: async (d, app) => instances(d, app).flatMap(({ node, here }) => here.map((c) => `${node}: ${c.name}`)),
  remove: async (d, app) => {
    for (const node of NODES) d.world.nodes[node] = d.world.nodes[node]!.filter((c) => !c.name.startsWith(`${app}--`));
  },
};

/**
 * A node of the fake lost as a bare engine is: it stops answering, and its instances stop (an
 * engine that stops stops its containers), so a health check waiting there fails at once; it
 * cannot be restored while it is down, and comes back with its instances stopped.
 */
export const fakeNodeLoss: NodeLoss<FakeDeployer> = {
  stop: (d, node) => {
    d.world.unreachable.add(node.id);
    for (const c of d.world.nodes[node.id]!) c.running = false;
  },
  start: (d, node) => {
    d.world.unreachable.delete(node.id);
  },
  lost: { phase: 'Failed', message: (node) => new RegExp(`^rollback incomplete on ${node.id}; cause: ${node.id}: container .* on ${node.id} did not become healthy: stopped during verification`), restoredWhileDown: false },
};
