// Deployment records written by the deploy workflow, in the Temporal test environment with the
// node, build, event and record adapters replaced by in-memory fakes: one record for every
// outcome, with what ran where, when, and why.
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { deploymentRecordSchema } from '../../src/core/schemas/record';
import { deployRequestSchema, type DeployRequestInput } from '../../src/core/schemas/request';
import { deployWorkflow } from '../../workflows/operation';
import { newWorld, type FakeWorld } from '../support/fake-target';
import { startFakeEnvironment, type FakeEnvironment } from '../support/fake-environment';

jest.setTimeout(90_000);

let env: TestWorkflowEnvironment;
let fake: FakeEnvironment;
let world: FakeWorld;
const taskQueue = 'deployment-records-test';
const NODES = ['fog-1', 'fog-2'];
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
});

function request(patch: Partial<DeployRequestInput> = {}) {
  return deployRequestSchema.parse({
    kind: 'Deploy',
    deploymentId: `rec-${++counter}`,
    application: { name: 'web', version: '2', image: 'reg:5000/web:2' },
    nodes: NODES,
    ...patch,
  });
}

async function waitUntil(probe: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('deployment records (fake adapters)', () => {
  it('records a deployment that succeeded: kind, application, version, image, every node, times and run', async () => {
    const req = request();
    const handle = await env.client.workflow.start(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req] });
    await handle.result();
    expect(world.records).toHaveLength(1);
    const record = world.records[0]!;
    expect(deploymentRecordSchema.parse(record)).toEqual(record);
    expect(record).toMatchObject({
      deploymentId: req.deploymentId,
      kind: 'Deploy',
      application: 'web',
      version: '2',
      status: 'Succeeded',
      image: 'reg:5000/web:2',
      nodes: { 'fog-1': { state: 'Healthy' }, 'fog-2': { state: 'Healthy' } },
      runId: handle.firstExecutionRunId,
    });
    expect(Date.parse(record.endedAt)).toBeGreaterThanOrEqual(Date.parse(record.startedAt));
  });

  it('records a deployment that was rolled back, with the reason and each node’s outcome', async () => {
    world.unhealthy.add('fog-2');
    const req = request();
    const err = await env.client.workflow.execute(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(world.records).toEqual([
      expect.objectContaining({
        deploymentId: req.deploymentId,
        status: 'RolledBack',
        reason: expect.stringContaining('fog-2: '),
        nodes: { 'fog-1': expect.objectContaining({ state: 'RolledBack' }), 'fog-2': expect.objectContaining({ state: 'RolledBack' }) },
      }),
    ]);
  });

  it('records a deployment that was cancelled, even though the workflow itself was cancelled', async () => {
    world.hanging.add('fog-1');
    const req = request();
    const handle = await env.client.workflow.start(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req] });
    await waitUntil(() => world.calls.includes('verify fog-1'));
    await handle.cancel();
    await handle.result().catch(() => undefined);
    expect(world.records).toEqual([expect.objectContaining({ deploymentId: req.deploymentId, status: 'Cancelled', reason: 'cancelled by an operator' })]);
  });

  it('records a deployment whose rollback could not restore a node as Failed', async () => {
    world.unhealthy.add('fog-2');
    world.unrestorable.add('fog-2');
    const req = request();
    await env.client.workflow.execute(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req] }).catch(() => undefined);
    expect(world.records).toEqual([expect.objectContaining({ status: 'Failed', nodes: expect.objectContaining({ 'fog-2': expect.objectContaining({ state: 'RestoreFailed' }) }) })]);
  });
});
