// How long a deployment spends in each phase, derived from its status events alone (pure,
// so that the rules are tested by equality). A phase lasts from the first event that
// enters it to the first event of a phase the deployment had not reached yet: nodes
// interleave their Configuring, Deploying and Verifying events, and counting only first
// entries makes the durations a partition of the deployment's time, from its first event
// to its terminal one, however many nodes it has.
import { isTerminal, type Phase, type StatusEvent, type TerminalPhase } from './schemas/event';

/** What is remembered of a deployment between two of its events. */
export interface PhaseTrack {
  readonly seq: number;
  readonly current: Phase;
  /** Time the current phase was entered (ms since the epoch, from the event's `at`). */
  readonly since: number;
  readonly reached: readonly Phase[];
}

export interface PhaseDuration {
  phase: Phase;
  seconds: number;
}

export interface PhaseStep {
  /** undefined once the deployment has ended: nothing more is kept about it. */
  track: PhaseTrack | undefined;
  durations: PhaseDuration[];
  /** Set on the event that ends the deployment. */
  terminal?: TerminalPhase;
}

type PhaseEvent = Pick<StatusEvent, 'phase' | 'at' | 'seq'>;

export function nextPhase(track: PhaseTrack | undefined, event: PhaseEvent): PhaseStep {
  const at = Date.parse(event.at);
  // Events are published at least once: a repeat carries a seq already seen.
  if (track !== undefined && event.seq <= track.seq) return { track, durations: [] };
  if (track === undefined) {
    if (isTerminal(event.phase)) return { track: undefined, durations: [], terminal: event.phase };
    return { track: { seq: event.seq, current: event.phase, since: at, reached: [event.phase] }, durations: [] };
  }
  if (track.reached.includes(event.phase)) return { track: { ...track, seq: event.seq }, durations: [] };
  const durations = [{ phase: track.current, seconds: Math.max(0, at - track.since) / 1000 }];
  if (isTerminal(event.phase)) return { track: undefined, durations, terminal: event.phase };
  return { track: { seq: event.seq, current: event.phase, since: at, reached: [...track.reached, event.phase] }, durations };
}
