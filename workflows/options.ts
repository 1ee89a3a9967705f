// Activity option groups. Retries are decided by failure type (NON_RETRYABLE), never by
// message; long transfers heartbeat so that a dead worker is noticed in a minute, not at
// the end of a half-hour timeout.
import type { ActivityOptions, RetryPolicy } from '@temporalio/workflow';
import { NON_RETRYABLE } from '../src/errors';
import type { HealthPolicy } from '../src/container-spec';

const retry: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  maximumAttempts: 8,
  nonRetryableErrorTypes: [...NON_RETRYABLE],
};

/** Short engine calls: list, create, start, stop. */
export const engineCall: ActivityOptions = { startToCloseTimeout: '2m', retry };

/** Builds, pushes and pulls: long, heartbeating. */
export const transfer: ActivityOptions = { startToCloseTimeout: '60m', heartbeatTimeout: '2m', retry };

/** Undo steps: a compensation keeps trying longer than a forward step, since it is what restores the node. */
export const compensation: ActivityOptions = { startToCloseTimeout: '2m', retry: { ...retry, maximumAttempts: 12 } };

/** Status events: never given up on, so no event of a deployment is lost. */
export const publishing: ActivityOptions = { startToCloseTimeout: '30s', retry: { initialInterval: '500ms', maximumInterval: '10s' } };

/** Health waits run to their own deadline; the timeout only guards against a lost worker. */
export function healthWait(policy: HealthPolicy): ActivityOptions {
  return {
    startToCloseTimeout: policy.deadlineMs + 60_000,
    heartbeatTimeout: policy.intervalMs + policy.timeoutMs + 30_000,
    retry,
  };
}
