// A node step's status events, sent as they happen by the activity that takes the step. A
// node of the control queue rolling out alone publishes them itself, numbered from the lease
// its node workflow holds (src/core/live-events.ts); a node beside others, or at a site (whose
// worker has no Kafka), relays them, unnumbered, to its deployment's run, which numbers and
// publishes them with its own. Every step is sent at once; while the step then says nothing
// for a while, a progress event repeats its phase with what it last saw (the health wait's
// probes, a pull, a test).
// Under a lease, publishes go one after the other, so the topic gets them in seq order; the
// activity awaits the last before it returns, and publishes nothing once it is cancelled, so
// nothing of a lease lands after the deployment has numbered on. A publish that fails ends
// live publishing for the step: the steps left, and the one that failed, come back without a
// seq, and the deployment publishes them after the lease, in their order. Relayed events are
// not waited for: the run publishes each event once, whichever of the relay and the node's
// result brings it first, and hears no relay of a node whose result it has.
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { nodeEventsSignal } from '../../workflows/definitions';
import { attemptSpan, progressMessage, PROGRESS_EVERY_MS, RELAY_PROGRESS_MS, type EventLease, type RelayedEvent, type RelayTo } from '../../src/core/live-events';
import { eventMessage } from '../../src/core/event-message';
import type { StatusEvent } from '../../src/core/schemas/event';
import type { StepRecord } from './target';

/** Where a leased step's events go: the events topic (activities/control/events.ts). */
export type EventSink = (events: StatusEvent[]) => Promise<void>;

/** Where a relaying step's events go: its deployment's run (a signal, sent by the worker's client). */
export type EventRelay = (to: RelayTo, event: RelayedEvent) => Promise<void>;

/** How a step's events may leave: each is set up by the worker (absent: that way is not open). */
export interface EventOutlets {
  sink?: EventSink;
  relay?: EventRelay;
}

/** A relay that has not reached Temporal in this time fails: a step never waits out an outage. */
const RELAY_DEADLINE_MS = 5_000;
/**
 * How long an event waits for others to go with it: the events of nodes side by side, and
 * their progress, sent at the same marks, go in one signal; what comes while a signal is out
 * goes in the next. No step waits for its relay (the run tells those it heard from the ones
 * the node's result brings), so this costs a rollout nothing.
 */
const RELAY_GATHER_MS = 200;

/** A run's events waiting to be relayed, in the order they were sent, and the nodes whose relay failed. */
interface Outbox {
  queue: { event: RelayedEvent; resolve: () => void; reject: (err: Error) => void }[];
  timer: NodeJS.Timeout | undefined;
  sending: boolean;
  failed: Set<string>;
}

/**
 * Relays through `client`: one signal to the run at a time, carrying every event sent for it
 * meanwhile. After a relay failed, nothing more of its nodes goes (their steps come back
 * unsent, and the run publishes them after those it heard), so each node's events keep their order.
 */
export function eventRelay(client: Client): EventRelay {
  const outboxes = new Map<string, Outbox>();
  const flush = async (key: string, to: RelayTo, box: Outbox): Promise<void> => {
    box.timer = undefined;
    box.sending = true;
    const batch = box.queue.splice(0);
    try {
      await client.connection.withDeadline(Date.now() + RELAY_DEADLINE_MS, () => client.workflow.getHandle(to.workflowId, to.runId).signal(nodeEventsSignal, { events: batch.map((b) => b.event) }));
      for (const b of batch) b.resolve();
    } catch (err) {
      for (const b of batch) box.failed.add(b.event.node);
      const error = err instanceof Error ? err : new Error(String(err));
      for (const b of batch) b.reject(error);
      for (const b of box.queue.filter((q) => box.failed.has(q.event.node))) b.reject(error);
      box.queue = box.queue.filter((q) => !box.failed.has(q.event.node));
    }
    box.sending = false;
    if (box.queue.length > 0) box.timer = setTimeout(() => void flush(key, to, box), RELAY_GATHER_MS);
    else if (box.failed.size === 0) outboxes.delete(key);
  };
  return (to, event) =>
    new Promise<void>((resolve, reject) => {
      const key = `${to.workflowId}/${to.runId}`;
      let box = outboxes.get(key);
      if (box === undefined) {
        box = { queue: [], timer: undefined, sending: false, failed: new Set() };
        outboxes.set(key, box);
        // A run whose relay failed is forgotten after a while: its nodes' steps have long ended.
        const forget = setTimeout(() => outboxes.get(key)?.queue.length === 0 && outboxes.delete(key), 30 * 60_000);
        forget.unref();
      }
      if (box.failed.has(event.node)) return reject(new Error(`an earlier relay of ${event.node}'s events failed`));
      box.queue.push({ event, resolve, reject });
      if (!box.sending && box.timer === undefined) box.timer = setTimeout(() => void flush(key, to, box), RELAY_GATHER_MS);
    });
}

/** How this step sends: under which numbers, or to which run. */
export type Sending = { lease: EventLease } | { relay: RelayTo };

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
 * that sends live).
 */
export function reportProgress(detail: string): void {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return;
  }
  live.get(ctx)?.progress(detail);
}

export class LiveEvents {
  /** Under a lease: the next number, the last this attempt may use, and the last used. */
  private numbers: { next: number; last: number; used: number } | undefined;
  private chain: Promise<void> = Promise.resolve();
  private broken = false;
  private readonly timer: NodeJS.Timeout;
  private lastEventAt = Date.now();
  /** Relaying: the period of RELAY_PROGRESS_MS the last look fell in. */
  private slot = Math.floor(Date.now() / RELAY_PROGRESS_MS);
  private current: { phase: StepRecord['phase']; message: string; since: number } | undefined;
  private detail: string | undefined;

  private constructor(
    private readonly send: (event: { phase: StepRecord['phase']; message: string; at: string; seq?: number }) => Promise<void>,
    span: { first: number; last: number } | undefined,
    private readonly ctx: Context,
  ) {
    if (span !== undefined) this.numbers = { next: span.first, last: span.last, used: span.first - 1 };
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  /**
   * For the current activity, sending as `how` says; undefined when it cannot send live (no
   * way out for it in this worker, or the lease is used up).
   */
  static start(outlets: EventOutlets, about: Pick<StatusEvent, 'deploymentId' | 'application' | 'version'> & { node: string }, how: Sending | undefined): LiveEvents | undefined {
    if (how === undefined) return undefined;
    const ctx = Context.current();
    let events: LiveEvents;
    if ('lease' in how) {
      const { sink } = outlets;
      const span = attemptSpan(how.lease, ctx.info.attempt);
      if (sink === undefined || span === undefined) return undefined;
      events = new LiveEvents(({ seq, ...e }) => sink([{ ...about, ...e, seq: seq! }]), span, ctx);
    } else {
      const { relay } = outlets;
      if (relay === undefined) return undefined;
      events = new LiveEvents(({ phase, message, at }) => relay(how.relay, { node: about.node, phase, message, at }), undefined, ctx);
    }
    live.set(ctx, events);
    return events;
  }

  /** Sends a step as it is taken; once that publish went through (leased) it carries its seq. */
  step(record: StepRecord): void {
    this.current = { phase: record.phase, message: record.message, since: Date.now() };
    this.detail = undefined;
    this.publish(record.phase, record.message, record.at, false, (seq) => {
      if (seq !== undefined) record.seq = seq;
    });
  }

  progress(detail: string): void {
    this.detail = detail;
  }

  /** Stops; under a lease, resolves once the last publish has answered, with the last seq this attempt may have used. */
  async finish(): Promise<number | undefined> {
    clearInterval(this.timer);
    live.delete(this.ctx);
    if (this.numbers === undefined) return undefined;
    await this.chain;
    return this.numbers.used;
  }

  private tick(): void {
    const now = Date.now();
    if (this.numbers === undefined) {
      // Relaying: progress at the clock's multiples of RELAY_PROGRESS_MS, with the other nodes'.
      const slot = Math.floor(now / RELAY_PROGRESS_MS);
      if (slot === this.slot) return;
      this.slot = slot;
      if (this.current === undefined) return;
    } else if (this.current === undefined || now - this.lastEventAt < PROGRESS_AFTER_MS) return;
    const elapsedMs = now - this.current.since;
    const message = progressMessage(this.current.message, elapsedMs, this.detail);
    this.publish(this.current.phase, message, new Date(now).toISOString(), true);
  }

  private publish(phase: StepRecord['phase'], message: string, at: string, progress: boolean, sent?: (seq: number) => void): void {
    if (this.broken || this.ctx.cancellationSignal.aborted) return;
    let seq: number | undefined;
    if (this.numbers !== undefined) {
      // The last number stays for the step that ends the attempt: a long wait's progress never takes it.
      const n = this.numbers;
      if (progress ? n.next >= n.last : n.next > n.last) return;
      seq = n.next++;
      n.used = seq;
    }
    this.lastEventAt = Date.now();
    const event = { phase, message: eventMessage(message), at, ...(seq !== undefined ? { seq } : {}) };
    if (seq === undefined) {
      // Relayed, not waited for: the relay keeps their order and gathers them with others.
      this.send(event).catch(() => void (this.broken = true));
      return;
    }
    this.chain = this.chain.then(async () => {
      if (this.broken || this.ctx.cancellationSignal.aborted) return;
      try {
        await this.send(event);
        sent?.(seq);
      } catch {
        this.broken = true;
      }
    });
  }
}
