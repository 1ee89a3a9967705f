// Activity option groups. Retries are decided by failure type (NON_RETRYABLE), never by
// message. Every node and build activity heartbeats, so a worker killed mid-step is noticed
// within HEARTBEAT and the step moves to another worker; each step is idempotent, so
// running it again finds its own earlier work.
import type { ActivityOptions, RetryPolicy } from '@temporalio/workflow';
import type { HealthPolicy } from './container-spec';
import { NON_RETRYABLE } from '../../src/core/errors';

const HEARTBEAT = '10s';

/** Attempts bounded only by the activity's schedule-to-close timeout. */
const retryUntilDeadline: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '20s',
  nonRetryableErrorTypes: [...NON_RETRYABLE],
};

const retry: RetryPolicy = { ...retryUntilDeadline, maximumAttempts: 8 };

/** Short engine calls: list, create, start, stop. An engine unreachable for 90 s fails the step. */
export const engineCall: ActivityOptions = { startToCloseTimeout: '60s', scheduleToCloseTimeout: '90s', heartbeatTimeout: HEARTBEAT, retry };

/** Builds, pushes and pulls: long, heartbeating. */
export const transfer: ActivityOptions = { startToCloseTimeout: '60m', heartbeatTimeout: HEARTBEAT, retry };

/** Undo steps: tried for two minutes, then the node is reported as not restored. */
export const compensation: ActivityOptions = { startToCloseTimeout: '60s', scheduleToCloseTimeout: '120s', heartbeatTimeout: HEARTBEAT, retry: retryUntilDeadline };

/** Status events and bookkeeping: never given up on, so no event of a deployment is lost. */
export const publishing: ActivityOptions = { startToCloseTimeout: '30s', retry: { initialInterval: '500ms', maximumInterval: '10s' } };

/** Waiting for dependencies runs to the request's own deadline (strategy.dependencyTimeoutMs); the timeouts only guard against a lost worker. */
export const dependencyWait: ActivityOptions = { startToCloseTimeout: '25h', heartbeatTimeout: HEARTBEAT, retry };

/** Health waits run to their own deadline; the timeouts only guard against a lost worker. */
export function healthWait(policy: HealthPolicy): ActivityOptions {
  return {
    startToCloseTimeout: policy.deadlineMs + 60_000,
    heartbeatTimeout: Math.max(10_000, policy.intervalMs + policy.timeoutMs + 5_000),
    retry,
  };
}
