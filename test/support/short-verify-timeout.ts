// Workflow interceptors for the workflow tests only (bundled with the workflows by
// startFakeEnvironment's `workflowInterceptorModules`): the node's verify step, a local
// activity, gets a start-to-close timeout of VERIFY_TIMEOUT_MS and VERIFY_ATTEMPTS attempts.
// Its own timeout is the health deadline plus a minute and its retries eight, so a test
// could not otherwise see it time out for good within minutes. Only the numbers change:
// the timeout and the retries are Temporal's own.
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';

export const VERIFY_TIMEOUT_MS = 2_000;
export const VERIFY_ATTEMPTS = 2;

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      scheduleLocalActivity(input, next) {
        if (input.activityType !== 'verifyNode') return next(input);
        return next({ ...input, options: { ...input.options, startToCloseTimeout: VERIFY_TIMEOUT_MS, retry: { ...input.options.retry, maximumAttempts: VERIFY_ATTEMPTS } } });
      },
    },
  ],
});
