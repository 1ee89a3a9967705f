// A whole Deployer (worker + bridge) for integration tests, running in the test process
// against the real local stack (scripts/stack.sh up): the Temporal server, the Kafka
// broker, the registry and the fog nodes' Docker Engines. Each test file gets its own task
// queue, topics and consumer groups, so it neither sees nor disturbs anything else.
import { demuxLog } from '../../activities/targets/docker-engine/one-shot';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { decodeOptionalFailureToOptionalError } from '@temporalio/common/lib/internal-non-workflow';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import type Docker from 'dockerode';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { Engines } from '../../activities/targets/docker-engine/engines';
import { createBridge } from '../../src/bridge/bridge';
import { dataConverter } from '../../src/codec/data-converter';
import { loadConfig, type Config } from '../../src/config';
import { LABELS } from '../../src/core/labels';
import { fileFleet } from '../../src/fleet';
import { loadInventory } from '../../src/inventory';
import { createKafka, createLiveProducer, createProducer } from '../../src/kafka/client';
import { createLogger } from '../../src/log';
import { deadLetterSchema, type DeadLetter } from '../../src/core/schemas/dead-letter';
import { deploymentRecordSchema, type DeploymentRecord } from '../../src/core/schemas/record';
import { isTerminal, statusEventSchema, type StatusEvent } from '../../src/core/schemas/event';
import type { Inventory } from '../../src/core/schemas/inventory';
import { createWorker } from '../../src/worker/worker';

export interface TestDeployer {
  config: Config;
  /** The environment that makes a Deployer process (e.g. a worker in a child process) join this one. */
  env: NodeJS.ProcessEnv;
  inventory: Inventory;
  client: Client;
  kafka: Kafka;
  admin: Admin;
  engines: Engines;
  events: StatusEvent[];
  /** When each of `events` reached the test's consumer (ms since the epoch), by the same index. */
  eventsArrivedAt: number[];
  deadLetters: DeadLetter[];
  /** Every deployment record written on this Deployer's records topic, repeats included. */
  records: DeploymentRecord[];
  /** Produces one message on the requests topic, keyed like the Scheduler does. */
  send(value: unknown, key?: string): Promise<void>;
  /** Waits for the deployment's terminal event and returns all its events so far. */
  terminal(deploymentId: string, timeoutMs?: number): Promise<StatusEvent[]>;
  /** Offsets the bridge has committed on the requests topic, summed over partitions. */
  committed(): Promise<number>;
  /** The log lines (JSON) of the bridge, when it runs in its own process (`processes`). */
  bridgeLog: string[];
  stop(): Promise<void>;
}

let runtimeInstalled = false;

/**
 * Where a test makes build contexts of its own: one of a test Deployer's build roots, beside
 * the project's examples and the fixtures' apps. Below the system's temporary directory, so
 * that a directory a test makes elsewhere there is outside every root.
 */
export const TEST_BUILD_ROOT = join(tmpdir(), 'deployer-test-builds');

/** The directories a test Deployer's builds may read (DEPLOYER_BUILD_ROOTS). */
export const TEST_BUILD_ROOTS = [resolve(__dirname, '../../examples'), resolve(__dirname, '../fixtures/apps'), TEST_BUILD_ROOT];

/** Child processes (workers, bridges) of this test file that exited without the test stopping them. */
const died: { name: string; code: number | null; signal: NodeJS.Signals | null; lines: string[] }[] = [];

/**
 * Fails at once when a child process of the test died without the test killing it, with its
 * last log lines: otherwise a test would wait out its whole deadline for work nobody does.
 */
export function assertChildrenAlive(): void {
  const dead = died.shift();
  if (dead === undefined) return;
  throw new Error(`${dead.name} exited on its own (code ${dead.code}, signal ${dead.signal}); its last log lines:\n${dead.lines.join('\n') || '(none)'}`);
}

/** Keeps the last lines a child writes on stderr (each also given to `onLine`), and notes its death when the test did not kill it. */
export function watchChild(child: ChildProcess, name: string, onLine?: (line: string) => void): ChildProcess {
  const last: string[] = [];
  let rest = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop()!;
    for (const line of lines.filter(Boolean)) {
      onLine?.(line);
      last.push(line);
      if (last.length > 30) last.shift();
    }
  });
  // `killed` is set when the test sent the signal itself.
  child.once('exit', (code, signal) => {
    if (!child.killed) died.push({ name, code, signal, lines: last });
  });
  return child;
}

/** A deployment's last events and what its workflow and its node workflows wait on (pending activities, their attempts and last failures). */
async function whereItStands(client: Client, deploymentId: string, events: StatusEvent[]): Promise<string> {
  const last = events.filter((e) => e.deploymentId === deploymentId).slice(-6).map((e) => `  event ${e.seq} ${e.phase}${e.node ? ` ${e.node}` : ''}: ${e.message}`);
  async function waitsOn(workflowId: string, depth: number): Promise<string[]> {
    try {
      const described = await client.workflow.getHandle(workflowId).describe();
      const pending = described.raw.pendingActivities ?? [];
      const children = described.raw.pendingChildren ?? [];
      // Through the client's converter: with encryption on, the stored message reads "Encoded failure".
      const lastFailures = await Promise.all(pending.map((a) => decodeOptionalFailureToOptionalError(client.options.loadedDataConverter, a.lastFailure)));
      return [
        `  ${workflowId}: ${described.status.name}, ${described.historyLength} events`,
        ...pending.map((a, i) => `    pending ${a.activityType?.name} attempt ${a.attempt}${lastFailures[i]?.message ? `, last failure: ${lastFailures[i].message}` : ''}`),
        ...(depth > 0 ? (await Promise.all(children.slice(0, 5).map((c) => waitsOn(c.workflowId!, depth - 1)))).flat() : []),
      ];
    } catch (err) {
      return [`  ${workflowId}: ${(err as Error).message}`];
    }
  }
  return [...(last.length > 0 ? last : ['  no event yet']), ...(await waitsOn(deploymentId, 1))].join('\n');
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    assertChildrenAlive();
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Collects every message of the topic once. A consumer that restarts (after a broker outage)
 * is given again what it had not committed: the same message at the same offset, which is
 * not a second publish, so it is taken once; a message published twice has two offsets and
 * is collected twice, which the tests of exactly-once delivery look for.
 */
async function collect<T>(consumer: Consumer, topic: string, parse: (v: unknown) => T, into: T[], arrivedAt?: number[]): Promise<void> {
  const seen = new Set<string>();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const at = `${partition}:${message.offset}`;
      if (message.value === null || seen.has(at)) return;
      seen.add(at);
      into.push(parse(JSON.parse(message.value.toString())));
      arrivedAt?.push(Date.now());
    },
  });
}

/**
 * Terminates the applications' lock workflows still running on a test's task queue when the
 * test stops: they end by themselves after an idle while, but only while a worker polls their
 * queue, and no worker ever polls a finished test's queue again. Otherwise every test run
 * would leave its locks listed as Running in the Temporal UI. Only locks: a deployment
 * terminated in the middle of a local activity leaves a history the replay test cannot
 * replay (the activity it was running has no marker yet).
 */
async function endLeftovers(client: Client, taskQueue: string): Promise<void> {
  const running: string[] = [];
  try {
    for await (const w of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running' AND WorkflowType = 'applicationLockWorkflow'` })) running.push(w.workflowId);
  } catch {
    // Tidiness only: a test that ended with Temporal unreachable still stops the rest.
    return;
  }
  await Promise.allSettled(running.map((id) => client.workflow.getHandle(id).terminate('the test that ran it has ended; no worker will poll its task queue again')));
}

export async function startDeployer(
  name: string,
  options: {
    worker?: boolean;
    /** false: no bridge in this process (a test runs its own). */
    bridge?: boolean;
    /** The worker and the bridge in processes of their own, as in production, both up before this returns (a test of an outage watches them live through it); stopped with the rest. */
    processes?: boolean;
    bridgeLogLevel?: 'info' | 'warn';
    /** An inventory other than the stack's. */
    inventoryPath?: string;
    /** Settings of its own (environment variables), over the test defaults. */
    settings?: Record<string, string>;
    /**
     * Replicas of each of the test's topics: 1 (the default) on the stack's single broker, 3 on
     * the quorum (scripts/kafka-quorum.sh), where a write then needs all but one in sync, as
     * the quorum's own topics have it.
     */
    replicas?: number;
  } = {},
): Promise<TestDeployer> {
  if (options.processes) options = { ...options, worker: false, bridge: false };
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const run = `it-${name}-${Date.now().toString(36)}`;
  const env = {
    ...process.env,
    DEPLOYER_TASK_QUEUE: run,
    DEPLOYER_REQUESTS_TOPIC: `${run}.requests`,
    DEPLOYER_EVENTS_TOPIC: `${run}.events`,
    DEPLOYER_DLQ_TOPIC: `${run}.requests.dlq`,
    DEPLOYER_RECORDS_TOPIC: `${run}.records`,
    KAFKA_GROUP_ID: `${run}-bridge`,
    ...(options.inventoryPath !== undefined ? { DEPLOYER_INVENTORY: options.inventoryPath } : {}),
    DEPLOYER_BUILD_ROOTS: TEST_BUILD_ROOTS.join(':'),
    ...options.settings,
  };
  mkdirSync(TEST_BUILD_ROOT, { recursive: true });
  const config = loadConfig(env);
  const inventory = loadInventory(config.inventoryPath);
  const converter = dataConverter(config);
  const { topics } = config.kafka;
  const kafka = createKafka(config, run);
  const admin = kafka.admin();
  await admin.connect();
  const replicationFactor = options.replicas ?? 1;
  const inSync = replicationFactor > 1 ? [{ name: 'min.insync.replicas', value: String(replicationFactor - 1) }] : [];
  await admin.createTopics({
    waitForLeaders: false,
    topics: [
      ...[topics.requests, topics.events, topics.deadLetters].map((topic) => ({ topic, numPartitions: 3, replicationFactor, configEntries: inSync })),
      { topic: topics.records, numPartitions: 3, replicationFactor, configEntries: [{ name: 'cleanup.policy', value: 'compact' }, ...inSync] },
    ],
  });
  // Waited for here rather than by createTopics' own wait, which gives up when the broker
  // answers that it does not host a partition yet (seen when several suites start at once).
  const names = [topics.requests, topics.events, topics.deadLetters, topics.records];
  await waitFor('the topics to have leaders', async () => {
    try {
      const { topics: found } = await admin.fetchTopicMetadata({ topics: names });
      return found.length === names.length && found.every((t) => t.partitions.length === 3 && t.partitions.every((p) => p.leader >= 0));
    } catch {
      return undefined;
    }
  });

  const producer = createProducer(kafka);
  await producer.connect();
  const liveProducer = createLiveProducer(config);
  await liveProducer.connect();
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter: converter });
  const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
  const worker: Worker | undefined =
    options.worker === false ? undefined : await createWorker({ config, kafka, producer, liveProducer, client, connection: nativeConnection, dataConverter: converter, fleet: fileFleet(config.inventoryPath), workflowsPath: require.resolve('../../workflows') });
  const workerRun = worker?.run();

  const bridgeConsumer = options.bridge === false ? undefined : kafka.consumer({ groupId: config.kafka.groupId });
  if (bridgeConsumer !== undefined) {
    await bridgeConsumer.connect();
    const bridge = createBridge({ config, client, consumer: bridgeConsumer, producer, inventory: () => inventory, log: createLogger('bridge', options.bridgeLogLevel ?? 'warn') });
    await bridge.run();
  }

  const events: StatusEvent[] = [];
  const eventsArrivedAt: number[] = [];
  const deadLetters: DeadLetter[] = [];
  const eventConsumer = kafka.consumer({ groupId: `${run}-events` });
  const dlqConsumer = kafka.consumer({ groupId: `${run}-dlq` });
  const records: DeploymentRecord[] = [];
  const recordConsumer = kafka.consumer({ groupId: `${run}-records` });
  await Promise.all([eventConsumer.connect(), dlqConsumer.connect(), recordConsumer.connect()]);
  await collect(eventConsumer, topics.events, (v) => statusEventSchema.parse(v), events, eventsArrivedAt);
  await collect(dlqConsumer, topics.deadLetters, (v) => deadLetterSchema.parse(v), deadLetters);
  await collect(recordConsumer, topics.records, (v) => deploymentRecordSchema.parse(v), records);

  const children: ChildProcess[] = [];
  const self: TestDeployer = {
    config,
    env,
    inventory,
    bridgeLog: [],
    client,
    kafka,
    admin,
    engines: new Engines(() => inventory),
    events,
    eventsArrivedAt,
    deadLetters,
    records,
    async send(value, key) {
      const text = typeof value === 'string' || Buffer.isBuffer(value) ? value : JSON.stringify(value);
      const k = key ?? ((value as { application?: { name?: string } }).application?.name ?? 'test');
      await producer.send({ topic: topics.requests, acks: -1, messages: [{ key: k, value: text }] });
    },
    async terminal(deploymentId, timeoutMs = 120_000) {
      try {
        await waitFor(`a terminal event of ${deploymentId}`, () => events.some((e) => e.deploymentId === deploymentId && isTerminal(e.phase)), timeoutMs);
      } catch (err) {
        // A deployment that never ends: say where it stands, so that a rare hang on a loaded machine can be diagnosed from the test's output alone.
        throw new Error(`${(err as Error).message}\n${await whereItStands(client, deploymentId, events)}`);
      }
      return events.filter((e) => e.deploymentId === deploymentId);
    },
    async committed() {
      const [{ partitions }] = await admin.fetchOffsets({ groupId: config.kafka.groupId, topics: [topics.requests] });
      return partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    },
    async stop() {
      for (const child of children) child.kill('SIGKILL');
      await endLeftovers(client, config.temporal.taskQueue);
      await Promise.allSettled([bridgeConsumer?.disconnect(), eventConsumer.disconnect(), dlqConsumer.disconnect(), recordConsumer.disconnect()]);
      worker?.shutdown();
      await workerRun;
      await liveProducer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topics.requests, topics.events, topics.deadLetters, topics.records] }).catch(() => undefined);
      await admin.disconnect();
      await connection.close();
      await nativeConnection.close();
    },
  };
  if (options.processes) {
    children.push(spawnWorker(self), spawnBridge(self, self.bridgeLog));
    // Both up before a test takes anything away: a process that cannot reach Temporal at its start does not start.
    await waitFor('the worker polling and the bridge started', async () => self.bridgeLog.some((l) => l.includes('"bridge started"')) && (await workerPolling(self)), 60_000);
  }
  return self;
}

/**
 * A container command that idles until stopped. Not a bare `sleep`: as PID 1 it ignores
 * SIGTERM, so every stop would wait out the engine's full grace period.
 */
/**
 * Puts a secret in the stack's file provider where `ref` of `application` resolves: in that
 * application's own scope of the store (src/core/secret-scope.ts).
 */
export function putSecret(secretsPath: string, application: string, ref: string, value: string): void {
  const file = join(secretsPath, application, ref);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, value, { mode: 0o600 });
}

/** The task queue of workflows a test runs as someone other than the Deployer would (never replayed as the Deployer's). */
export const FOREIGN_TASK_QUEUE = 'foreign-workers';

export const IDLE = ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"];

export interface NodeContainerView {
  name: string;
  version: string;
  deploymentId: string;
  state: string;
}

/** The inventory's bare Docker Engine nodes (the fog nodes), whose engines a test may ask directly. */
export const engineNodes = (d: TestDeployer) => d.inventory.nodes.filter((n) => n.target.kind === 'docker-engine');

/** What the engines themselves say runs for an application, per bare-engine node. */
export async function containersOf(d: TestDeployer, application: string): Promise<Record<string, NodeContainerView[]>> {
  const out: Record<string, NodeContainerView[]> = {};
  for (const node of engineNodes(d)) {
    const list = await d.engines.node(node.id).listContainers({ all: true, filters: JSON.stringify({ label: [`${LABELS.application}=${application}`] }) });
    out[node.id] = list.map((c) => ({
      name: c.Names[0]!.slice(1),
      version: c.Labels[LABELS.version]!,
      deploymentId: c.Labels[LABELS.deployment]!,
      state: c.State,
    }));
  }
  return out;
}

/** Waits until `nodes` each run a container of the deployment, as their engines say: the deployment is then mid-rollout there. */
export async function runningOn(d: TestDeployer, application: string, deploymentId: string, nodes: readonly string[], timeoutMs = 60_000): Promise<void> {
  await waitFor(`${deploymentId} running on ${nodes.join(', ')}`, async () => {
    const containers = await containersOf(d, application);
    return nodes.every((n) => containers[n]?.some((c) => c.deploymentId === deploymentId && c.state === 'running'));
  }, timeoutMs);
}

/** Removes every container of the application from every bare-engine node (test clean-up). */
/** `nodeIds`: only these nodes, for a suite that runs beside others that stop the rest. */
export async function removeApplication(d: TestDeployer, application: string, nodeIds?: readonly string[]): Promise<void> {
  for (const node of engineNodes(d).filter((n) => nodeIds === undefined || nodeIds.includes(n.id))) {
    const docker = d.engines.node(node.id);
    const list = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABELS.application}=${application}`] }) });
    for (const c of list) await docker.getContainer(c.Id).remove({ force: true });
  }
}

export async function httpGet(url: string): Promise<{ status: number; body: string } | { error: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { error: String((err as { cause?: unknown }).cause ?? err) };
  }
}

/**
 * The runs of a deployment's workflow, from exact sources rather than Temporal's visibility
 * list, which lags: its latest run and the first run of that run's chain (another id when it
 * continued as new, was retried by Temporal or was reset), and every run its deployment
 * records name (a second start of the same workflow id writes a record of its own). For a
 * closed latest run, waits until its record is collected. Each id once.
 */
export async function runsOf(d: TestDeployer, workflowId: string): Promise<string[]> {
  const { runId, status, raw } = await d.client.workflow.getHandle(workflowId).describe();
  if (status.name !== 'RUNNING') await waitFor(`the record of run ${runId} of ${workflowId}`, () => d.records.some((r) => r.runId === runId), 30_000);
  const recorded = d.records.filter((r) => r.deploymentId === workflowId).map((r) => r.runId);
  return [...new Set([...recorded, raw.workflowExecutionInfo?.firstRunId || runId, runId])];
}

/** Whether a worker polls the test's task queue for workflow tasks, as Temporal sees it. */
export async function workerPolling(d: TestDeployer): Promise<boolean> {
  const { pollers } = await d.client.workflowService.describeTaskQueue({
    namespace: d.config.temporal.namespace,
    taskQueue: { name: d.config.temporal.taskQueue },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return (pollers ?? []).length > 0;
}

/** The compiled entry points of a worker and a bridge process, as production runs them. */
export const WORKER_MAIN = resolve(__dirname, '../../dist/src/worker/main.js');
export const BRIDGE_MAIN = resolve(__dirname, '../../dist/src/bridge/main.js');

/** A worker in its own process (the compiled one, as in production), for tests that kill it. */
export function spawnWorker(d: TestDeployer): ChildProcess {
  if (!existsSync(WORKER_MAIN)) throw new Error(`${WORKER_MAIN} is missing: run npm run build first (npm test does)`);
  const child = spawn(process.execPath, [WORKER_MAIN], { env: { ...d.env, DEPLOYER_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
  return watchChild(child, 'worker');
}

/** A bridge in its own process (the compiled one), for tests that kill it; its log lines (JSON) are collected in `log`. */
export function spawnBridge(d: TestDeployer, log: string[]): ChildProcess {
  if (!existsSync(BRIDGE_MAIN)) throw new Error(`${BRIDGE_MAIN} is missing: run npm run build first (npm test does)`);
  const child = spawn(process.execPath, [BRIDGE_MAIN], { env: { ...d.env, DEPLOYER_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
  return watchChild(child, 'bridge', (line) => log.push(line));
}

export interface EngineEvent {
  Action: string;
  timeNano: number;
  Actor: { Attributes: Record<string, string> };
}

/** A node engine's own record of what happened to containers with the label, between two times (s). */
export async function engineEvents(d: TestDeployer, nodeId: string, label: string, since: number, until: number): Promise<EngineEvent[]> {
  return dockerEvents(d.engines.node(nodeId), label, since, until);
}

/** An engine's own record of what happened to containers with the label, between two times (s): of any engine, such as a swarm node's own. */
export async function dockerEvents(docker: Docker, label: string, since: number, until: number): Promise<EngineEvent[]> {
  const stream = await docker.getEvents({ since, until, filters: JSON.stringify({ type: ['container'], label: [label] }) });
  const text = await new Promise<string>((done) => {
    let s = '';
    stream.on('data', (c: Buffer) => (s += c.toString()));
    stream.on('end', () => done(s));
  });
  return text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as EngineEvent);
}

/** What a named volume on `docker`'s host holds in `file`, read by a container of the test's own (not the Deployer's) from `image`. */
export async function readVolume(docker: Docker, image: string, volume: string, file: string): Promise<string> {
  const c = await docker.createContainer({ Image: image, Cmd: ['cat', `/data/${file}`], HostConfig: { NetworkMode: 'none', Mounts: [{ Type: 'volume', Source: volume, Target: '/data', ReadOnly: true }] } });
  try {
    await c.start();
    await c.wait();
    return demuxLog((await c.logs({ stdout: true, stderr: true })) as unknown as Buffer);
  } finally {
    await c.remove({ force: true });
  }
}

/** A loopback port nothing listens on (it was free a moment ago): for a server a test starts, or for a platform that cannot be reached. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}
