// Activity option groups. Retries are decided by failure type (NON_RETRYABLE), never by
// message. Node steps run as local activities when the node is served by the workflow's own
// task queue (no durable round trip per step: the workflow task itself is their liveness,
// so a worker that dies mid-step is noticed within the node workflow's task timeout), and as
// activities on the node's own task queue otherwise, bounded by schedule-to-close because
// that queue dies with its site's worker; those heartbeat, so a worker killed mid-step is
// noticed within HEARTBEAT and the step moves to another worker, and wait for a worker to take
// them no longer than SITE_START_TIMEOUT_MS (node-calls.ts). Every step is idempotent.
import type { ActivityOptions, LocalActivityOptions, RetryPolicy } from '@temporalio/workflow';
import { NON_RETRYABLE } from '../src/core/errors';
import type { HealthPolicy } from '../src/core/intent';

const HEARTBEAT = '10s';

/**
 * How long a call sent to a site's task queue waits for a worker to take it (its
 * schedule-to-start timeout) before the site is reported unreachable (SiteUnreachableError).
 * A site worker polls its queue without pause, so a live one takes a task within a second; a
 * minute covers a worker restarting, or its link dropping for a few tens of seconds and
 * reconnecting, which is not worth failing a node for, and no longer: past that the worker is
 * gone, and every minute more holds the deployment (and its application's lock) for nothing.
 * Temporal never retries a schedule-to-start timeout (a retry would wait on the same queue).
 * A deployment may set its own (DeployOptions.siteStartTimeoutMs).
 */
export const SITE_START_TIMEOUT_MS = 60_000;

/** Attempts bounded only by the activity's schedule-to-close timeout. */
const retryUntilDeadline: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '20s',
  nonRetryableErrorTypes: [...NON_RETRYABLE],
};

/** Eight attempts: an engine unreachable for about 70 s fails the step. */
const retry: RetryPolicy = { ...retryUntilDeadline, maximumAttempts: 8 };

/** Either kind of call, for a step that may run locally or on a node's queue. */
export interface StepOptions {
  local: LocalActivityOptions;
  remote: ActivityOptions;
}

/** Apply: may pull an image, so long; heartbeating on a remote queue. */
export const applyStep: StepOptions = {
  local: { startToCloseTimeout: '60m', retry },
  remote: { startToCloseTimeout: '60m', scheduleToCloseTimeout: '70m', heartbeatTimeout: HEARTBEAT, retry },
};

/** Health waits run to their own deadline; the timeouts only guard against a lost worker. */
export function verifyStep(policy: HealthPolicy): StepOptions {
  const timeout = policy.deadlineMs + 60_000;
  return {
    local: { startToCloseTimeout: timeout, retry },
    remote: { startToCloseTimeout: timeout, scheduleToCloseTimeout: timeout * 2, heartbeatTimeout: Math.max(10_000, policy.intervalMs + policy.timeoutMs + 5_000), retry },
  };
}

/** Deployment tests run one after the other, each to its own timeout; a test container may be pulled first. */
export function testStep(tests: readonly { timeoutMs: number }[]): StepOptions {
  const timeout = tests.reduce((sum, t) => sum + t.timeoutMs, 0) + 10 * 60_000;
  return {
    local: { startToCloseTimeout: timeout, retry },
    remote: { startToCloseTimeout: timeout, scheduleToCloseTimeout: timeout * 2, heartbeatTimeout: HEARTBEAT, retry },
  };
}

/** Short engine calls (retire, locate): a few attempts; an unanswered one is not worth holding the rollout for. */
export const engineStep: StepOptions = {
  local: { startToCloseTimeout: '60s', scheduleToCloseTimeout: '90s', retry },
  remote: { startToCloseTimeout: '60s', scheduleToCloseTimeout: '90s', heartbeatTimeout: HEARTBEAT, retry },
};

/** How long a compensating verb keeps trying each node before it is reported as not restored. */
export const COMPENSATION_DEADLINE_MS = 120_000;

/** Undo, stop and remove of a group of nodes: each node is retried inside the call until COMPENSATION_DEADLINE_MS. */
export const groupStep: StepOptions = {
  local: { startToCloseTimeout: '5m', scheduleToCloseTimeout: '10m', retry: retryUntilDeadline },
  remote: { startToCloseTimeout: '5m', scheduleToCloseTimeout: '10m', heartbeatTimeout: HEARTBEAT, retry: retryUntilDeadline },
};

/** Reading the inventory and Temporal itself (the application's history): local, retried. */
export const lookup: LocalActivityOptions = { startToCloseTimeout: '60s', scheduleToCloseTimeout: '10m', retry: retryUntilDeadline };

/**
 * Status events and records: never given up on, so no event of a deployment is lost. An
 * attempt outlasts the Kafka client's own retries (about 20 s, src/kafka/client.ts), so no
 * send goes on behind an attempt that timed out.
 */
export const publishing: LocalActivityOptions = { startToCloseTimeout: '30s', retry: { initialInterval: '200ms', maximumInterval: '10s' } };

/** Builds and pushes: long, heartbeating, on the control queue. */
export const transfer: ActivityOptions = { startToCloseTimeout: '60m', heartbeatTimeout: HEARTBEAT, retry };

/** Waiting for dependencies runs to the request's own deadline (strategy.dependencyTimeoutMs); the timeouts only guard against a lost worker. */
export const dependencyWait: ActivityOptions = { startToCloseTimeout: '25h', heartbeatTimeout: HEARTBEAT, retry };

/** The lock's Temporal calls. */
export const lockCall: ActivityOptions = { startToCloseTimeout: '60s', scheduleToCloseTimeout: '10m', heartbeatTimeout: HEARTBEAT, retry };
