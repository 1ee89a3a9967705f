// Status events adapter: publishes the workflow's events on `deployer.events`, keyed by
// deploymentId so that one deployment's events stay in one partition, in order. Every event
// of every deployment passes through here, so the deployment metrics are derived here too.
import { activityInfo } from '@temporalio/activity';
import type { Producer } from 'kafkajs';
import { createLogger, type Logger } from '../../src/log';
import { workerMetrics, type WorkerMetrics } from '../../src/metrics';
import { kindOfWorkflowType } from '../../src/core/operation-kinds';
import { nextPhase, type PhaseTrack } from '../../src/core/phase-durations';
import { statusEventSchema, type StatusEvent } from '../../src/core/schemas/event';

/**
 * Deployments followed at once. One whose terminal event another worker published is never
 * forgotten by this one; the bound keeps such leftovers from growing without end.
 */
const MAX_TRACKED = 10_000;

/** Phase durations and outcomes, from the events as they are published. */
export function createDeploymentRecorder(metrics: WorkerMetrics, log: Logger = createLogger('worker')) {
  const tracks = new Map<string, PhaseTrack>();
  // The seq of each recent terminal event: a repeated publish of it must not count twice.
  const ended = new Map<string, number>();

  const remember = <V>(map: Map<string, V>, key: string, value: V) => {
    map.delete(key);
    map.set(key, value);
    if (map.size > MAX_TRACKED) map.delete(map.keys().next().value!);
  };

  return function record(kind: string, event: StatusEvent): void {
    const endedAt = ended.get(event.deploymentId);
    if (endedAt !== undefined && event.seq <= endedAt) return;
    const step = nextPhase(tracks.get(event.deploymentId), event);
    for (const d of step.durations) metrics.phaseDuration.observe({ phase: d.phase }, d.seconds);
    if (step.track !== undefined) {
      remember(tracks, event.deploymentId, step.track);
      return;
    }
    tracks.delete(event.deploymentId);
    if (step.terminal === undefined) return;
    remember(ended, event.deploymentId, event.seq);
    metrics.deployments.inc({ kind, outcome: step.terminal });
    if (step.terminal === 'RolledBack' || step.terminal === 'Failed' || step.terminal === 'Cancelled') metrics.rollbacks.inc({ outcome: step.terminal });
    log.info('deployment ended', { deploymentId: event.deploymentId, kind, outcome: step.terminal, application: event.application, version: event.version });
  };
}

/**
 * Sends events on the topic and derives the metrics from them. One per worker: the
 * deployments' own publishes and the node steps' live ones (activities/targets/live-events.ts)
 * pass through the same recorder, so the phase durations see every event this worker sent.
 */
export function createEventPublisher(producer: Producer, topic: string, metrics: WorkerMetrics = workerMetrics, liveProducer?: Producer) {
  const record = createDeploymentRecorder(metrics);
  const send = async (via: Producer, events: StatusEvent[]): Promise<void> => {
    const valid = events.map((e) => statusEventSchema.parse(e));
    await via.send({ topic, acks: -1, messages: valid.map((e) => ({ key: e.deploymentId, value: JSON.stringify(e) })) });
    // Only the operation workflows publish terminal events, so their type names the request's kind.
    const kind = kindOfWorkflowType(activityInfo().workflowType ?? '') ?? 'unknown';
    for (const e of valid) record(kind, e);
  };
  return Object.assign((events: StatusEvent[]) => send(producer, events), {
    /** A node step's events as they happen, through the producer that fails fast (absent: nodes report their steps when they end). */
    live: liveProducer !== undefined ? (events: StatusEvent[]) => send(liveProducer, events) : undefined,
  });
}

export type EventPublisher = ReturnType<typeof createEventPublisher>;

export function createEventActivities(publish: EventPublisher) {
  return {
    /**
     * At least once: a retried publish may repeat an event with the same seq, which
     * consumers drop; seq is assigned by the workflow, so a repeat never gets a new one.
     */
    async publishEvents(events: StatusEvent[]): Promise<{ lastSeq: number }> {
      await publish(events);
      // Recorded in the history: where a run that follows this one continues the numbering.
      return { lastSeq: Math.max(0, ...events.map((e) => e.seq)) };
    },
  };
}

export type EventActivities = ReturnType<typeof createEventActivities>;
