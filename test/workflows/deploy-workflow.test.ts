// The deploy workflow in the Temporal test environment (the locally built server), with
// the node, build and event adapters replaced by in-memory fakes.
import { WorkflowFailedError } from '@temporalio/client';
import { type ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { deployRequestSchema, type DeployRequestInput } from '../../src/schemas/request';
import { isTerminal } from '../../src/schemas/event';
import { decideUpdate } from '../../workflows/definitions';
import { deployWorkflow, scaleWorkflow, undeployWorkflow, type DeploymentResult } from '../../workflows/deploy';
import { newWorld, running, type FakeWorld } from '../support/fake-node-activities';
import { startFakeEnvironment, type FakeEnvironment } from '../support/fake-environment';

jest.setTimeout(90_000);

let env: TestWorkflowEnvironment;
let fake: FakeEnvironment;
let world: FakeWorld;
const taskQueue = 'deploy-workflow-test';

beforeAll(async () => {
  fake = await startFakeEnvironment(taskQueue, () => world);
  env = fake.env;
});

afterAll(async () => {
  await fake?.stop();
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

describe('deploy workflow saga (fake node activities)', () => {
  beforeEach(() => {
    world = newWorld(NODES);
  });

  it('goes on past an undo that fails, reports the node, and ends Failed', async () => {
    seedVersion1();
    world.unhealthy.add('fog-2');
    world.unrestorable.add('fog-2');
    const err = (await run(request({ strategy: { maxParallel: 1 } })).catch((e: unknown) => e)) as WorkflowFailedError;
    const cause = err.cause as ApplicationFailure;
    expect(cause.type).toBe('DeploymentRollbackIncomplete');
    const result = cause.details![0] as DeploymentResult;
    expect(result.status).toBe('Failed');
    expect(result.nodes['fog-2']!.state).toBe('RestoreFailed');
    expect(result.nodes['fog-1']!.state).toBe('RolledBack');
    expect(running(world, 'fog-1')).toEqual(['1']);
    expect(world.events.at(-1)).toMatchObject({ phase: 'Failed', message: expect.stringContaining('rollback incomplete on fog-2') });
  });

  it('rolls back everything it changed when cancelled mid-rollout, and ends Cancelled', async () => {
    seedVersion1();
    world.hanging.add('fog-3');
    const req = request({ strategy: { maxParallel: 3 } });
    const handle = await env.client.workflow.start(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req] });
    await waitUntil(() => world.calls.includes('verify fog-3'));
    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    for (const n of NODES) expect(running(world, n)).toEqual(['1']);
    const events = world.events.filter((e) => e.deploymentId === req.deploymentId);
    expect(events.filter((e) => isTerminal(e.phase)).map((e) => e.phase)).toEqual(['Cancelled']);
  });

  it('leaves the queue without touching a node when cancelled while waiting for the application lock', async () => {
    world.hanging.add('fog-1');
    const first = request({ nodes: ['fog-1'] });
    const second = request({ nodes: ['fog-1'] });
    const h1 = await env.client.workflow.start(deployWorkflow, { workflowId: first.deploymentId, taskQueue, args: [first] });
    await waitUntil(() => world.calls.includes('verify fog-1'));
    const h2 = await env.client.workflow.start(deployWorkflow, { workflowId: second.deploymentId, taskQueue, args: [second] });
    await waitUntil(() => world.events.some((e) => e.deploymentId === second.deploymentId && e.message.includes('ahead of this one')));
    await h2.cancel();
    await expect(h2.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    world.hanging.delete('fog-1');
    expect((await h1.result()).status).toBe('Succeeded');
    expect(world.calls.filter((c) => c === 'pull fog-1')).toHaveLength(1);
    expect(world.events.filter((e) => e.deploymentId === second.deploymentId).at(-1)!.phase).toBe('Cancelled');
  });

  it('runs two deployments of one application one after the other, in the order they came', async () => {
    world.hanging.add('fog-1');
    const first = request({ nodes: ['fog-1', 'fog-2'] });
    const second = request({ nodes: ['fog-1', 'fog-2'], application: { name: 'web', version: '3', source: { context: '/srv/web' } } });
    const h1 = await env.client.workflow.start(deployWorkflow, { workflowId: first.deploymentId, taskQueue, args: [first] });
    await waitUntil(() => world.calls.includes('verify fog-1'));
    const h2 = await env.client.workflow.start(deployWorkflow, { workflowId: second.deploymentId, taskQueue, args: [second] });
    await new Promise((r) => setTimeout(r, 1500));
    // The second has not built or touched a node while the first holds the lock.
    expect(world.calls.filter((c) => c === 'build')).toHaveLength(1);
    world.hanging.delete('fog-1');
    await h1.result();
    await h2.result();
    const terminalOfFirst = world.events.findIndex((e) => e.deploymentId === first.deploymentId && isTerminal(e.phase));
    const acceptedSecond = world.events.findIndex((e) => e.deploymentId === second.deploymentId && e.phase === 'Building');
    expect(terminalOfFirst).toBeLessThan(acceptedSecond);
    for (const n of ['fog-1', 'fog-2']) expect(running(world, n)).toEqual(['3']);
  });
});

describe('paused deployments (fake node activities)', () => {
  beforeEach(() => {
    world = newWorld(NODES);
    seedVersion1();
    world.unhealthy.add('fog-2');
  });

  async function startPaused() {
    const req = request({ strategy: { maxParallel: 1, onFailure: 'pause', pauseTimeoutMs: 60_000 } });
    const handle = await env.client.workflow.start(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req] });
    await waitUntil(() => world.events.some((e) => e.deploymentId === req.deploymentId && e.phase === 'Paused' && e.node === undefined));
    return { req, handle };
  }

  it('retries the failed nodes on "retry" and goes on', async () => {
    const { handle } = await startPaused();
    world.unhealthy.delete('fog-2');
    expect(await handle.executeUpdate(decideUpdate, { args: ['retry'] })).toEqual({ accepted: 'retry', failedNodes: ['fog-2'] });
    expect((await handle.result()).status).toBe('Succeeded');
    for (const n of NODES) expect(running(world, n)).toEqual(['2']);
  });

  it('puts the failed nodes back and goes on without them on "skip"', async () => {
    const { handle } = await startPaused();
    await handle.executeUpdate(decideUpdate, { args: ['skip'] });
    const result = await handle.result();
    expect(result.status).toBe('Succeeded');
    expect(result.nodes['fog-2']!.state).toBe('Skipped');
    expect(running(world, 'fog-1')).toEqual(['2']);
    expect(running(world, 'fog-2')).toEqual(['1']);
    expect(running(world, 'fog-3')).toEqual(['2']);
  });

  it('rolls everything back on "rollback"', async () => {
    const { handle } = await startPaused();
    await handle.executeUpdate(decideUpdate, { args: ['rollback'] });
    const err = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
    expect((err.cause as ApplicationFailure).message).toContain('operator chose rollback');
    for (const n of NODES) expect(running(world, n)).toEqual(['1']);
  });

  it('refuses a decision when the deployment is not paused', async () => {
    const { handle } = await startPaused();
    await handle.executeUpdate(decideUpdate, { args: ['rollback'] });
    await expect(handle.executeUpdate(decideUpdate, { args: ['retry'] })).rejects.toMatchObject({ cause: { message: expect.stringContaining('is not paused') } });
    await handle.result().catch(() => undefined);
  });

  it('rolls back when no decision comes before the pause times out', async () => {
    const req = request({ strategy: { maxParallel: 1, onFailure: 'pause', pauseTimeoutMs: 1000 } });
    const err = (await run(req).catch((e: unknown) => e)) as WorkflowFailedError;
    expect((err.cause as ApplicationFailure).message).toContain('no decision before the pause timed out');
    for (const n of NODES) expect(running(world, n)).toEqual(['1']);
  });
});

async function waitUntil(predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('scale and undeploy workflows (fake node activities)', () => {
  beforeEach(() => {
    world = newWorld(NODES);
    seedVersion1();
    // What the seeded deployment left behind, as the history activity reports it.
    // Built from source: running it again must reuse its digest, never rebuild.
    world.history = [{ deploymentId: 'old', request: request({ deploymentId: 'old', application: { name: 'web', version: '1', source: { context: '/srv/web' } }, nodes: NODES }), digest: 'sha256:old' }];
  });

  it('takes the application off the named nodes only after reading what ran there, then removes it', async () => {
    const result = await env.client.workflow.execute(undeployWorkflow, {
      workflowId: `wf-undeploy-${++counter}`,
      taskQueue,
      args: [{ kind: 'Undeploy', deploymentId: `wf-undeploy-${counter}`, application: 'web', nodes: ['fog-1', 'fog-3'] }],
    });

    expect(result.status).toBe('Succeeded');
    expect([running(world, 'fog-1'), running(world, 'fog-2'), running(world, 'fog-3')]).toEqual([[], ['1'], []]);
    expect([world.nodes['fog-1'], world.nodes['fog-3']]).toEqual([[], []]);
    expect(world.calls).toEqual(['stop fog-1', 'stop fog-3', 'remove fog-1', 'remove fog-3']);
    expect(result.state?.request.nodes).toEqual(['fog-2']);
  });

  it('starts again what it stopped, newest first, when taking the application off a later node fails', async () => {
    world.unstoppable.add('fog-2');
    const id = `wf-undeploy-${++counter}`;
    const failure = await env.client.workflow
      .execute(undeployWorkflow, { workflowId: id, taskQueue, args: [{ kind: 'Undeploy', deploymentId: id, application: 'web' }] })
      .catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const result = ((failure as WorkflowFailedError).cause as ApplicationFailure).details![0] as DeploymentResult;
    expect(result.status).toBe('RolledBack');
    expect(result.reason).toContain('refuses to stop');
    expect(NODES.map((n) => running(world, n))).toEqual([['1'], ['1'], ['1']]);
    expect(world.calls).toEqual(['stop fog-1', 'stop fog-2', 'restart fog-2', 'restart fog-1']);
    expect(world.events.filter((e) => isTerminal(e.phase)).map((e) => e.phase)).toEqual(['RolledBack']);
  });

  it('scales in: rolls the current version out on the remaining nodes before taking it off the others', async () => {
    const id = `wf-scale-${++counter}`;
    const result = await env.client.workflow.execute(scaleWorkflow, {
      workflowId: id,
      taskQueue,
      args: [{ kind: 'Scale', deploymentId: id, application: 'web', nodes: ['fog-2'], replicasPerNode: 2 }],
    });

    expect(result.status).toBe('Succeeded');
    expect(NODES.map((n) => running(world, n))).toEqual([[], ['1', '1'], []]);
    expect(world.calls.indexOf('verify fog-2')).toBeLessThan(world.calls.indexOf('stop fog-1'));
    expect(world.calls.filter((c) => c === 'build' || c === 'push')).toEqual([]);
    expect(result.state).toMatchObject({ digest: 'sha256:old', request: { nodes: ['fog-2'], replicasPerNode: 2 } });
  });

  it('records the digest a Deploy pushed in the state it leaves, for a later Rollback or Scale', async () => {
    const result = await run(request());
    expect(result.state).toMatchObject({ digest: 'sha256:feed', request: { nodes: NODES, application: { version: '2' } } });
  });
});
