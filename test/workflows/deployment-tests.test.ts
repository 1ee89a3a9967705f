// The configuration check and the deployment tests in the node workflow, in the Temporal test
// environment with the fake target (test/support/fake-target.ts) standing in for the nodes:
// where in a node's boot each runs, that a failure on one node rolls back every node, and
// that their results reach the result, the record, the events and the node's current details.
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure, Payload } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { workflowMetadataQuery } from '@temporalio/workflow';
import { deployRequestSchema, type DeployRequestInput } from '../../src/core/schemas/request';
import type { DeploymentResult } from '../../workflows/definitions';
import { deployWorkflow } from '../../workflows/operation';
import { startFakeEnvironment, type FakeEnvironment } from '../support/fake-environment';
import { newWorld, running, type FakeWorld } from '../support/fake-target';
import { isLocalActivityMarker } from '../support/history';

jest.setTimeout(180_000);

let env: TestWorkflowEnvironment;
let fake: FakeEnvironment;
let world: FakeWorld;
const taskQueue = 'deployment-tests-workflow-test';
const NODES = ['fog-1', 'fog-2', 'fog-3'];
let counter = 0;

beforeAll(async () => {
  fake = await startFakeEnvironment(taskQueue, () => world);
  env = fake.env;
});

afterAll(async () => {
  await fake?.stop();
});

beforeEach(() => {
  world = newWorld(NODES);
  for (const n of NODES) world.nodes[n]!.push({ name: 'web--old--r0', version: '1', deploymentId: 'old', running: true, previous: [] });
});

const TESTS = [
  { name: 'home', http: { port: 80, expect: { body: 'hello' } } },
  { name: 'db', exec: { command: ['check-db'] } },
];

function request(patch: Partial<DeployRequestInput> = {}) {
  return deployRequestSchema.parse({
    kind: 'Deploy',
    deploymentId: `wt-${++counter}`,
    application: { name: 'web', version: '2', image: 'reg:5000/web:2' },
    nodes: NODES,
    container: { configCheck: { command: ['web', '--check-config'] }, ports: [{ container: 80 }] },
    verify: { tests: TESTS },
    ...patch,
  });
}

const run = (req: ReturnType<typeof request>) => env.client.workflow.execute(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req] });

async function failure(req: ReturnType<typeof request>): Promise<DeploymentResult> {
  const err = await run(req).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return ((err as WorkflowFailedError).cause as ApplicationFailure).details![0] as DeploymentResult;
}

const callsOn = (node: string) => world.calls.filter((c) => c.endsWith(` ${node}`)).map((c) => c.split(' ')[0]);

describe('configuration check and deployment tests (fake target)', () => {
  it('checks the configuration before applying and tests after verifying, on every node, before anything older is retired', async () => {
    const req = request();
    const result = await run(req);
    expect(result.status).toBe('Succeeded');
    for (const n of NODES) expect(callsOn(n)).toEqual(['checkConfig', 'apply', 'verify', 'test', 'retire']);
    const lastTest = Math.max(...NODES.map((n) => world.calls.indexOf(`test ${n}`)));
    expect(world.calls.findIndex((c) => c.startsWith('retire'))).toBeGreaterThan(lastTest);
    expect(result.nodes['fog-1']!.checks!.map((c) => [c.name, c.kind, c.passed])).toEqual([
      ['config', 'config', true],
      ['home', 'http', true],
      ['db', 'exec', true],
    ]);
    const record = world.records.find((r) => r.deploymentId === req.deploymentId)!;
    expect(record.nodes['fog-2']!.checks!.map((c) => c.detail)).toEqual(['`web --check-config` passed', 'status 200, body contains "hello": passed', 'exit code 0: passed']);
    const events = world.events.filter((e) => e.deploymentId === req.deploymentId && e.node === 'fog-3').map((e) => e.message);
    expect(events).toContain('test "home" passed: status 200, body contains "hello": passed');
    expect(events).toContain('configuration check passed: `web --check-config` passed');
  });

  it('rolls back every node when a test fails on one, naming the failing test and its expectation', async () => {
    world.failingTests.add('fog-2/home');
    const req = request({ strategy: { maxParallel: 3 } });
    const result = await failure(req);
    expect(result.status).toBe('RolledBack');
    expect(result.reason).toContain('fog-2: deployment test "home" (http) failed: expected status 200, body contains "hello", got status 500');
    expect(result.nodes['fog-2']!.checks!.find((c) => c.name === 'home')!.passed).toBe(false);
    for (const n of NODES) expect(running(world, n)).toEqual(['1']);
    const record = world.records.find((r) => r.deploymentId === req.deploymentId)!;
    expect(record.status).toBe('RolledBack');
    expect(record.nodes['fog-2']!.checks!.filter((c) => !c.passed).map((c) => c.name)).toEqual(['home']);
  });

  it('refuses a bad configuration before the node is touched: nothing applied there, the previous version never stopped', async () => {
    world.badConfig.add('fog-1');
    const req = request({ strategy: { maxParallel: 1 } });
    const result = await failure(req);
    expect(result.status).toBe('RolledBack');
    expect(result.reason).toContain('fog-1: configuration check `web --check-config` failed: it exited with 1; output: config invalid');
    expect(callsOn('fog-1').filter((c) => c !== 'restore')).toEqual(['checkConfig']);
    expect(world.nodes['fog-1']!.map((c) => [c.version, c.running])).toEqual([['1', true]]);
    // The first batch failed: the other nodes were never touched.
    expect(callsOn('fog-2')).toEqual([]);
  });

  it('shows each test, with what it expected and got, in the node workflow\'s current details, and names the tests in the activity summary', async () => {
    world.failingTests.add('fog-1/db');
    const req = request({ nodes: ['fog-1'] });
    await failure(req);
    const node = env.client.workflow.getHandle(`${req.deploymentId}/fog-1`);
    const details = (await node.query(workflowMetadataQuery)).currentDetails;
    expect(details).toContain('| check configuration | done |  |');
    expect(details).toContain('| test "home" (http) | done | status 200, body contains "hello": passed |');
    expect(details).toContain('| test "db" (exec) | failed | expected exit code 0, got status 500 |');
    const { events } = await node.fetchHistory();
    const summaries = events!.filter(isLocalActivityMarker).map((e) => text(e.userMetadata?.summary));
    expect(summaries).toEqual([
      'fog-1: check configuration of web:2: web --check-config',
      'fog-1: apply web:2 (reg:5000/web:2)',
      'fog-1: verify web:2 (running health check)',
      'fog-1: test web:2: home (http GET :80/), db (exec ["check-db"])',
    ]);
  });
});

const text = (payload: Payload | null | undefined) => (payload ? env.client.options.loadedDataConverter.payloadConverter.fromPayload<string>(payload) : undefined);
