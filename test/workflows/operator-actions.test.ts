// The Temporal UI's own actions on deployments, in the Temporal test environment with the
// fake target (test/support/fake-target.ts): a Reset, which replays the old run's input and
// reapplies its signals, and a Terminate, after which no workflow code of the run executes.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { randomUUID } from 'node:crypto';
import { isTerminal } from '../../src/core/schemas/event';
import { deployRequestSchema, type DeployRequestInput } from '../../src/core/schemas/request';
import { acquireLock } from '../../src/operations/lock';
import { lockStateQuery } from '../../workflows/application-lock';
import { deployWorkflow } from '../../workflows/operation';
import { compensationWorkflowId, lockWorkflowId } from '../../src/core/workflow-ids';
import { startFakeEnvironment, type FakeEnvironment } from '../support/fake-environment';
import { newWorld, running, type FakeWorld } from '../support/fake-target';
import { notIncreasing } from '../support/seq';
import { workflowCode } from '../support/workflow-code';

jest.setTimeout(180_000);

let env: TestWorkflowEnvironment;
let fake: FakeEnvironment;
let world: FakeWorld;
const taskQueue = 'operator-actions-test';
const NODES = ['fog-1', 'fog-2', 'fog-3'];

beforeAll(async () => {
  fake = await startFakeEnvironment(taskQueue, () => world);
  env = fake.env;
});

afterAll(async () => {
  await fake?.stop();
});

let app = '';
/** A new world for application `name`, version 1 running on every node as if deployed before. */
function begin(name: string): void {
  app = name;
  world = newWorld(NODES);
  for (const n of NODES) world.nodes[n]!.push({ name: `${app}--old--r0`, version: '1', deploymentId: 'old', running: true, previous: [] });
}

let counter = 0;
function request(patch: Partial<DeployRequestInput> = {}) {
  return deployRequestSchema.parse({
    kind: 'Deploy',
    deploymentId: `${app}-${++counter}`,
    application: { name: app, version: '2', image: 'reg:5000/app@sha256:feed' },
    nodes: NODES,
    healthCheck: { http: { port: 80 } },
    strategy: { maxParallel: 1 },
    ...patch,
  });
}

const eventsOf = (id: string) => world.events.filter((e) => e.deploymentId === id);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The Temporal UI's Reset to the first workflow task, its signals reapplied (the UI's default). */
/** A reset run's history replays against the workflow code: its start tells it was reset from what the history holds. */
async function replays(workflowId: string, runId: string): Promise<void> {
  const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
  await Worker.runReplayHistory(workflowCode(), history, workflowId);
}

async function resetToFirstTask(workflowId: string): Promise<string> {
  const handle = env.client.workflow.getHandle(workflowId);
  const { events } = await handle.fetchHistory();
  const first = events!.find((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)!;
  const { runId } = await env.client.workflowService.resetWorkflowExecution({
    namespace: 'default',
    workflowExecution: { workflowId, runId: (await handle.describe()).runId },
    workflowTaskFinishEventId: first.eventId,
    requestId: randomUUID(),
    reason: 'operator reset in a test',
    resetReapplyType: temporal.api.enums.v1.ResetReapplyType.RESET_REAPPLY_TYPE_SIGNAL,
  });
  return runId!;
}

describe('Reset of a deployment (fake target)', () => {
  it('of a rolled-back one while another holds the lock: the new run waits for the lock, republishes nothing, numbers after the old run, then deploys', async () => {
    begin('reset-app');
    // The old run was queued and granted the lock by signal, so a reset reapplies a lockGranted.
    world.hanging.add('fog-1');
    const holder = request({ nodes: ['fog-1'] });
    const h0 = await env.client.workflow.start(deployWorkflow, { workflowId: holder.deploymentId, taskQueue, args: [holder] });
    await waitUntil(() => world.calls.includes('verify fog-1'));
    const old = request();
    expect(await acquireLock(env.client, { taskQueue }, app, { workflowId: old.deploymentId, token: 'start' })).toBe('queued');
    const hOld = await env.client.workflow.start(deployWorkflow, { workflowId: old.deploymentId, taskQueue, args: [old, { lock: { token: 'start', granted: false } }] });
    world.unhealthy.add('fog-3');
    world.hanging.delete('fog-1');
    expect((await h0.result()).status).toBe('Succeeded');
    await expect(hOld.result()).rejects.toThrow();
    const oldHistory = await hOld.fetchHistory();
    expect(oldHistory.events!.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'lockGranted')).toBe(true);
    const oldEvents = eventsOf(old.deploymentId);
    expect(oldEvents.at(-1)!.phase).toBe('RolledBack');
    const oldLast = Math.max(...oldEvents.map((e) => e.seq));

    // Another deployment of the application holds the lock when the operator resets.
    world.unhealthy.delete('fog-3');
    world.hanging.add('fog-2');
    const other = request({ nodes: ['fog-2'] });
    const hOther = await env.client.workflow.start(deployWorkflow, { workflowId: other.deploymentId, taskQueue, args: [other] });
    await waitUntil(() => world.calls.includes('verify fog-2'));
    const callsBefore = world.calls.length;
    const newRunId = await resetToFirstTask(old.deploymentId);
    expect(newRunId).not.toBe(hOld.firstExecutionRunId);

    // The new run has asked for the lock and waits behind the holder, touching nothing.
    const lock = env.client.workflow.getHandle(lockWorkflowId(app));
    await waitUntil(() => eventsOf(old.deploymentId).length > oldEvents.length);
    await sleep(2_000);
    const state = await lock.query(lockStateQuery);
    expect(state.holder?.workflowId).toBe(other.deploymentId);
    // Under a token of its own, not the old run's (whose grant the reset reapplied).
    expect(state.waiting).toEqual([{ workflowId: old.deploymentId, token: expect.stringMatching(/^run:\d+:[0-9a-f-]{36}$/) }]);
    expect(world.calls.slice(callsBefore).filter((c) => !c.endsWith('fog-2'))).toEqual([]);
    const whileWaiting = eventsOf(old.deploymentId).slice(oldEvents.length);
    expect(whileWaiting.map((e) => e.phase)).toEqual(['Accepted', 'Accepted']);
    expect(whileWaiting[1]!.message).toMatch(/waiting for the deployment of reset-app/);

    world.hanging.delete('fog-2');
    expect((await hOther.result()).status).toBe('Succeeded');
    const result = await env.client.workflow.getHandle(old.deploymentId, newRunId).result();
    expect(result.status).toBe('Succeeded');
    // Touched only once the holder had ended; every event numbered after the old run's.
    const otherEnd = world.calls.findIndex((c, i) => i > callsBefore && c === 'retire fog-2');
    expect(world.calls.findIndex((c, i) => i > callsBefore && c === 'apply fog-1')).toBeGreaterThan(otherEnd);
    const fresh = eventsOf(old.deploymentId).slice(oldEvents.length);
    expect(fresh.map((e) => e.seq)).toEqual(fresh.map((_, i) => oldLast + 1 + i));
    expect(fresh.filter((e) => isTerminal(e.phase)).map((e) => e.phase)).toEqual(['Succeeded']);
    // None of the old run's node events comes again (a reapplied signal would have carried them).
    expect(fresh.filter((e) => e.phase === 'RolledBack' || e.phase === 'Failed')).toEqual([]);
    for (const n of NODES) expect(running(world, n)).toEqual(['2']);
    await replays(old.deploymentId, newRunId);
  });

  it('of a running one that holds the lock: the new run takes the old run\'s place and finishes the deployment', async () => {
    begin('reset-running-app');
    world.hanging.add('fog-2');
    const req = request();
    const h = await env.client.workflow.start(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req] });
    await waitUntil(() => world.calls.includes('verify fog-2'));
    const newRunId = await resetToFirstTask(req.deploymentId);
    world.hanging.delete('fog-2');
    const result = await env.client.workflow.getHandle(req.deploymentId, newRunId).result();
    expect(result.status).toBe('Succeeded');
    expect((await h.describe()).runId).toBe(newRunId);
    for (const n of NODES) expect(running(world, n)).toEqual(['2']);
    const events = eventsOf(req.deploymentId);
    // Numbered after every other event, and after the lease the node held (gaps allowed), so never a number twice.
    expect(notIncreasing(events.map((e) => e.seq))).toEqual([]);
    expect(events.filter((e) => isTerminal(e.phase)).map((e) => e.phase)).toEqual(['Succeeded']);
    // The lock is free again: its holder was the new run, which released it.
    await sleep(500);
    const state = await env.client.workflow.getHandle(lockWorkflowId(app)).query(lockStateQuery);
    expect(state.holder).toBeUndefined();
    await replays(req.deploymentId, newRunId);
  });
});

describe('Terminate of a deployment (fake target)', () => {
  it('mid-rollout on 3 nodes: the lock compensates it (every node back on the previous version, one terminal event, one record) and the next deployment goes', async () => {
    begin('terminate-app');
    world.hanging.add('fog-3');
    const req = request();
    const h = await env.client.workflow.start(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req] });
    await waitUntil(() => world.calls.includes('verify fog-3'));
    expect(NODES.map((n) => running(world, n))).toEqual([['2'], ['2'], ['2']]);
    const terminatedRunId = (await h.describe()).runId;
    await h.terminate('operator pressed Terminate');
    world.hanging.delete('fog-3');
    // The next deployment of the application, sent at once: it waits for the compensation only.
    const next = request({ application: { name: app, version: '3', image: 'reg:5000/app@sha256:beef' } });
    const hNext = await env.client.workflow.start(deployWorkflow, { workflowId: next.deploymentId, taskQueue, args: [next] });

    await waitUntil(() => eventsOf(req.deploymentId).some((e) => isTerminal(e.phase)), 60_000);
    const terminal = eventsOf(req.deploymentId).filter((e) => isTerminal(e.phase));
    expect(terminal.map((e) => e.phase)).toEqual(['Cancelled']);
    expect(terminal[0]!.message).toMatch(/^terminated by an operator; restored fog-3, fog-2, fog-1$/);
    const events = eventsOf(req.deploymentId);
    // Numbered after every other event, and after the lease the node held (gaps allowed), so never a number twice.
    expect(notIncreasing(events.map((e) => e.seq))).toEqual([]);
    expect(world.records.filter((r) => r.deploymentId === req.deploymentId).map((r) => [r.status, r.reason])).toEqual([['Cancelled', terminal[0]!.message]]);

    expect((await hNext.result()).status).toBe('Succeeded');
    // The next deployment went once the compensation had closed: its history replays.
    const compensation = env.client.workflow.getHandle(compensationWorkflowId(req.deploymentId, terminatedRunId));
    expect((await compensation.describe()).status.name).toBe('COMPLETED');
    await replays(compensation.workflowId, (await compensation.describe()).runId);
    // The compensation put version 1 back on every node before the next deployment touched one.
    const restores = NODES.map((n) => world.calls.indexOf(`restore ${n}`));
    expect(restores.every((i) => i >= 0)).toBe(true);
    const nextApply = world.calls.findIndex((c, i) => i > Math.max(...restores) && c.startsWith('apply'));
    expect(nextApply).toBeGreaterThan(Math.max(...restores));
    for (const n of NODES) expect(running(world, n)).toEqual(['3']);
    expect(world.nodes['fog-1']!.map((c) => c.version).sort()).toEqual(['1', '3']);

    // A Retry of the terminated deployment (a new run of its id, as the bridge starts it)
    // numbers on after the compensation's events, which its own runs never published.
    const retry = await env.client.workflow.start(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req, { seqStart: 0 }] });
    expect((await retry.result()).status).toBe('Succeeded');
    const all = eventsOf(req.deploymentId);
    expect(notIncreasing(all.map((e) => e.seq))).toEqual([]);
    expect(all.filter((e) => isTerminal(e.phase)).map((e) => e.phase)).toEqual(['Cancelled', 'Succeeded']);
  });

  it('before its first workflow task completed: its end is numbered after the events it published, which its history does not hold', async () => {
    begin('terminate-early-app');
    // The run's first workflow task stays open after it published its first events: their publish has not returned.
    world.holdPublish = true;
    const req = request();
    const h = await env.client.workflow.start(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req] });
    const lock = env.client.workflow.getHandle(lockWorkflowId(app));
    const holds = async () => (await lock.query(lockStateQuery).catch(() => undefined))?.holder?.workflowId === req.deploymentId;
    const deadline = Date.now() + 30_000;
    while (!(eventsOf(req.deploymentId).length > 0 && (await holds()))) {
      if (Date.now() > deadline) throw new Error('the run neither published nor took the lock in time');
      await sleep(50);
    }
    await h.terminate('operator pressed Terminate');
    world.holdPublish = false;
    // What makes this case: no workflow task of the run completed, so no query of it can be answered.
    const { events: history } = await h.fetchHistory();
    expect(history!.some((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)).toBe(false);

    await waitUntil(() => eventsOf(req.deploymentId).some((e) => isTerminal(e.phase)), 60_000);
    const events = eventsOf(req.deploymentId);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    // The run went on publishing until its worker learnt of the Terminate: its end comes after all of it, the one terminal event.
    expect(events.filter((e) => isTerminal(e.phase)).map((e) => e.phase)).toEqual(['Cancelled']);
    expect(events.at(-1)!.phase).toBe('Cancelled');
    expect(world.calls.filter((c) => c.startsWith('apply'))).toEqual([]);
    expect(events.at(-1)!.message).toBe('terminated by an operator; no node had been changed');
    expect(world.records.filter((r) => r.deploymentId === req.deploymentId).map((r) => r.status)).toEqual(['Cancelled']);
  });

  it('mid-rollout, with a node that cannot be restored: it ends Failed, naming that node, the others restored', async () => {
    begin('terminate-unrestorable-app');
    world.hanging.add('fog-2');
    world.unrestorable.add('fog-1');
    const req = request();
    const h = await env.client.workflow.start(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req] });
    await waitUntil(() => world.calls.includes('verify fog-2'));
    await h.terminate('operator pressed Terminate');
    world.hanging.delete('fog-2');
    await waitUntil(() => eventsOf(req.deploymentId).some((e) => isTerminal(e.phase)), 90_000);
    const terminal = eventsOf(req.deploymentId).filter((e) => isTerminal(e.phase));
    expect(terminal.map((e) => [e.phase, e.message])).toEqual([['Failed', 'terminated by an operator; restored fog-2; could not restore fog-1']]);
    expect(running(world, 'fog-2')).toEqual(['1']);
    expect(world.records.filter((r) => r.deploymentId === req.deploymentId).map((r) => r.status)).toEqual(['Failed']);
  });

  it('of one queued behind another: it ends Failed with nothing to restore, and the queue goes on', async () => {
    begin('terminate-queued-app');
    world.hanging.add('fog-1');
    const holder = request({ nodes: ['fog-1'] });
    const h0 = await env.client.workflow.start(deployWorkflow, { workflowId: holder.deploymentId, taskQueue, args: [holder] });
    await waitUntil(() => world.calls.includes('verify fog-1'));
    const queued = request();
    const hQ = await env.client.workflow.start(deployWorkflow, { workflowId: queued.deploymentId, taskQueue, args: [queued] });
    await waitUntil(() => eventsOf(queued.deploymentId).some((e) => /waiting for the deployment/.test(e.message)));
    await hQ.terminate('not this one');
    const after = request({ nodes: ['fog-2'] });
    const hAfter = await env.client.workflow.start(deployWorkflow, { workflowId: after.deploymentId, taskQueue, args: [after] });
    world.hanging.delete('fog-1');
    expect((await h0.result()).status).toBe('Succeeded');
    expect((await hAfter.result()).status).toBe('Succeeded');
    await waitUntil(() => eventsOf(queued.deploymentId).some((e) => isTerminal(e.phase)), 60_000);
    expect(eventsOf(queued.deploymentId).map((e) => e.phase)).toEqual(['Accepted', 'Accepted', 'Cancelled']);
    expect(eventsOf(queued.deploymentId).at(-1)!.message).toBe('terminated by an operator; no node had been changed');
    expect(world.calls.filter((c) => c.startsWith('restore'))).toEqual([]);
  });
});
