import { lockTokens, requesterOf, sameRequester, wasReset } from '../../src/core/lock-protocol';

describe('the lock protocol', () => {
  it('tells requesters apart by token when either has one, by run otherwise (the first workflow shape)', () => {
    expect(sameRequester({ workflowId: 'd-1', token: 'start' }, { workflowId: 'd-1', token: 'start' })).toBe(true);
    expect(sameRequester({ workflowId: 'd-1', token: 'start' }, { workflowId: 'd-1', token: lockTokens.retry('requests/0/7') })).toBe(false);
    expect(sameRequester({ workflowId: 'd-1', token: 'start' }, { workflowId: 'd-2', token: 'start' })).toBe(false);
    expect(sameRequester({ workflowId: 'd-1', runId: 'r1' }, { workflowId: 'd-1', runId: 'r1' })).toBe(true);
    expect(sameRequester({ workflowId: 'd-1', runId: 'r1' }, { workflowId: 'd-1', token: 'start', runId: 'r1' })).toBe(false);
    expect(sameRequester(undefined, { workflowId: 'd-1', token: 'start' })).toBe(false);
  });

  it('keeps only who a requester is', () => {
    expect(requesterOf({ workflowId: 'd-1', token: 'start', supersedes: true })).toEqual({ workflowId: 'd-1', token: 'start' });
    expect(requesterOf({ workflowId: 'd-1', runId: 'r1', continuing: 'r0' })).toEqual({ workflowId: 'd-1', runId: 'r1' });
  });

  it('tells a reset run from a fresh one by the events before its first workflow task', () => {
    expect(wasReset(3)).toBe(false);
    expect(wasReset(7)).toBe(true);
    expect(lockTokens.reset(7, 'abc')).not.toBe(lockTokens.reset(7, 'abd'));
  });
});
