// The deployment's status events, numbered and published in order. `seq` is assigned here,
// in workflow code, so a replay or a retried publish never renumbers an event. Publishing
// is a local activity beside the rollout: no durable round trip of its own, no workflow task
// per event, and everything emitted while one batch is being published goes in the next.
// It runs outside any cancellation, so a cancelled deployment still reports how it ended.
// The log knows how far its publishes got (`published`), which the run answers to
// `publishedSeqQuery`, also once it is closed (a query of a closed run replays its history):
// where a run that follows this one (a Retry, a Reset) or the compensation of a terminated
// one numbers its events on.
// Replay-critical: the drain runs beside the workflow's main flow, so when a publish
// returns it may issue nothing but the next publish (another local activity). Any other
// command issued there (a memo upsert, say) would land among the main flow's commands in an
// order that a replay, which resolves local activities at other moments, does not repeat.
// Lending: while one node rolls out alone, the log lends it the next seq numbers (a lease,
// src/core/live-events.ts) and holds whatever is emitted meanwhile; once the node's workflow
// says how far it numbered, the held events are numbered after it and published.
import { CancellationScope, condition } from '@temporalio/workflow';
import type { EventActivities } from '../activities/control/events';
import { LEASE_SIZE, type EventLease } from '../src/core/live-events';
import { eventMessage } from '../src/core/event-message';
import type { Phase, StatusEvent } from '../src/core/schemas/event';
import { publishing } from './options';
import { localActivities } from './local-lane';

const { publishEvents } = localActivities<EventActivities>({ ...publishing, summary: 'publish status events' });

/** How long a node's start waits for the events before it to be published, before it goes without a lease. */
const LEND_WAIT_MS = 5_000;

export class EventLog {
  private seq: number;
  private readonly queue: StatusEvent[] = [];
  private draining = false;
  private publishedSeq: number;
  /** The last seq of the publish out now (0: none). */
  private sending = 0;
  private lent: EventLease | undefined;
  private readonly held: Parameters<EventLog['emit']>[] = [];

  constructor(
    readonly about: { deploymentId: string; application: string; version?: string },
    seqStart = 0,
  ) {
    this.seq = seqStart;
    this.publishedSeq = seqStart;
  }

  /** The last seq whose publish completed (what this run and those it continues published). */
  get published(): number {
    return this.publishedSeq;
  }

  /**
   * The last seq this run published, or gave a publish still out, or let a node
   * publish: a lease still out counts to its end, as its holder may go on publishing after
   * this run was terminated or reset. What
   * `publishedSeqQuery` answers, so that whatever numbers on after this run (a Reset's new
   * run, a terminated run's compensation, a Retry) never reuses a number of the lease.
   */
  get claimed(): number {
    // A publish still out when the run was terminated may land after it ended; what was only
    // queued behind it never goes out.
    return Math.max(this.publishedSeq, this.sending, this.lent?.last ?? 0);
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Numbers the next event after `seq`, when runs before this one published that far. */
  continueAfter(seq: number): void {
    this.seq = Math.max(this.seq, seq);
    this.publishedSeq = Math.max(this.publishedSeq, seq);
  }

  /**
   * Lends the numbers after every event emitted so far, once those are published (so that
   * none of them lands on the topic after a number of the lease). None when they are not
   * published within LEND_WAIT_MS (the events topic is out of reach): the node then reports
   * its steps when it ends, and its rollout does not wait for the broker to come back.
   */
  async lend(): Promise<EventLease | undefined> {
    if (this.draining && !(await CancellationScope.nonCancellable(() => condition(() => !this.draining, LEND_WAIT_MS)))) return undefined;
    this.lent = { after: this.seq, last: this.seq + LEASE_SIZE };
    return this.lent;
  }

  /**
   * The lease is back: `lastSeq` is the last number its holder may have used (the whole lease
   * when it cannot say, a cancelled node workflow); what was emitted meanwhile goes out after it.
   */
  settle(lastSeq: number | undefined): void {
    if (this.lent === undefined) return;
    this.continueAfter(Math.min(lastSeq ?? this.lent.last, this.lent.last));
    this.lent = undefined;
    for (const args of this.held.splice(0)) this.emit(...args);
  }

  /** `at`: when it happened, for a step a node reported after the fact; now by default. */
  emit(phase: Phase, message: string, node?: string, at?: string): void {
    if (this.lent !== undefined) {
      this.held.push([phase, message, node, at ?? new Date().toISOString()]);
      return;
    }
    this.queue.push({
      ...this.about,
      phase,
      ...(node !== undefined ? { node } : {}),
      message: eventMessage(message),
      at: at ?? new Date().toISOString(),
      seq: ++this.seq,
    });
    if (!this.draining) {
      this.draining = true;
      // Everything emitted in this activation goes in one publish: the drain starts once the
      // activation's own code has run (a microtask later, the same on every replay).
      void Promise.resolve().then(() => CancellationScope.nonCancellable(() => this.drain()));
    }
  }

  /** Resolves when every event emitted so far is published. */
  async flushed(): Promise<void> {
    await CancellationScope.nonCancellable(() => condition(() => !this.draining));
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.queue.length);
      this.sending = Math.max(...batch.map((e) => e.seq));
      await publishEvents(batch);
      this.publishedSeq = Math.max(this.publishedSeq, ...batch.map((e) => e.seq));
    }
    this.draining = false;
  }
}
