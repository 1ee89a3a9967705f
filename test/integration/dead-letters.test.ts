// (c) a malformed request lands in the DLQ with a reason and starts nothing.
import { WorkflowNotFoundError } from '@temporalio/client';
import { IDLE, removeApplication, startDeployer, waitFor, type TestDeployer } from '../support/deployer';

jest.setTimeout(120_000);

let d: TestDeployer;

beforeAll(async () => {
  d = await startDeployer('dlq');
});

afterAll(async () => {
  await d?.stop();
});

describe('rejected requests on the real stack', () => {
  it('dead-letters invalid JSON with the reason and the original text', async () => {
    await d.send('{"kind": "Deploy", "deploymentId": ', 'broken');
    const record = await waitFor('a dead letter', () => d.deadLetters.find((r) => r.original.startsWith('{"kind": "Deploy", "deploymentId": ')));
    expect(record.reason).toMatch(/^the request is not valid JSON/);
    expect(record.originalEncoding).toBe('utf8');
    expect(record.topic).toBe(d.config.kafka.topics.requests);
  });

  it('dead-letters a request for an unknown node, publishes Rejected, and starts no workflow', async () => {
    const id = `it-dlq-${Date.now().toString(36)}`;
    const request = {
      kind: 'Deploy',
      deploymentId: id,
      application: { name: 'it-dlq', version: '1', image: '127.0.0.1:5000/busybox:1' },
      nodes: [d.inventory.nodes[0]!.id, 'fog-99'],
    };
    await d.send(request);
    const record = await waitFor('a dead letter', () => d.deadLetters.find((r) => r.original.includes(id)));
    expect(record.reason).toBe("nodes[1]: unknown node 'fog-99'");
    expect(JSON.parse(record.original)).toEqual(request);

    const events = await d.terminal(id);
    expect(events.map((e) => [e.phase, e.message])).toEqual([['Rejected', "nodes[1]: unknown node 'fog-99'"]]);
    await expect(d.client.workflow.getHandle(id).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    // The offsets of both rejected messages are committed: nothing is redelivered forever.
    await waitFor('both offsets committed', async () => (await d.committed()) >= 2);
  });

  it('dead-letters a Retry of a deployment that is still running (paused), with the reason, once it has had its moment to close', async () => {
    const id = `it-dlq-paused-${Date.now().toString(36)}`;
    await d.send({
      kind: 'Deploy',
      deploymentId: id,
      application: { name: 'it-dlq-paused', version: '1', image: `${d.inventory.registry.pull}/busybox:1` },
      nodes: [d.inventory.nodes[0]!.id],
      container: { command: IDLE },
      healthCheck: { tcp: { port: 9 }, intervalMs: 100, timeoutMs: 200, deadlineMs: 1000 },
      strategy: { onFailure: 'pause' },
    });
    await waitFor('the deployment to pause', () => d.events.some((e) => e.deploymentId === id && e.phase === 'Paused' && e.node === undefined), 120_000);
    await d.send({ kind: 'Retry', deploymentId: id }, 'it-dlq-paused');
    const letter = await waitFor('a dead letter', () => d.deadLetters.find((r) => r.original.includes(`"Retry"`) && r.original.includes(id)), 60_000);
    expect(letter.reason).toBe(`deploymentId: deployment '${id}' is still running; only a failed, cancelled or rolled-back deployment can be retried`);
    await d.send({ kind: 'Cancel', deploymentId: id }, 'it-dlq-paused');
    expect((await d.terminal(id)).at(-1)!.phase).toBe('Cancelled');
    await removeApplication(d, 'it-dlq-paused');
  });

  it('dead-letters bytes that are not UTF-8 as base64', async () => {
    const bytes = Buffer.from([0x7b, 0xc3, 0x28, 0xff, 0x7d]);
    await d.send(bytes, 'binary');
    const record = await waitFor('a dead letter', () => d.deadLetters.find((r) => r.originalEncoding === 'base64'));
    expect(Buffer.from(record.original, 'base64')).toEqual(bytes);
    expect(record.reason).toBe('the request is not valid UTF-8 text');
  });
});
