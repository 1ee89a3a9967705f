// A node's status events as they happen. The deployment numbers its events (`seq`) in
// workflow code; while one node rolls out alone, the deployment lends it a block of seq
// numbers (a lease) and publishes nothing itself until the node's workflow has ended. The
// node's steps then publish their own events straight from the activity that takes them,
// with numbers from the lease, so that a long wait costs no workflow history per event;
// the node's workflow reports the last number used, and the deployment numbers on after it.
// Pure: imported by workflow code.
import type { Phase } from './schemas/event';

/** Seq numbers a node may use: those after `after`, up to and including `last`. */
export interface EventLease {
  after: number;
  last: number;
}

/** A node's events between two of the deployment's own: ample for every step, attempt and progress event of one node. */
export const LEASE_SIZE = 40_000;

/**
 * Numbers one attempt of a step may use. A retried attempt cannot know how far the one before
 * it got (it may have died mid-publish), so each attempt numbers in its own span: a repeat of
 * an earlier attempt's event never reuses its seq with other content. Gaps are allowed: seq
 * increases, it does not count.
 */
export const ATTEMPT_SPAN = 1_000;

/** The first and the last seq attempt `attempt` (from 1) of a step may use, within `lease`; undefined when the lease is used up. */
export function attemptSpan(lease: EventLease, attempt: number): { first: number; last: number } | undefined {
  const first = lease.after + (attempt - 1) * ATTEMPT_SPAN + 1;
  const last = Math.min(lease.last, first + ATTEMPT_SPAN - 1);
  return first <= last ? { first, last } : undefined;
}

/** While a step lasts, a node's events come at least this often: a progress event when it has said nothing else. */
export const PROGRESS_EVERY_MS = 5_000;

/** What a progress event adds to a repeated phase (an optional field of the status event). */
export interface Progress {
  /** Since the step began. */
  elapsedMs: number;
  /** Health probes made so far, while a health check is waited for. */
  probes?: number;
}

/** The message of a progress event: what the step waits for, how long it has, and what it last saw. */
export function progressMessage(step: string, elapsedMs: number, detail: string | undefined): string {
  return `${step}, ${Math.floor(elapsedMs / 1000)} s so far${detail !== undefined ? `: ${detail}` : ''}`;
}

/** The phase a node's step shows in, for `deployer status` while it runs. */
export type LivePhase = Extract<Phase, 'Configuring' | 'Deploying' | 'Verifying'>;
