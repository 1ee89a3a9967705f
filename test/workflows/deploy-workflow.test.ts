// The operation workflows in the Temporal test environment (the locally built server), with
// a fake target standing in for the nodes and fakes for the build, history and event
// adapters (test/support/fake-target.ts). The saga, the batches, pause decisions, the lock,
// Scale and Undeploy, nodes at a remote site, and a deployment wide enough to continue as new:
// what the conformance suite (test/workflows/conformance.test.ts) does not already show, such
// as the order of the steps and the result's details.
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { isTerminal, type Phase } from '../../src/core/schemas/event';
import { deployRequestSchema, type DeployRequestInput } from '../../src/core/schemas/request';
import { acquireLock } from '../../src/operations/lock';
import { decideUpdate, type DeploymentResult } from '../../workflows/definitions';
import { deployWorkflow, scaleWorkflow, undeployWorkflow } from '../../workflows/operation';
import { startFakeEnvironment, type FakeEnvironment } from '../support/fake-environment';
import { newWorld, running, type FakeWorld } from '../support/fake-target';
import { isLocalActivityMarker } from '../support/history';

jest.setTimeout(180_000);

let env: TestWorkflowEnvironment;
let fake: FakeEnvironment;
let world: FakeWorld;
const taskQueue = 'deploy-workflow-test';
const SITE = 'site-a';

beforeAll(async () => {
  // fog-9 is served by a worker of its site's own queue; every other node by the main queue.
  fake = await startFakeEnvironment(taskQueue, () => world, { sites: { [SITE]: ['fog-9'] } });
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
function seedVersion1(nodes = NODES) {
  for (const n of nodes) world.nodes[n]!.push({ name: 'web--old--r0', version: '1', deploymentId: 'old', running: true, previous: [] });
}

async function run(req: ReturnType<typeof request>): Promise<DeploymentResult> {
  return env.client.workflow.execute(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req] });
}

async function failure(req: ReturnType<typeof request>): Promise<{ type: string; result: DeploymentResult }> {
  const err = await run(req).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
  return { type: cause.type!, result: cause.details![0] as DeploymentResult };
}

const eventsOf = (id: string) => world.events.filter((e) => e.deploymentId === id);

async function waitUntil(predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('deploy workflow (fake target)', () => {
  beforeEach(() => {
    world = newWorld(NODES);
  });

  it('builds, pushes, rolls out in batches of maxParallel, each node applied and verified, then retires older versions everywhere', async () => {
    seedVersion1();
    const result = await run(request({ strategy: { maxParallel: 2 } }));

    expect(result.status).toBe('Succeeded');
    for (const n of NODES) expect(running(world, n)).toEqual(['2']);
    expect(world.calls.slice(0, 2)).toEqual(['build', 'push']);
    // fog-3 is in the second batch: it is touched only after both of the first batch are verified.
    const firstTouchOf3 = world.calls.indexOf('apply fog-3');
    for (const n of ['fog-1', 'fog-2']) expect(world.calls.indexOf(`verify ${n}`)).toBeLessThan(firstTouchOf3);
    // Older versions go only once every node is healthy: until then a restore needs each node as it was.
    const firstRetire = world.calls.findIndex((c) => c.startsWith('retire'));
    expect(Math.max(...NODES.map((n) => world.calls.indexOf(`verify ${n}`)))).toBeLessThan(firstRetire);
    expect(world.calls.filter((c) => c.startsWith('retire')).sort()).toEqual(NODES.map((n) => `retire ${n}`));
    // The previous version stays on every node, stopped, for a restore.
    for (const n of NODES) expect(world.nodes[n]!.map((c) => [c.version, c.running])).toEqual([['1', false], ['2', true]]);
  });

  it('numbers events 1, 2, 3, ..., reports every step of every node, and ends with exactly one terminal event', async () => {
    const req = request();
    await run(req);
    const events = eventsOf(req.deploymentId);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]!.phase).toBe('Accepted');
    expect(events.filter((e) => isTerminal(e.phase)).map((e) => e.phase)).toEqual(['Succeeded']);
    expect(events.at(-1)!.phase).toBe('Succeeded');
    for (const n of NODES) {
      expect(events.filter((e) => e.node === n).map((e) => [e.phase, e.message])).toEqual([
        ['Configuring', '1 container(s)'],
        ['Deploying', `container started: web--${req.deploymentId}--r0`],
        ['Verifying', 'waiting for http health check'],
        ['Verifying', 'healthy'],
      ]);
    }
  });

  it('rolls back every touched node, newest first, when one node fails verification', async () => {
    seedVersion1();
    world.unhealthy.add('fog-2');
    const req = request({ strategy: { maxParallel: 1 } });
    const { type, result } = await failure(req);

    expect(type).toBe('DeploymentRolledBack');
    expect(result.status).toBe('RolledBack');
    expect(result.reason).toContain('fog-2');
    expect(result.reason).toContain('GET / answered 500');
    // fog-3 was never touched; fog-2 (newest) is restored before fog-1.
    expect(world.calls.filter((c) => c.startsWith('restore'))).toEqual(['restore fog-2', 'restore fog-1']);
    expect(world.calls).not.toContain('apply fog-3');
    expect(world.calls.some((c) => c.startsWith('retire'))).toBe(false);
    for (const n of NODES) expect(running(world, n)).toEqual(['1']);
    for (const n of NODES) expect(world.nodes[n]!.filter((c) => c.deploymentId === req.deploymentId)).toEqual([]);
    const events = eventsOf(req.deploymentId);
    expect(events.filter((e) => isTerminal(e.phase)).map((e) => e.phase)).toEqual(['RolledBack']);
    // The failed node's steps up to the failure are reported too.
    expect(events.filter((e) => e.node === 'fog-2').map((e) => e.message)).toEqual([
      '1 container(s)',
      `container started: web--${req.deploymentId}--r0`,
      'waiting for http health check',
      expect.stringContaining('failed: container c on fog-2 did not become healthy: GET / answered 500'),
      'removed web--' + req.deploymentId + '--r0; restarted web--old--r0',
    ]);
    expect(result.nodes['fog-2']!.state).toBe('RolledBack');
    expect(result.nodes['fog-3']!.state).toBe('Pending');
  });

  it('ends RolledBack without touching a node when the build fails, and does not retry the build', async () => {
    seedVersion1();
    world.failBuild = true;
    const { result } = await failure(request());
    expect(result.reason).toContain('unknown instruction FORM');
    expect(world.calls).toEqual(['build']);
    for (const n of NODES) expect(running(world, n)).toEqual(['1']);
  });

  it('skips build and push for a prebuilt image', async () => {
    const result = await run(request({ application: { name: 'web', version: '3', image: 'reg:5000/web:3' } }));
    expect(result.status).toBe('Succeeded');
    expect(world.calls).not.toContain('build');
    expect(world.calls).not.toContain('push');
    expect(result.image).toBe('reg:5000/web:3');
  });

  it('records the digest a Deploy pushed in the state it leaves, for a later Rollback or Scale', async () => {
    const result = await run(request());
    expect(result.state).toMatchObject({ digest: 'sha256:feed', request: { nodes: NODES, application: { version: '2' } } });
    expect(result.image).toBe('reg:5000/web@sha256:feed');
  });
});

describe('deploy workflow saga (fake target)', () => {
  beforeEach(() => {
    world = newWorld(NODES);
  });

  it('goes on past an undo that fails, reports the node, and ends Failed', async () => {
    seedVersion1();
    world.unhealthy.add('fog-2');
    world.unrestorable.add('fog-2');
    const { type, result } = await failure(request({ strategy: { maxParallel: 1 } }));
    expect(type).toBe('DeploymentRollbackIncomplete');
    expect(result.status).toBe('Failed');
    expect(result.nodes['fog-2']!.state).toBe('RestoreFailed');
    expect(result.nodes['fog-1']!.state).toBe('RolledBack');
    expect(running(world, 'fog-1')).toEqual(['1']);
    expect(world.events.at(-1)).toMatchObject({ phase: 'Failed', message: expect.stringContaining('rollback incomplete on fog-2') });
  });

  it('leaves the queue without touching a node when cancelled while waiting for the application lock', async () => {
    world.hanging.add('fog-1');
    const first = request({ nodes: ['fog-1'] });
    const second = request({ nodes: ['fog-1'] });
    const h1 = await env.client.workflow.start(deployWorkflow, { workflowId: first.deploymentId, taskQueue, args: [first] });
    await waitUntil(() => world.calls.includes('verify fog-1'));
    const h2 = await env.client.workflow.start(deployWorkflow, { workflowId: second.deploymentId, taskQueue, args: [second] });
    await waitUntil(() => eventsOf(second.deploymentId).some((e) => e.message.includes('ahead of this one')));
    await h2.cancel();
    await expect(h2.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    world.hanging.delete('fog-1');
    expect((await h1.result()).status).toBe('Succeeded');
    expect(world.calls.filter((c) => c === 'apply fog-1')).toHaveLength(1);
    expect(eventsOf(second.deploymentId).at(-1)!.phase).toBe('Cancelled');
  });

  it('runs two deployments of one application one after the other, in the order they came; the second builds meanwhile', async () => {
    world.hanging.add('fog-1');
    const first = request({ nodes: ['fog-1', 'fog-2'] });
    const second = request({ nodes: ['fog-1', 'fog-2'], application: { name: 'web', version: '3', source: { context: '/srv/web' } } });
    const h1 = await env.client.workflow.start(deployWorkflow, { workflowId: first.deploymentId, taskQueue, args: [first] });
    await waitUntil(() => world.calls.includes('verify fog-1'));
    const h2 = await env.client.workflow.start(deployWorkflow, { workflowId: second.deploymentId, taskQueue, args: [second] });
    await waitUntil(() => world.calls.filter((c) => c === 'push').length === 2);
    await new Promise((r) => setTimeout(r, 1000));
    // The second has built and pushed, but touched no node while the first holds the lock.
    expect(world.calls.filter((c) => c.startsWith('apply'))).toEqual(['apply fog-1']);
    world.hanging.delete('fog-1');
    await h1.result();
    await h2.result();
    const terminalOfFirst = world.events.findIndex((e) => e.deploymentId === first.deploymentId && isTerminal(e.phase));
    const rolloutOfSecond = world.events.findIndex((e) => e.deploymentId === second.deploymentId && e.phase === 'Deploying');
    expect(terminalOfFirst).toBeLessThan(rolloutOfSecond);
    for (const n of ['fog-1', 'fog-2']) expect(running(world, n)).toEqual(['3']);
  });
});

describe('the application lock as starters ask for it (fake target)', () => {
  beforeEach(() => {
    world = newWorld(NODES);
  });

  it('runs a deployment whose turn came before it had started, when its starter was told to queue it', async () => {
    world.hanging.add('fog-1');
    const first = request({ nodes: ['fog-1'] });
    const second = request({ nodes: ['fog-1'] });
    const h1 = await env.client.workflow.start(deployWorkflow, { workflowId: first.deploymentId, taskQueue, args: [first] });
    await waitUntil(() => world.calls.includes('verify fog-1'));
    const requester = { workflowId: second.deploymentId, token: 'start' };
    expect(await acquireLock(env.client, { taskQueue }, 'web', requester)).toBe('queued');
    // The first ends and releases: the lock's grant to the second finds no workflow yet.
    world.hanging.delete('fog-1');
    expect((await h1.result()).status).toBe('Succeeded');
    await new Promise((r) => setTimeout(r, 500));
    const h2 = await env.client.workflow.start(deployWorkflow, { workflowId: second.deploymentId, taskQueue, args: [second, { lock: { token: 'start', granted: false } }] });
    expect((await h2.result()).status).toBe('Succeeded');
    expect(running(world, 'fog-1')).toEqual(['2']);
  });
});

describe('paused deployments (fake target)', () => {
  beforeEach(() => {
    world = newWorld(NODES);
    seedVersion1();
    world.unhealthy.add('fog-2');
  });

  async function startPaused() {
    const req = request({ strategy: { maxParallel: 1, onFailure: 'pause', pauseTimeoutMs: 60_000 } });
    const handle = await env.client.workflow.start(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req] });
    await waitUntil(() => eventsOf(req.deploymentId).some((e) => e.phase === 'Paused' && e.node === undefined));
    return { req, handle };
  }

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
    world.unhealthy.delete('fog-2');
    world.hanging.add('fog-1');
    const req = request({ strategy: { maxParallel: 1, onFailure: 'pause', pauseTimeoutMs: 60_000 } });
    const handle = await env.client.workflow.start(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req] });
    await waitUntil(() => world.calls.includes('verify fog-1'));
    await expect(handle.executeUpdate(decideUpdate, { args: ['retry'] })).rejects.toMatchObject({ cause: { message: expect.stringContaining('is not paused') } });
    world.hanging.delete('fog-1');
    expect((await handle.result()).status).toBe('Succeeded');
  });

  it('rolls back when no decision comes before the pause times out', async () => {
    const req = request({ strategy: { maxParallel: 1, onFailure: 'pause', pauseTimeoutMs: 1000 } });
    const { result } = await failure(req);
    expect(result.reason).toContain('no decision before the pause timed out');
    for (const n of NODES) expect(running(world, n)).toEqual(['1']);
  });
});

describe('scale and undeploy workflows (fake target)', () => {
  beforeEach(() => {
    world = newWorld(NODES);
    seedVersion1();
    // What the seeded deployment left behind, as the history activity reports it.
    // Built from source: running it again must reuse its digest, never rebuild.
    world.history = [{ deploymentId: 'old', request: request({ deploymentId: 'old', application: { name: 'web', version: '1', source: { context: '/srv/web' } }, nodes: NODES }), digest: 'sha256:old' }];
  });

  it('takes the application off the named nodes only after reading what ran there, then removes it', async () => {
    const id = `wf-undeploy-${++counter}`;
    const result = await env.client.workflow.execute(undeployWorkflow, { workflowId: id, taskQueue, args: [{ kind: 'Undeploy', deploymentId: id, application: 'web', nodes: ['fog-1', 'fog-3'] }] });

    expect(result.status).toBe('Succeeded');
    expect(NODES.map((n) => running(world, n))).toEqual([[], ['1'], []]);
    expect([world.nodes['fog-1'], world.nodes['fog-3']]).toEqual([[], []]);
    expect(world.calls).toEqual(['stop fog-1', 'stop fog-3', 'remove fog-1', 'remove fog-3']);
    expect(result.state?.request.nodes).toEqual(['fog-2']);
  });

  it('of an application that runs nowhere: succeeds, nothing to remove, and touches no node', async () => {
    world = newWorld(NODES);
    const id = `wf-undeploy-${++counter}`;
    const result = await env.client.workflow.execute(undeployWorkflow, { workflowId: id, taskQueue, args: [{ kind: 'Undeploy', deploymentId: id, application: 'web' }] });

    expect(result.status).toBe('Succeeded');
    expect(world.calls.filter((c) => !c.startsWith('locate'))).toEqual([]);
    expect(eventsOf(id).map((e) => [e.phase, e.message])).toEqual([
      ['Accepted', 'undeploying web from every node it runs on'],
      ['Accepted', 'plan: nothing to remove'],
      ['Succeeded', 'nothing to remove: web has no container on any node of the inventory'],
    ]);
    expect(world.records.filter((r) => r.deploymentId === id).map((r) => r.status)).toEqual(['Succeeded']);
  });

  it('starts again what it stopped when taking the application off a later node fails', async () => {
    world.unstoppable.add('fog-2');
    const id = `wf-undeploy-${++counter}`;
    const err = await env.client.workflow.execute(undeployWorkflow, { workflowId: id, taskQueue, args: [{ kind: 'Undeploy', deploymentId: id, application: 'web' }] }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(WorkflowFailedError);
    const result = ((err as WorkflowFailedError).cause as ApplicationFailure).details![0] as DeploymentResult;
    expect(result.status).toBe('RolledBack');
    expect(result.reason).toContain('refuses to stop');
    expect(NODES.map((n) => running(world, n))).toEqual([['1'], ['1'], ['1']]);
    expect(world.calls.filter((c) => c.startsWith('restore')).sort()).toEqual(['restore fog-1', 'restore fog-2', 'restore fog-3']);
    expect(world.calls.some((c) => c.startsWith('remove'))).toBe(false);
    expect(eventsOf(id).filter((e) => isTerminal(e.phase)).map((e) => e.phase)).toEqual(['RolledBack']);
  });

  it('scales in: rolls the current version out on the remaining nodes before taking it off the others', async () => {
    const id = `wf-scale-${++counter}`;
    const result = await env.client.workflow.execute(scaleWorkflow, { workflowId: id, taskQueue, args: [{ kind: 'Scale', deploymentId: id, application: 'web', nodes: ['fog-2'], replicasPerNode: 2 }] });

    expect(result.status).toBe('Succeeded');
    expect(NODES.map((n) => running(world, n))).toEqual([[], ['1', '1'], []]);
    expect(world.calls.indexOf('verify fog-2')).toBeLessThan(world.calls.indexOf('stop fog-1'));
    expect(world.calls.filter((c) => c === 'build' || c === 'push')).toEqual([]);
    expect(result.state).toMatchObject({ digest: 'sha256:old', request: { nodes: ['fog-2'], replicasPerNode: 2 } });
  });
});

describe('nodes at a remote site (fake target)', () => {
  beforeEach(() => {
    world = newWorld(['fog-1', 'fog-9']);
  });

  it("runs a remote node's verbs as activities on its site's task queue, and the rest as local activities", async () => {
    seedVersion1(['fog-1', 'fog-9']);
    world.unhealthy.add('fog-9');
    const req = request({ nodes: ['fog-1', 'fog-9'], strategy: { maxParallel: 2 } });
    const { result } = await failure(req);
    expect(result.nodes['fog-9']!.state).toBe('RolledBack');
    for (const n of ['fog-1', 'fog-9']) expect(running(world, n)).toEqual(['1']);

    const child = async (node: string) => (await env.client.workflow.getHandle(`${req.deploymentId}/${node}`).fetchHistory()).events!;
    const scheduledOn = (events: Awaited<ReturnType<typeof child>>) => events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes!.taskQueue!.name);
    const markers = (events: Awaited<ReturnType<typeof child>>) => events.filter(isLocalActivityMarker).length;
    expect(scheduledOn(await child('fog-9'))).toEqual([SITE, SITE]);
    expect(markers(await child('fog-9'))).toBe(0);
    expect(scheduledOn(await child('fog-1'))).toEqual([]);
    expect(markers(await child('fog-1'))).toBe(2);
    // The parent restores the remote node on its site's queue too.
    const parent = (await env.client.workflow.getHandle(req.deploymentId).fetchHistory()).events!;
    expect(scheduledOn(parent)).toContain(SITE);
  });
});

describe('a deployment wider than one history (fake target)', () => {
  // Enough nodes that one run's history cannot hold them all (about 4 events per node in the parent).
  const WIDE = Array.from({ length: 2000 }, (_, i) => `n-${i}`);

  beforeEach(() => {
    world = newWorld(WIDE);
  });

  it('continues as new between waves, keeps every run within its limits, and restores nodes of earlier runs when a late node fails', async () => {
    world.unhealthy.add('n-1999');
    const req = request({ nodes: WIDE, strategy: { maxParallel: 2000 }, application: { name: 'web', version: '2', image: 'reg:5000/web:2' } });
    const { result } = await failure(req);

    expect(result.status).toBe('RolledBack');
    for (const n of WIDE) expect(world.nodes[n]).toEqual([]);
    expect(Object.values(result.nodes).filter((n) => n.state === 'RolledBack')).toHaveLength(2000);
    // More than one run, none of them with a history past Temporal's warning limit: each run's
    // history, from the last back through the run each one continued (exact, where Temporal's
    // visibility list may lag the close).
    const lengths: number[] = [];
    for (let runId = (await env.client.workflow.getHandle(req.deploymentId).describe()).runId; runId; ) {
      const events = (await env.client.workflow.getHandle(req.deploymentId, runId).fetchHistory()).events ?? [];
      lengths.push(events.length);
      runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? '';
    }
    expect(lengths.length).toBeGreaterThan(1);
    for (const n of lengths) expect(n).toBeLessThanOrEqual(10_240);
    // At least once: a publish retried (its workflow task timed out under the load of 2,000
    // nodes) repeats events under the same seq, never under a new one.
    const bySeq = new Map<number, unknown>();
    for (const e of eventsOf(req.deploymentId)) {
      if (bySeq.has(e.seq)) expect(e).toEqual(bySeq.get(e.seq));
      else bySeq.set(e.seq, e);
    }
    expect([...bySeq.keys()].sort((a, b) => a - b)).toEqual([...bySeq.keys()].map((_, i) => i + 1));
    expect([...bySeq.values()].filter((e) => isTerminal((e as { phase: Phase }).phase)).map((e) => (e as { phase: Phase }).phase)).toEqual(['RolledBack']);
  });
});
