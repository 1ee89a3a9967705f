// The deployment's status events, numbered and published in order (batched: one activity
// carries all events queued while the previous batch was being published). `seq` is assigned here,
// in workflow code, so a replay or a retried publish never renumbers an event. Publishing
// runs beside the deployment (a slow broker does not hold up the rollout) and outside any
// cancellation, so a cancelled deployment still reports how it ended.
import { CancellationScope, condition, proxyActivities } from '@temporalio/workflow';
import type { EventActivities } from '../../activities/control/events';
import type { Phase, StatusEvent } from '../../src/core/schemas/event';
import { publishing } from './options';

const { publishEvents } = proxyActivities<EventActivities>(publishing);

export class EventLog {
  private seq: number;
  private readonly queue: StatusEvent[] = [];
  private draining = false;

  constructor(
    readonly about: { deploymentId: string; application: string; version?: string },
    seqStart = 0,
  ) {
    this.seq = seqStart;
  }

  get lastSeq(): number {
    return this.seq;
  }

  emit(phase: Phase, message: string, node?: string): void {
    this.queue.push({
      ...this.about,
      phase,
      ...(node !== undefined ? { node } : {}),
      message: message.length > 4096 ? `${message.slice(0, 4093)}...` : message,
      at: new Date().toISOString(),
      seq: ++this.seq,
    });
    if (!this.draining) {
      this.draining = true;
      void CancellationScope.nonCancellable(() => this.drain());
    }
  }

  /** Resolves when every event emitted so far is published. */
  async flushed(): Promise<void> {
    await CancellationScope.nonCancellable(() => condition(() => !this.draining));
  }

  /** Publishes what is queued, in one batch per round trip, so events never wait behind one another for long. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      await publishEvents(this.queue.splice(0, this.queue.length));
    }
    this.draining = false;
  }
}
