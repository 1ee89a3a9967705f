// A site whose worker is gone, in the Temporal test environment with the fake target
// (test/support/fake-target.ts): fog-9 sits at a site served by a worker of its own queue,
// which the tests stop and start. Calls to that queue are bounded by the deployment's
// `siteStartTimeoutMs` (short here; a minute by default), so the node, and its restore, end
// naming the site instead of waiting for a worker that does not come; and a node alone at a
// site relays its events to the run, as a site worker has no Kafka to publish them on.
import { WorkflowFailedError } from '@temporalio/client';
import { defaultPayloadConverter, type ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { isTerminal } from '../../src/core/schemas/event';
import { deployRequestSchema, type DeployRequestInput } from '../../src/core/schemas/request';
import { decideUpdate, type DeploymentResult, type DeployOptions } from '../../workflows/definitions';
import type { NodeRolloutInput } from '../../workflows/node';
import { deployWorkflow } from '../../workflows/operation';
import { startFakeEnvironment, type FakeEnvironment } from '../support/fake-environment';
import { newWorld, running, type FakeWorld } from '../support/fake-target';

jest.setTimeout(120_000);

let env: TestWorkflowEnvironment;
let fake: FakeEnvironment;
let world: FakeWorld;
const taskQueue = 'site-unreachable-test';
const SITE = 'greenhouse-2';
/** The test's bound on a call to the site's queue. */
const BOUND_MS = 2_000;
const UNREACHABLE = `site ${SITE} unreachable: no worker polled its queue ${SITE} for 2 s`;

beforeAll(async () => {
  fake = await startFakeEnvironment(taskQueue, () => world, { sites: { [SITE]: ['fog-9'] } });
  env = fake.env;
});

afterAll(async () => {
  await fake?.stop();
});

beforeEach(async () => {
  world = newWorld(['fog-1', 'fog-9']);
  for (const n of ['fog-1', 'fog-9']) world.nodes[n]!.push({ name: 'web--old--r0', version: '1', deploymentId: 'old', running: true, previous: [] });
  await fake.startSite(SITE);
});

let counter = 0;
function request(patch: Partial<DeployRequestInput> = {}) {
  return deployRequestSchema.parse({
    kind: 'Deploy',
    deploymentId: `site-${++counter}`,
    application: { name: 'web', version: '2', image: 'reg:5000/web:2' },
    nodes: ['fog-1', 'fog-9'],
    strategy: { maxParallel: 2 },
    healthCheck: { http: { port: 80 } },
    ...patch,
  });
}

const options: DeployOptions = { siteStartTimeoutMs: BOUND_MS };

async function failure(req: ReturnType<typeof request>): Promise<{ type: string; result: DeploymentResult }> {
  const err = await env.client.workflow.execute(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req, options] }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
  return { type: cause.type!, result: cause.details![0] as DeploymentResult };
}

const eventsOf = (id: string) => world.events.filter((e) => e.deploymentId === id);

describe('a site whose worker is gone (fake target)', () => {
  it("fails the site's node naming the site within about the bound, restores the other site's node, and reports the unreachable one not restored", async () => {
    await fake.stopSite(SITE);
    const req = request();
    const started = Date.now();
    const { type, result } = await failure(req);
    const tookMs = Date.now() - started;

    // The apply waited one bound, the restore another: nothing waited for the minutes of a schedule-to-close.
    expect(tookMs).toBeLessThan(4 * BOUND_MS + 10_000);
    expect(type).toBe('DeploymentRollbackIncomplete');
    expect(result.status).toBe('Failed');
    expect(result.reason).toBe(`fog-9: ${UNREACHABLE}`);
    expect(result.nodes['fog-9']).toEqual({ state: 'RestoreFailed', reason: UNREACHABLE });
    expect(result.nodes['fog-1']!.state).toBe('RolledBack');
    expect(running(world, 'fog-1')).toEqual(['1']);
    // Nothing reached the site's node: what ran there runs still.
    expect(running(world, 'fog-9')).toEqual(['1']);
    expect(world.calls.filter((c) => c.endsWith('fog-9'))).toEqual([]);

    const events = eventsOf(req.deploymentId);
    expect(events.filter((e) => e.node === 'fog-9').map((e) => [e.phase, e.message])).toEqual([
      ['RollingBack', `failed: ${UNREACHABLE}`],
      ['RollingBack', `could not restore: ${UNREACHABLE}`],
    ]);
    const terminal = events.filter((e) => isTerminal(e.phase));
    expect(terminal.map((e) => [e.phase, e.message])).toEqual([['Failed', `rollback incomplete on fog-9; cause: fog-9: ${UNREACHABLE}`]]);

    // The node workflow's failure carries the named type beneath it.
    const childFailure = await env.client.workflow
      .getHandle(`${req.deploymentId}/fog-9`)
      .result()
      .then(
        () => undefined,
        (e: unknown) => (e as WorkflowFailedError).cause as ApplicationFailure,
      );
    expect(childFailure?.message).toBe(UNREACHABLE);
    expect((childFailure?.cause as ApplicationFailure | undefined)?.type).toBe('SiteUnreachableError');
    expect((childFailure?.cause as ApplicationFailure | undefined)?.nonRetryable).toBe(true);

    // Its worker back, a Retry of the deployment (a new run of its id) succeeds on both sites.
    await fake.startSite(SITE);
    const retry = await env.client.workflow.execute(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req, { ...options, seqStart: 0 }] });
    expect(retry.status).toBe('Succeeded');
    for (const n of ['fog-1', 'fog-9']) expect(running(world, n)).toEqual(['2']);
    expect(eventsOf(req.deploymentId).filter((e) => isTerminal(e.phase)).map((e) => e.phase)).toEqual(['Failed', 'Succeeded']);
  });

  it('pauses on a site whose worker is gone when the strategy says pause, and a retry once the worker is back succeeds', async () => {
    await fake.stopSite(SITE);
    const req = request({ strategy: { maxParallel: 2, onFailure: 'pause', pauseTimeoutMs: 60_000 } });
    const handle = await env.client.workflow.start(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req, options] });
    await waitFor(() => eventsOf(req.deploymentId).some((e) => e.phase === 'Paused' && e.node === undefined));
    expect(eventsOf(req.deploymentId).find((e) => e.phase === 'Paused' && e.node === undefined)!.message).toContain(`fog-9: ${UNREACHABLE}`);

    await fake.startSite(SITE);
    await handle.executeUpdate(decideUpdate, { args: ['retry'] });
    expect((await handle.result()).status).toBe('Succeeded');
    for (const n of ['fog-1', 'fog-9']) expect(running(world, n)).toEqual(['2']);
  });

  it("relays the events of a node alone at a site to the deployment's run, rather than lend it numbers to publish under", async () => {
    const req = request({ nodes: ['fog-9'] });
    const result = await env.client.workflow.execute(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req, options] });
    expect(result.status).toBe('Succeeded');

    const child = await env.client.workflow.getHandle(`${req.deploymentId}/fog-9`).fetchHistory();
    const input = defaultPayloadConverter.fromPayload<NodeRolloutInput>(child.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!);
    expect(input.events).toBeUndefined();
    expect(input.relay).toEqual({ workflowId: req.deploymentId, runId: expect.any(String) });
    // Each step's events came as it happened, numbered by the run among its own.
    // Told apart by seq, as the contract's consumers do: a publish repeated after its workflow
    // task ran again under load carries the same seq.
    const events = [...new Map(eventsOf(req.deploymentId).map((e) => [e.seq, e])).values()];
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => e.node === 'fog-9').map((e) => e.phase)).toEqual(['Configuring', 'Deploying', 'Verifying', 'Verifying']);
  });
});

async function waitFor(predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
