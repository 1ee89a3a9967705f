// A node's verify step that times out (start-to-close, on every attempt: no failure of its
// own that says how far it numbered), in the Temporal test environment with the fake target
// (test/support/fake-target.ts) and the verify step's timeout made short
// (test/support/short-verify-timeout.ts): its attempts may have published anywhere in the
// node's lease, so the node workflow counts the whole lease as used and the deployment
// numbers its next event after it.
import { WorkflowFailedError } from '@temporalio/client';
import { LEASE_SIZE } from '../../src/core/live-events';
import { isTerminal } from '../../src/core/schemas/event';
import { deployRequestSchema } from '../../src/core/schemas/request';
import { deployWorkflow } from '../../workflows/operation';
import { startFakeEnvironment, type FakeEnvironment } from '../support/fake-environment';
import { newWorld, type FakeWorld } from '../support/fake-target';
import { notIncreasing } from '../support/seq';
import { VERIFY_ATTEMPTS } from '../support/short-verify-timeout';

jest.setTimeout(120_000);

let fake: FakeEnvironment;
let world: FakeWorld;
const taskQueue = 'verify-timeout-test';
const started = Date.now();

beforeAll(async () => {
  fake = await startFakeEnvironment(taskQueue, () => world, { workflowInterceptorModules: [require.resolve('../support/short-verify-timeout')] });
});

afterAll(async () => {
  await fake?.stop();
  process.stderr.write(`verify-timeout suite: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
});

describe('a verify step that times out (fake target, short verify timeout)', () => {
  it('counts the whole lease as used: the deployment numbers its next event after lease.last', async () => {
    world = newWorld(['fog-1']);
    // The health check never answers: every attempt of verify runs into its start-to-close timeout.
    world.hanging.add('fog-1');
    const req = deployRequestSchema.parse({
      kind: 'Deploy',
      deploymentId: `verify-timeout-${Date.now().toString(36)}`,
      application: { name: 'web', version: '2', image: 'reg:5000/web:2' },
      nodes: ['fog-1'],
      healthCheck: { http: { port: 80 } },
    });
    const handle = await fake.env.client.workflow.start(deployWorkflow, { workflowId: req.deploymentId, taskQueue, args: [req] });
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    world.hanging.delete('fog-1');

    expect(world.calls.filter((c) => c === 'verify fog-1')).toHaveLength(VERIFY_ATTEMPTS);
    const events = world.events.filter((e) => e.deploymentId === req.deploymentId);
    expect(notIncreasing(events.map((e) => e.seq))).toEqual([]);
    expect(events.filter((e) => isTerminal(e.phase)).map((e) => e.phase)).toEqual(['RolledBack']);

    // The node's first event is the first of its lease; each attempt of verify published in a span of its own.
    const node = events.filter((e) => e.node === 'fog-1' && e.phase !== 'RollingBack');
    const lease = { after: node[0]!.seq - 1, last: node[0]!.seq - 1 + LEASE_SIZE };
    expect(node.filter((e) => e.message === 'waiting for http health check')).toHaveLength(VERIFY_ATTEMPTS);
    expect(node.every((e) => e.seq > lease.after && e.seq <= lease.last)).toBe(true);

    // The node's failure, the deployment's next event, says the step timed out, and is numbered after the whole lease.
    const next = events[events.indexOf(node.at(-1)!) + 1]!;
    expect(next).toEqual(expect.objectContaining({ phase: 'RollingBack', node: 'fog-1', message: 'failed: Activity timed out' }));
    expect(next.seq).toBe(lease.last + 1);
  });
});
