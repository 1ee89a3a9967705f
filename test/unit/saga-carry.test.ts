// The saga a run hands to the run it continues as, and writes in its memo batch by batch
// for the compensation of a Terminate: compact, and the same saga again.
import { Saga } from '../../workflows/saga';
import { sagaFromMemo } from '../../workflows/saga-memo';

const node = (id: string, taskQueue = 'deployer', local = true) => ({ id, address: '10.0.0.1', taskQueue, registry: 'reg:5000', local });

describe('the saga carried into a continued run', () => {
  it('names each queue once and each run of nodes of one batch and queue once', () => {
    const saga = new Saga();
    saga.register(0, node('a'));
    saga.register(0, node('b'));
    saga.register(0, node('c', 'site-a', false));
    saga.register(1, node('d'));
    saga.register(2, node('e'), ['e--old--r0']);
    saga.register(0, node('a'));
    expect(saga.carry()).toEqual({
      queues: [
        ['deployer', true],
        ['site-a', false],
      ],
      runs: [
        [0, 0, ['a', 'b']],
        [0, 1, ['c']],
        [1, 0, ['d']],
        [2, 0, ['e'], { e: ['e--old--r0'] }],
      ],
    });
  });

  it('is the same saga again in the continued run', () => {
    const saga = new Saga();
    for (const [i, id] of ['a', 'b', 'c'].entries()) saga.register(i, node(id, i === 1 ? 'site-a' : 'deployer', i !== 1), i === 2 ? ['x'] : []);
    const again = new Saga(saga.carry());
    expect(again.carry()).toEqual(saga.carry());
    expect(['a', 'b', 'c', 'z'].map((id) => again.has(id))).toEqual([true, true, true, false]);
  });

  it("in the memo, batch by batch: each batch's entry holds only its own undos, and the entries together are the saga again", () => {
    const saga = new Saga();
    saga.register(0, node('a'));
    saga.register(0, node('c', 'site-a', false));
    saga.register(1, node('d', 'site-a', false), ['d--old--r0']);
    saga.register(1, node('e'));
    expect(saga.memoOf(1)).toEqual({
      'saga:1': {
        queues: [
          ['site-a', false],
          ['deployer', true],
        ],
        runs: [
          [1, 0, ['d'], { d: ['d--old--r0'] }],
          [1, 1, ['e']],
        ],
      },
    });
    // The memo as the upserts leave it (other keys beside), in any key order.
    const memo = { lastSeq: 7, ...saga.memoOf(1), ...saga.memoOf(0), outcome: { status: 'Succeeded' } };
    expect(sagaFromMemo(memo)).toEqual(saga.carry());
    expect(sagaFromMemo(saga.memo())).toEqual(saga.carry());
    expect(sagaFromMemo(undefined)).toEqual({ queues: [], runs: [] });
  });

  it('orders batches by number, not as text (batch 10 after batch 9)', () => {
    const saga = new Saga();
    for (let b = 0; b <= 10; b++) saga.register(b, node(`n${b}`));
    const memo = Object.fromEntries(Object.entries(saga.memo()).reverse());
    expect(sagaFromMemo(memo).runs.map(([b]) => b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});
