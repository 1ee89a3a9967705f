// A node's status events as they happen. The deployment numbers its events (`seq`) in
// workflow code; while one node rolls out alone, the deployment lends it a block of seq
// numbers (a lease) and publishes nothing itself until the node's workflow has ended. The
// node's steps then publish their own events straight from the activity that takes them,
// with numbers from the lease, so that a long wait costs no workflow history per event;
// the node's workflow reports the last number used, and the deployment numbers on after it.
// Nodes rolling out side by side cannot share a lease (two publishers would put seq out of
// order on the topic): their steps relay each event to the deployment's run instead (a
// signal), which numbers and publishes it with its own. That costs the deployment's history
// a few events per node event, so it is the path for batches, not for a node alone.
// Pure: imported by workflow code.
import type { Phase } from './schemas/event';

/** Seq numbers a node may use: those after `after`, up to and including `last`. */
export interface EventLease {
  after: number;
  last: number;
}

/** The deployment run a node's steps relay their events to, when it rolls out beside others. */
export interface RelayTo {
  workflowId: string;
  runId: string;
}

/** One relay to a run: events of its nodes as they happened, unnumbered, in the order they happened on each node. */
export interface RelayedEvents {
  events: RelayedEvent[];
}

export interface RelayedEvent {
  node: string;
  phase: LivePhase;
  message: string;
  at: string;
}

/**
 * How often relaying nodes send progress events: all of a worker's relaying steps at the same
 * moments (multiples of this on the clock), so that their progress reaches the run in one
 * relay, and a long wait of many nodes costs the run's history one signal per period.
 */
export const RELAY_PROGRESS_MS = 4_000;

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

/**
 * The message of a progress event: what the step waits for, how long it has, and what it
 * last saw. All of it is in the message: the contract's status event has no field for it.
 */
export function progressMessage(step: string, elapsedMs: number, detail: string | undefined): string {
  return `${step}, ${Math.floor(elapsedMs / 1000)} s so far${detail !== undefined ? `: ${detail}` : ''}`;
}

/** Whether an event's message is a progress event's (it repeats the step's phase). */
export function isProgressMessage(message: string): boolean {
  return /, \d+ s so far(:|$)/.test(message);
}

/** The phase a node's step shows in, for `deployer status` while it runs. */
export type LivePhase = Extract<Phase, 'Configuring' | 'Deploying' | 'Verifying'>;
