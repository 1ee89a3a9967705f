import { actInOrder, refusalKeys, requestKeys, type Work } from '../../src/bridge/in-order';
import { requestSchema, type Request } from '../../src/core/schemas/request';
import { minimal } from '../fixtures/requests';

/** Works whose acting the test ends by hand, recording which were started and which offsets were resolved. */
function harness() {
  const started: string[] = [];
  const resolved: string[] = [];
  const endings = new Map<string, { ok: () => void; fail: (e: Error) => void }>();
  const work = (offset: string, keys: Work['keys']): Work => ({
    offset,
    keys,
    act: () => {
      started.push(offset);
      return new Promise<void>((ok, fail) => endings.set(offset, { ok, fail }));
    },
  });
  const settle = () => new Promise((r) => setImmediate(r));
  const end = async (offset: string, error?: Error) => {
    if (error) endings.get(offset)!.fail(error);
    else endings.get(offset)!.ok();
    await settle();
  };
  return { started, resolved, work, settle, end, resolve: (o: string) => resolved.push(o) };
}

describe('acting on a batch of messages in order (the acting is a plain function the test ends)', () => {
  it('acts on messages about different deployments side by side, and resolves offsets only for an acted-on prefix', async () => {
    const h = harness();
    const run = actInOrder([h.work('1', ['deployment:a']), h.work('2', ['deployment:b']), h.work('3', [])], { limit: 16, resolve: h.resolve });
    await h.settle();
    expect(h.started).toEqual(['1', '2', '3']);
    await h.end('3');
    await h.end('2');
    expect(h.resolved).toEqual([]);
    await h.end('1');
    expect(h.resolved).toEqual(['3']);
    await run;
  });

  it('acts on a message that meets an earlier one only once that one was acted on, and on everything after a barrier', async () => {
    const h = harness();
    const run = actInOrder(
      [h.work('1', ['deployment:a', 'application:x']), h.work('2', ['application:x']), h.work('3', ['deployment:c']), h.work('4', 'all'), h.work('5', [])],
      { limit: 16, resolve: h.resolve },
    );
    await h.settle();
    // 2 waits for 1, and the works after it are not taken before it starts: order is kept.
    expect(h.started).toEqual(['1']);
    await h.end('1');
    expect(h.started).toEqual(['1', '2', '3']);
    await h.end('3');
    expect(h.started).toEqual(['1', '2', '3']);
    await h.end('2');
    expect(h.started).toEqual(['1', '2', '3', '4']);
    await h.end('4');
    expect(h.started).toEqual(['1', '2', '3', '4', '5']);
    await h.end('5');
    await run;
    expect(h.resolved).toEqual(['1', '3', '4', '5']);
  });

  it('acts on at most `limit` messages at once', async () => {
    const h = harness();
    const run = actInOrder(['1', '2', '3', '4'].map((o) => h.work(o, [])), { limit: 2, resolve: h.resolve });
    await h.settle();
    expect(h.started).toEqual(['1', '2']);
    await h.end('2');
    expect(h.started).toEqual(['1', '2', '3']);
    for (const o of ['1', '3', '4']) await h.end(o);
    await run;
    expect(h.resolved.at(-1)).toBe('4');
  });

  it('at a failure takes no more messages, waits for those running, resolves the acted-on prefix and throws it', async () => {
    const h = harness();
    const run = actInOrder(['1', '2', '3', '4'].map((o) => h.work(o, o === '4' ? ['deployment:a'] : o === '1' ? ['deployment:a'] : [])), { limit: 16, resolve: h.resolve });
    const outcome = run.then(() => 'done', (e: Error) => e.message);
    await h.settle();
    expect(h.started).toEqual(['1', '2', '3']);
    await h.end('2', new Error('Temporal unreachable'));
    await h.end('3');
    await h.end('1');
    expect(await outcome).toBe('Temporal unreachable');
    expect(h.started).toEqual(['1', '2', '3']);
    expect(h.resolved).toEqual(['1']);
  });

  it('at a failure while `limit` messages are acted on, waits for the others to end and takes no more', async () => {
    const h = harness();
    const run = actInOrder(['1', '2', '3'].map((o) => h.work(o, [])), { limit: 2, resolve: h.resolve });
    const outcome = run.then(() => 'done', (e: Error) => e.message);
    await h.settle();
    expect(h.started).toEqual(['1', '2']);
    // (Counted as still at work, the failed one made this wait spin without end, starving the event loop: this settle never came back.)
    await h.end('2', new Error('the group is rebalancing'));
    await h.end('1');
    expect(await outcome).toBe('the group is rebalancing');
    expect({ started: h.started, resolved: h.resolved }).toEqual({ started: ['1', '2'], resolved: ['1'] });
  });

  it('stops taking messages when told to', async () => {
    const h = harness();
    let stop = false;
    const run = actInOrder(['1', '2', '3'].map((o) => h.work(o, ['application:x'])), { limit: 16, resolve: h.resolve, stopped: () => stop });
    await h.settle();
    stop = true;
    await h.end('1');
    await run;
    expect({ started: h.started, resolved: h.resolved }).toEqual({ started: ['1'], resolved: ['1'] });
  });
});

describe('what a message concerns', () => {
  const deploy = (deploymentId: string, name: string): Request => requestSchema.parse({ ...minimal, deploymentId, application: { ...minimal.application, name } });

  it('is each request\'s deployment, and the application whose lock an operation asks for', () => {
    expect(requestKeys([deploy('d-1', 'web')])).toEqual(['deployment:d-1', 'application:web']);
    expect(requestKeys([deploy('d-1', 'db'), deploy('d-2', 'web')])).toEqual(['deployment:d-1', 'application:db', 'deployment:d-2', 'application:web']);
    expect(requestKeys([requestSchema.parse({ kind: 'Rollback', deploymentId: 'r-1', application: 'web' })])).toEqual(['deployment:r-1', 'application:web']);
    expect(requestKeys([requestSchema.parse({ kind: 'Cancel', deploymentId: 'd-1' })])).toEqual(['deployment:d-1']);
  });

  it('is everything for a Retry, whose application is known only from its deployment', () => {
    expect(requestKeys([requestSchema.parse({ kind: 'Retry', deploymentId: 'd-1' })])).toBe('all');
  });

  it('is, for a refused message, the deployment it names, or nothing', () => {
    expect(refusalKeys('d-1')).toEqual(['deployment:d-1']);
    expect(refusalKeys(undefined)).toEqual([]);
  });
});
