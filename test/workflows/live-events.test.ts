// A node's events as they happen (src/core/live-events.ts), in the Temporal test environment
// with the fake target (test/support/fake-target.ts): the order in which events are published,
// their seq, and the one terminal event, when a node rolls out alone under a lease of the
// deployment's numbers, when it is cancelled mid-wait, when a step is retried, and when
// nodes roll out side by side or a node alone at a site (they relay their events to the
// deployment's run, which publishes them among its own).
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ATTEMPT_SPAN, isProgressMessage, LEASE_SIZE } from '../../src/core/live-events';
import { isTerminal, type StatusEvent } from '../../src/core/schemas/event';
import { deployRequestSchema, type DeployRequestInput } from '../../src/core/schemas/request';
import { deployWorkflow } from '../../workflows/operation';
import { startFakeEnvironment, type FakeEnvironment } from '../support/fake-environment';
import { newWorld, type FakeWorld } from '../support/fake-target';
import { notIncreasing } from '../support/seq';

jest.setTimeout(120_000);

let env: TestWorkflowEnvironment;
let fake: FakeEnvironment;
let world: FakeWorld;
const taskQueue = 'live-events-test';
let counter = 0;

beforeAll(async () => {
  // fog-9 is served by a worker of a site's own queue: its steps are activities there, not local ones.
  fake = await startFakeEnvironment(taskQueue, () => world, { sites: { 'live-events-site': ['fog-9'] } });
  env = fake.env;
});

afterAll(async () => {
  await fake?.stop();
});

beforeEach(() => {
  world = newWorld(['fog-1', 'fog-2']);
});

function request(patch: Partial<DeployRequestInput> = {}) {
  return deployRequestSchema.parse({
    kind: 'Deploy',
    deploymentId: `live-${++counter}-${Date.now().toString(36)}`,
    application: { name: 'web', version: '2', image: 'reg:5000/web:2' },
    nodes: ['fog-1'],
    healthCheck: { http: { port: 80 } },
    ...patch,
  });
}

/** The deployment's events in the order they were published. */
const eventsOf = (id: string) => world.events.filter((e) => e.deploymentId === id);

async function waitUntil(predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function expectIncreasingWithOneTerminal(events: StatusEvent[], terminal: string): void {
  expect(notIncreasing(events.map((e) => e.seq))).toEqual([]);
  expect(events.filter((e) => isTerminal(e.phase)).map((e) => e.phase)).toEqual([terminal]);
  expect(events.at(-1)!.phase).toBe(terminal);
}

describe("a node's events as they happen (fake target)", () => {
  it('publishes a lone node\'s steps while it waits, with a progress event every 4-5 s, then numbers on after them', async () => {
    world.hanging.add('fog-1');
    const req = request();
    const handle = await env.client.workflow.start(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req] });
    // Published before the node's workflow has ended: the deployment could not have published it.
    await waitUntil(() => eventsOf(req.deploymentId).some((e) => e.phase === 'Verifying' && e.node === 'fog-1'));
    await waitUntil(() => eventsOf(req.deploymentId).filter((e) => isProgressMessage(e.message)).length >= 2, 20_000);
    world.hanging.delete('fog-1');
    expect((await handle.result()).status).toBe('Succeeded');

    const events = eventsOf(req.deploymentId);
    expectIncreasingWithOneTerminal(events, 'Succeeded');
    // No gap: the node's steps took the numbers right after the deployment's, and the deployment went on after them.
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const node = events.filter((e) => e.node === 'fog-1');
    expect(node.map((e) => [e.phase, isProgressMessage(e.message) ? 'progress' : e.message])).toEqual([
      ['Configuring', '1 container(s)'],
      ['Deploying', `container started: web--${req.deploymentId}--r0`],
      ['Verifying', 'waiting for http health check'],
      ...node.filter((e) => isProgressMessage(e.message)).map(() => ['Verifying', 'progress']),
      ['Verifying', 'healthy'],
    ]);
    const progress = node.filter((e) => isProgressMessage(e.message));
    expect(progress[0]!.message).toMatch(/^waiting for http health check, [45] s so far$/);
    for (const [i, e] of progress.entries()) {
      const before = i === 0 ? node[2]! : progress[i - 1]!;
      const gap = Date.parse(e.at) - Date.parse(before.at);
      expect(gap).toBeGreaterThanOrEqual(4_000);
      expect(gap).toBeLessThanOrEqual(5_000);
    }
  });

  it('when cancelled mid-wait, the node publishes nothing more, and RollingBack and Cancelled come after the whole lease', async () => {
    world.hanging.add('fog-1');
    const req = request();
    const handle = await env.client.workflow.start(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req] });
    await waitUntil(() => eventsOf(req.deploymentId).some((e) => isProgressMessage(e.message)), 20_000);
    await handle.cancel();
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    world.hanging.delete('fog-1');

    const events = eventsOf(req.deploymentId);
    expectIncreasingWithOneTerminal(events, 'Cancelled');
    const rollingBack = events.findIndex((e) => e.phase === 'RollingBack');
    // Every event of the node's steps came before the deployment went on.
    expect(events.slice(rollingBack).filter((e) => e.node === 'fog-1' && e.phase === 'Verifying')).toEqual([]);
    // A cancelled node workflow cannot say how far it numbered: the deployment numbers after its whole lease.
    const leaseStart = events.find((e) => e.node === 'fog-1')!.seq - 1;
    expect(events[rollingBack]!.seq).toBe(leaseStart + LEASE_SIZE + 1);
  });

  it('relays the steps of a node alone at a site (a site worker has no Kafka): once cancelled, nothing of its step lands after RollingBack', async () => {
    world = newWorld(['fog-9']);
    world.hanging.add('fog-9');
    const req = request({ nodes: ['fog-9'] });
    const handle = await env.client.workflow.start(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req] });
    await waitUntil(() => eventsOf(req.deploymentId).some((e) => e.node === 'fog-9' && isProgressMessage(e.message)), 20_000);
    await handle.cancel();
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    // The step ends once its heartbeat's answer tells it of the cancel, seconds later: whatever
    // it relayed meanwhile, the run no longer heard.
    await waitUntil(() => !world.verifying.has('fog-9'), 20_000);
    world.hanging.delete('fog-9');

    const events = eventsOf(req.deploymentId);
    expectIncreasingWithOneTerminal(events, 'Cancelled');
    const rollingBack = events.findIndex((e) => e.phase === 'RollingBack');
    expect(events.slice(rollingBack).filter((e) => e.node === 'fog-9' && e.phase === 'Verifying')).toEqual([]);
  });

  it('numbers a retried step in a span of its own, so a repeat never reuses a seq', async () => {
    // The node's engine does not answer at first: apply fails and is tried again.
    world.unreachable.add('fog-1');
    const req = request();
    const handle = await env.client.workflow.start(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req] });
    await waitUntil(() => world.calls.filter((c) => c === 'apply fog-1').length >= 1);
    world.unreachable.delete('fog-1');
    expect((await handle.result()).status).toBe('Succeeded');

    const events = eventsOf(req.deploymentId);
    expectIncreasingWithOneTerminal(events, 'Succeeded');
    const first = events.find((e) => e.node === 'fog-1')!;
    const leaseStart = events[events.indexOf(first) - 1]!.seq;
    // The first attempt published nothing; the one that went through numbered from its own span.
    expect(first.seq).toBeGreaterThan(leaseStart + ATTEMPT_SPAN);
  });

  it('publishes the steps of nodes that roll out side by side once each has ended, without progress events', async () => {
    world.hanging.add('fog-1');
    const req = request({ nodes: ['fog-1', 'fog-2'], strategy: { maxParallel: 2 } });
    const handle = await env.client.workflow.start(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req] });
    await waitUntil(() => eventsOf(req.deploymentId).some((e) => e.node === 'fog-2' && e.message === 'healthy'));
    // fog-1 still waits, and said nothing yet: it holds no lease, and relaying is off for nodes side by side.
    expect(eventsOf(req.deploymentId).filter((e) => e.node === 'fog-1')).toEqual([]);
    world.hanging.delete('fog-1');
    expect((await handle.result()).status).toBe('Succeeded');

    const events = eventsOf(req.deploymentId);
    expectIncreasingWithOneTerminal(events, 'Succeeded');
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => isProgressMessage(e.message))).toEqual([]);
    expect(events.filter((e) => e.node === 'fog-1').map((e) => e.message)).toEqual(['1 container(s)', `container started: web--${req.deploymentId}--r0`, 'waiting for http health check', 'healthy']);
  });

  it('when nodes side by side are cancelled mid-wait, RollingBack and Cancelled end it', async () => {
    world.hanging.add('fog-1');
    world.hanging.add('fog-2');
    const req = request({ nodes: ['fog-1', 'fog-2'], strategy: { maxParallel: 2 } });
    const handle = await env.client.workflow.start(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req] });
    await waitUntil(() => world.verifying.has('fog-1') && world.verifying.has('fog-2'), 20_000);
    await handle.cancel();
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    world.hanging.clear();

    const events = eventsOf(req.deploymentId);
    expectIncreasingWithOneTerminal(events, 'Cancelled');
    const rollingBack = events.findIndex((e) => e.phase === 'RollingBack');
    expect(events.slice(rollingBack).filter((e) => e.phase === 'Verifying')).toEqual([]);
  });
});
