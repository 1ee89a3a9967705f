// The deploy workflow in the Temporal test environment (the locally built server), with
// the node, build and event adapters replaced by in-memory fakes.
import { WorkflowFailedError } from '@temporalio/client';
import { type ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import { deployRequestSchema, type DeployRequestInput } from '../../src/schemas/request';
import { isTerminal } from '../../src/schemas/event';
import { SEARCH_ATTRIBUTES } from '../../src/search-attributes';
import { deployWorkflow, type DeploymentResult } from '../../workflows/deploy';
import { fakeActivities, newWorld, running, type FakeWorld } from '../support/fake-node-activities';
import { temporalBinary } from '../support/temporal-binary';

jest.setTimeout(60_000);

let env: TestWorkflowEnvironment;
let worker: Worker;
let world: FakeWorld;
let workerDone: Promise<void>;
const taskQueue = 'deploy-workflow-test';

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: temporalBinary() }, searchAttributes: Object.values(SEARCH_ATTRIBUTES) },
  });
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: fakeActivities(() => world, taskQueue),
  });
  workerDone = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await workerDone;
  await env?.teardown();
});

const NODES = ['fog-1', 'fog-2', 'fog-3'];
let counter = 0;

function request(patch: Partial<DeployRequestInput> = {}) {
  return deployRequestSchema.parse({
    kind: 'Deploy',
    deploymentId: `wf-${++counter}`,
    application: { name: 'web', version: '2', source: { context: '/srv/web' } },
    nodes: NODES,
    healthCheck: { http: { port: 80 } },
    ...patch,
  });
}

/** Puts version 1 of `web` on every node, as if an earlier deployment ran. */
function seedVersion1() {
  for (const n of NODES) {
    world.nodes[n]!.push({ id: 'v1', name: 'web--old--00000000--r0', version: '1', deploymentId: 'old', running: true, state: 'running', previous: [], createdAt: 0 });
  }
}

async function run(req: ReturnType<typeof request>): Promise<DeploymentResult> {
  return env.client.workflow.execute(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req] });
}

describe('deploy workflow (fake node activities)', () => {
  beforeEach(() => {
    world = newWorld(NODES);
  });

  it('builds, pushes, deploys every node in batches of maxParallel, then retires older versions', async () => {
    seedVersion1();
    const result = await run(request({ strategy: { maxParallel: 2 } }));

    expect(result.status).toBe('Succeeded');
    for (const n of NODES) expect(running(world, n)).toEqual(['2']);
    expect(world.calls.slice(0, 2)).toEqual(['build', 'push']);
    // fog-3 is in the second batch: it is touched only after both of the first batch are verified.
    const firstTouchOf3 = world.calls.indexOf('pull fog-3');
    expect(world.calls.indexOf('verify fog-1')).toBeLessThan(firstTouchOf3);
    expect(world.calls.indexOf('verify fog-2')).toBeLessThan(firstTouchOf3);
    // Retiring happens after every node is healthy.
    const firstRetire = world.calls.findIndex((c) => c.startsWith('retire'));
    expect(Math.max(...NODES.map((n) => world.calls.indexOf(`verify ${n}`)))).toBeLessThan(firstRetire);
  });

  it('numbers events 1, 2, 3, ... and ends with exactly one terminal event, Succeeded', async () => {
    const req = request();
    await run(req);
    const events = world.events.filter((e) => e.deploymentId === req.deploymentId);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]!.phase).toBe('Accepted');
    expect(events.filter((e) => isTerminal(e.phase)).map((e) => e.phase)).toEqual(['Succeeded']);
    expect(events.at(-1)!.phase).toBe('Succeeded');
    for (const n of NODES) expect(events.some((e) => e.node === n && e.phase === 'Verifying' && e.message === 'healthy')).toBe(true);
  });

  it('rolls back every touched node, newest first, when one node fails verification', async () => {
    seedVersion1();
    world.unhealthy.add('fog-2');
    const req = request({ strategy: { maxParallel: 1 } });
    const failure = await run(req).then(
      () => undefined,
      (err: unknown) => err,
    );

    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('DeploymentRolledBack');
    const result = cause.details![0] as DeploymentResult;
    expect(result.status).toBe('RolledBack');
    expect(result.reason).toContain('fog-2');
    expect(result.reason).toContain('GET / answered 500');
    // fog-3 was never touched; fog-2 (newest) is restored before fog-1.
    expect(world.calls.filter((c) => c.startsWith('restore'))).toEqual(['restore fog-2', 'restore fog-1']);
    expect(world.calls).not.toContain('pull fog-3');
    for (const n of NODES) expect(running(world, n)).toEqual(['1']);
    for (const n of NODES) expect(world.nodes[n]!.filter((c) => c.deploymentId === req.deploymentId)).toEqual([]);
    const events = world.events.filter((e) => e.deploymentId === req.deploymentId);
    expect(events.filter((e) => isTerminal(e.phase)).map((e) => e.phase)).toEqual(['RolledBack']);
    expect(result.nodes['fog-2']!.state).toBe('RolledBack');
    expect(result.nodes['fog-3']!.state).toBe('Pending');
  });

  it('ends RolledBack without touching a node when the build fails, and does not retry the build', async () => {
    seedVersion1();
    world.failBuild = true;
    const err = await run(request()).catch((e: unknown) => e);
    expect(((err as WorkflowFailedError).cause as ApplicationFailure).message).toContain('unknown instruction FORM');
    expect(world.calls).toEqual(['build']);
    for (const n of NODES) expect(running(world, n)).toEqual(['1']);
  });

  it('skips build and push for a prebuilt image', async () => {
    const result = await run(request({ application: { name: 'web', version: '3', image: 'reg:5000/web:3' } }));
    expect(result.status).toBe('Succeeded');
    expect(world.calls).not.toContain('build');
    expect(world.calls).not.toContain('push');
  });
});
