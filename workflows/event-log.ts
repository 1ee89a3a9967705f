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
import { CancellationScope, condition } from '@temporalio/workflow';
import type { EventActivities } from '../activities/control/events';
import type { Phase, StatusEvent } from '../src/core/schemas/event';
import { publishing } from './options';
import { localActivities } from './local-lane';

const { publishEvents } = localActivities<EventActivities>({ ...publishing, summary: 'publish status events' });

const MAX_MESSAGE = 4096;

export class EventLog {
  private seq: number;
  private readonly queue: StatusEvent[] = [];
  private draining = false;
  private publishedSeq: number;

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

  get lastSeq(): number {
    return this.seq;
  }

  /** Numbers the next event after `seq`, when runs before this one published that far. */
  continueAfter(seq: number): void {
    this.seq = Math.max(this.seq, seq);
    this.publishedSeq = Math.max(this.publishedSeq, seq);
  }

  /** `at`: when it happened, for a step a node reported after the fact; now by default. */
  emit(phase: Phase, message: string, node?: string, at?: string): void {
    this.queue.push({
      ...this.about,
      phase,
      ...(node !== undefined ? { node } : {}),
      message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message,
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
      await publishEvents(batch);
      this.publishedSeq = Math.max(this.publishedSeq, ...batch.map((e) => e.seq));
    }
    this.draining = false;
  }
}
