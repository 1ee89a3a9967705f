// The application lock's idle end, in the Temporal test environment with the fake target
// (test/support/fake-target.ts; the lock and its activities are the real ones): a lock with
// no holder and nobody waiting ends after its idle period, and a request that reaches it
// while it ends is neither lost nor granted twice (workflows/application-lock.ts).
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createLockActivities } from '../../activities/control/lock';
import { deployRequestSchema } from '../../src/core/schemas/request';
import { lockWorkflowId } from '../../src/core/workflow-ids';
import { acquireLock, releaseLock } from '../../src/operations/lock';
import { lockStateQuery } from '../../workflows/application-lock';
import { deployWorkflow } from '../../workflows/operation';
import { waitFor } from '../support/deployer';
import { startFakeEnvironment, type FakeEnvironment } from '../support/fake-environment';
import { newWorld, type FakeWorld } from '../support/fake-target';
import { workflowCode } from '../support/workflow-code';

jest.setTimeout(180_000);

/** Short, so that a test can watch many locks end. */
const IDLE_MS = 300;
const taskQueue = 'application-lock-test';
let env: TestWorkflowEnvironment;
let fake: FakeEnvironment;
let world: FakeWorld;

beforeAll(async () => {
  world = newWorld(['fog-1']);
  fake = await startFakeEnvironment(taskQueue, () => world, { lockIdleMs: IDLE_MS });
  env = fake.env;
});

afterAll(async () => {
  await fake?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('an idle application lock (fake target)', () => {
  it('ends within its idle period after the last deployment released it, and the next deployment starts it again', async () => {
    const lock = env.client.workflow.getHandle(lockWorkflowId('idle'));
    const deploy = (n: number) => {
      const req = deployRequestSchema.parse({
        kind: 'Deploy',
        deploymentId: `idle-${n}`,
        application: { name: 'idle', version: String(n), image: 'reg:5000/idle@sha256:feed' },
        nodes: ['fog-1'],
        healthCheck: { http: { port: 80 } },
      });
      return env.client.workflow.execute(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req] });
    };

    expect((await deploy(1)).status).toBe('Succeeded');
    const ended = Date.now();
    const first = await waitFor('the lock to end', async () => ((await lock.describe()).status.name === 'COMPLETED' ? lock.describe() : undefined), 10_000, 50);
    // The release reaches the lock just after the deployment's result; then the idle period,
    // and Temporal's time to fire a timer and run one task (most of a second here).
    expect(first.closeTime!.getTime() - ended).toBeLessThan(IDLE_MS + 5_000);

    expect((await deploy(2)).status).toBe('Succeeded');
    const second = await waitFor('the lock to end again', async () => {
      const d = await lock.describe();
      return d.runId !== first.runId && d.status.name === 'COMPLETED' ? d : undefined;
    });
    expect(second.runId).not.toBe(first.runId);
  });

  it('grants a request that arrives as its idle period ends, once: never lost with the ending run, never beside another holder', async () => {
    const settings = { taskQueue, idleMs: IDLE_MS };
    const application = 'boundary';
    const lock = env.client.workflow.getHandle(lockWorkflowId(application));
    // When a released lock ends, measured: its idle period, then as long as Temporal takes to
    // fire the timer and run the last task.
    const calibration = { workflowId: 'boundary-calibration', token: 'start' };
    await acquireLock(env.client, settings, application, calibration);
    const released = Date.now();
    await releaseLock(env.client, application, calibration);
    const ended = await waitFor('the lock to end', async () => {
      const d = await lock.describe();
      return d.status.name === 'COMPLETED' ? d.closeTime!.getTime() - released : undefined;
    }, 10_000, 20);
    const runs = new Set<string>();
    const started = Date.now();
    // Requests sent from a little before to a little after the lock ends, so that some reach
    // it just before its timer fires, some while its last task runs, and some after it ended.
    const offsets = Array.from({ length: 24 }, (_, i) => -60 + 5 * i);
    for (const [i, offset] of offsets.entries()) {
      const first = { workflowId: `boundary-${i}-first`, token: 'start' };
      const next = { workflowId: `boundary-${i}-next`, token: 'start' };
      const behind = { workflowId: `boundary-${i}-behind`, token: 'start' };
      expect({ i, answer: await acquireLock(env.client, settings, application, first) }).toEqual({ i, answer: 'granted' });
      await releaseLock(env.client, application, first);
      await sleep(ended + offset);

      expect({ i, offset, answer: await acquireLock(env.client, settings, application, next) }).toEqual({ i, offset, answer: 'granted' });
      // The run that granted it runs on and holds it: whoever asks next waits.
      expect({ i, offset, answer: await acquireLock(env.client, settings, application, behind) }).toEqual({ i, offset, answer: 'queued' });
      const d = await lock.describe();
      expect({ i, status: d.status.name, state: await lock.query(lockStateQuery) }).toEqual({
        i,
        status: 'RUNNING',
        state: expect.objectContaining({ holder: next, waiting: [behind] }),
      });
      runs.add(d.runId);
      await releaseLock(env.client, application, behind);
      await releaseLock(env.client, application, next);
    }
    process.stderr.write(`idle boundary: a released lock ended after ${ended} ms; ${offsets.length} requests over ${runs.size} lock runs in ${Date.now() - started} ms\n`);
    // Most requests found the lock ended and started it again.
    expect(runs.size).toBeGreaterThan(1);
  });

  it('goes on when a request reaches it in the same task as its idle timer, and grants it once', async () => {
    // The lock's own queue and worker, so that the worker can be away while the timer fires:
    // the task that the timer makes then waits, and takes in the request sent meanwhile.
    const queue = `${taskQueue}-own`;
    const settings = { taskQueue: queue, idleMs: IDLE_MS };
    const application = 'same-task';
    const lock = env.client.workflow.getHandle(lockWorkflowId(application));
    const serve = async () => {
      const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: queue, ...workflowCode(), activities: createLockActivities(env.client, settings) });
      return { worker, running: worker.run() };
    };
    let served = await serve();
    try {
      const first = { workflowId: 'same-task-first', token: 'start' };
      const next = { workflowId: 'same-task-next', token: 'start' };
      const behind = { workflowId: 'same-task-behind', token: 'start' };
      expect(await acquireLock(env.client, settings, application, first)).toBe('granted');
      await releaseLock(env.client, application, first);
      await waitFor('the release to be taken in', async () => ((await lock.query(lockStateQuery)).holder === undefined ? true : undefined), 10_000, 20);
      served.worker.shutdown();
      await served.running;
      await waitFor('the idle timer to fire', async () => ((await lock.fetchHistory()).events!.some((e) => e.timerFiredEventAttributes) ? true : undefined), 10_000, 50);

      const answer = acquireLock(env.client, settings, application, next);
      // Nothing tells when Temporal has taken the update in: it is given time to.
      await sleep(1_000);
      served = await serve();
      expect(await answer).toBe('granted');
      expect(await acquireLock(env.client, settings, application, behind)).toBe('queued');
      const history = (await lock.fetchHistory()).events!;
      const fired = history.findIndex((e) => e.timerFiredEventAttributes);
      // One task took in both: no workflow task completed between the timer and the update.
      expect(history.slice(fired).findIndex((e) => e.workflowTaskCompletedEventAttributes)).toBeLessThan(history.slice(fired).findIndex((e) => e.workflowExecutionUpdateAcceptedEventAttributes));
      expect((await lock.describe()).status.name).toBe('RUNNING');
      expect(await lock.query(lockStateQuery)).toEqual(expect.objectContaining({ holder: next, waiting: [behind] }));
      await releaseLock(env.client, application, behind);
      await releaseLock(env.client, application, next);
      await waitFor('the lock to end', async () => ((await lock.describe()).status.name === 'COMPLETED' ? true : undefined), 10_000, 50);
    } finally {
      served.worker.shutdown();
      await served.running;
    }
  });
});
