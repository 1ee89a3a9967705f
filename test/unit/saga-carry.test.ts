// The saga a run hands to the run it continues as: compact, and the same saga again.
import { Saga } from '../../workflows/saga';

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
});
