// A node step's status events, published as they happen by the activity that takes the step,
// numbered from the lease its node workflow holds (src/core/live-events.ts). Every step is
// published at once; while the step then says nothing for PROGRESS_EVERY_MS, a progress
// event repeats its phase with what it last saw (the health wait's probes, a pull, a test).
// Publishes go one after the other, so the topic gets them in seq order; the activity awaits
// the last before it returns, and publishes nothing once it is cancelled, so nothing of a
// lease lands after the deployment has numbered on. A publish that fails ends live
// publishing for the step: the steps left, and the one that failed, come back without a seq,
// and the deployment publishes them after the lease, in their order.
import { Context } from '@temporalio/activity';
import { attemptSpan, progressMessage, PROGRESS_EVERY_MS, type EventLease } from '../../src/core/live-events';
import { eventMessage } from '../../src/core/event-message';
import type { StatusEvent } from '../../src/core/schemas/event';
import type { StepRecord } from './target';

/** Where live events go: the events topic (activities/control/events.ts). */
export type EventSink = (events: StatusEvent[]) => Promise<void>;

/** How often the step's silence is looked at. */
const TICK_MS = 250;
/**
 * Silence after which a progress event goes out: a second short of the promise, so that the
 * tick's lateness and the publish itself still land the event within PROGRESS_EVERY_MS.
 */
const PROGRESS_AFTER_MS = PROGRESS_EVERY_MS - 1_000;

const live = new WeakMap<Context, LiveEvents>();

/**
 * What the running step last saw, for its next progress event (a no-op outside an activity
 * that publishes live). `probes`: health probes made so far.
 */
export function reportProgress(detail: string, probes?: number): void {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return;
  }
  live.get(ctx)?.progress(detail, probes);
}

export class LiveEvents {
  private next: number;
  private readonly last: number;
  private used: number;
  private chain: Promise<void> = Promise.resolve();
  private broken = false;
  private readonly timer: NodeJS.Timeout;
  private lastEventAt = Date.now();
  private current: { phase: StepRecord['phase']; message: string; since: number } | undefined;
  private detail: { text: string; probes?: number } | undefined;

  private constructor(
    private readonly sink: EventSink,
    private readonly about: Pick<StatusEvent, 'deploymentId' | 'application' | 'version' | 'node'>,
    span: { first: number; last: number },
    private readonly ctx: Context,
  ) {
    this.next = span.first;
    this.last = span.last;
    this.used = span.first - 1;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** For the current activity under `lease`; undefined without a lease, or once the lease is used up. */
  static start(sink: EventSink, about: Pick<StatusEvent, 'deploymentId' | 'application' | 'version' | 'node'>, lease: EventLease | undefined): LiveEvents | undefined {
    if (lease === undefined) return undefined;
    const ctx = Context.current();
    const span = attemptSpan(lease, ctx.info.attempt);
    if (span === undefined) return undefined;
    const events = new LiveEvents(sink, about, span, ctx);
    live.set(ctx, events);
    return events;
  }

  /** Publishes a step as it is taken; it carries its seq once that publish went through. */
  step(record: StepRecord): void {
    this.current = { phase: record.phase, message: record.message, since: Date.now() };
    this.detail = undefined;
    this.publish(record.phase, record.message, record.at, undefined, (seq) => (record.seq = seq));
  }

  progress(detail: string, probes?: number): void {
    this.detail = { text: detail, ...(probes !== undefined ? { probes } : {}) };
  }

  /** Stops; resolves once the last publish has answered, with the last seq this attempt may have used. */
  async finish(): Promise<number> {
    clearInterval(this.timer);
    live.delete(this.ctx);
    await this.chain;
    return this.used;
  }

  private tick(): void {
    const now = Date.now();
    if (this.current === undefined || now - this.lastEventAt < PROGRESS_AFTER_MS) return;
    const elapsedMs = now - this.current.since;
    const message = progressMessage(this.current.message, elapsedMs, this.detail?.text);
    this.publish(this.current.phase, message, new Date(now).toISOString(), { elapsedMs, ...(this.detail?.probes !== undefined ? { probes: this.detail.probes } : {}) });
  }

  private publish(phase: StepRecord['phase'], message: string, at: string, progress: StatusEvent['progress'], published?: (seq: number) => void): void {
    // The last number stays for the step that ends the attempt: a long wait's progress never takes it.
    const room = progress !== undefined ? this.next < this.last : this.next <= this.last;
    if (this.broken || this.ctx.cancellationSignal.aborted || !room) return;
    const seq = this.next++;
    this.used = seq;
    this.lastEventAt = Date.now();
    const event: StatusEvent = { ...this.about, phase, message: eventMessage(message), at, seq, ...(progress !== undefined ? { progress } : {}) };
    this.chain = this.chain.then(async () => {
      if (this.broken || this.ctx.cancellationSignal.aborted) return;
      try {
        await this.sink([event]);
        published?.(seq);
      } catch {
        this.broken = true;
      }
    });
  }
}
