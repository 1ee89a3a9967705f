// How the workflows tell a site no worker serves (workflows/failures.ts siteUnreachable): by
// the failure's types alone, an activity's schedule-to-start timeout, never by its message.
import { ActivityFailure, ApplicationFailure, RetryState, TimeoutFailure } from '@temporalio/common';
import { SiteUnreachableError } from '../../src/core/errors';
import { reasonOf, siteUnreachable } from '../../workflows/failures';

const activityFailure = (cause: Error) => new ActivityFailure('activity failed', 'applyNode', '1', RetryState.NON_RETRYABLE_FAILURE, undefined, cause);
const queue = { taskQueue: 'site-gh2', site: 'greenhouse-2' };

describe('a call no site worker took up', () => {
  it('is a schedule-to-start timeout of an activity, named after the site and its queue', () => {
    const err = siteUnreachable(activityFailure(new TimeoutFailure('whatever the server says', undefined, 'SCHEDULE_TO_START')), queue, 60_000);
    expect(err).toBeInstanceOf(SiteUnreachableError);
    expect(err!.message).toBe('site greenhouse-2 unreachable: no worker polled its queue site-gh2 for 60 s');
    // A queue of no named site is named by itself.
    expect(siteUnreachable(activityFailure(new TimeoutFailure(undefined, undefined, 'SCHEDULE_TO_START')), { taskQueue: 'site-gh2' }, 2_000)!.message).toBe('site site-gh2 unreachable: no worker polled its queue site-gh2 for 2 s');
  });

  it('is nothing else: other timeouts, failures raised by the step, a message that only says so', () => {
    for (const timeoutType of ['START_TO_CLOSE', 'SCHEDULE_TO_CLOSE', 'HEARTBEAT'] as const) {
      expect(siteUnreachable(activityFailure(new TimeoutFailure(undefined, undefined, timeoutType)), queue, 60_000)).toBeUndefined();
    }
    const raised = activityFailure(ApplicationFailure.create({ type: 'EngineUnreachableError', message: "node 'fog-9' is unreachable" }));
    expect(siteUnreachable(raised, queue, 60_000)).toBeUndefined();
    expect(reasonOf(raised, queue, 60_000)).toBe("node 'fog-9' is unreachable");
    expect(siteUnreachable(new Error('site greenhouse-2 unreachable: SCHEDULE_TO_START'), queue, 60_000)).toBeUndefined();
  });
});
