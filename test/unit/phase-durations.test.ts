import { Counter, Histogram, Registry } from 'prom-client';
import { createDeploymentRecorder } from '../../activities/control/events';
import type { WorkerMetrics } from '../../src/metrics';
import { kindOfWorkflowType } from '../../src/core/operation-kinds';
import { nextPhase, type PhaseTrack } from '../../src/core/phase-durations';
import { deploymentIdOf } from '../../src/core/workflow-ids';
import type { Phase, StatusEvent } from '../../src/core/schemas/event';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const ev = (seq: number, phase: Phase, ms: number, node?: string): StatusEvent => ({
  deploymentId: 'd1',
  application: 'app',
  phase,
  ...(node !== undefined ? { node } : {}),
  message: '',
  at: new Date(T0 + ms).toISOString(),
  seq,
});

/** Feeds events in order and collects every duration and the terminal phase. */
function run(events: StatusEvent[]) {
  let track: PhaseTrack | undefined;
  const durations: { phase: Phase; seconds: number }[] = [];
  let terminal: Phase | undefined;
  for (const e of events) {
    const step = nextPhase(track, e);
    track = step.track;
    durations.push(...step.durations);
    if (step.terminal !== undefined) terminal = step.terminal;
  }
  return { durations, terminal, track };
}

describe('phase durations', () => {
  it('measures each phase from its first event to the first event of the next phase', () => {
    expect(run([ev(1, 'Accepted', 0), ev(2, 'Building', 500), ev(3, 'Pushing', 2500), ev(4, 'Configuring', 3000, 'fog-1'), ev(5, 'Deploying', 3100, 'fog-1'), ev(6, 'Verifying', 4100, 'fog-1'), ev(7, 'Succeeded', 6100)])).toEqual({
      durations: [
        { phase: 'Accepted', seconds: 0.5 },
        { phase: 'Building', seconds: 2 },
        { phase: 'Pushing', seconds: 0.5 },
        { phase: 'Configuring', seconds: 0.1 },
        { phase: 'Deploying', seconds: 1 },
        { phase: 'Verifying', seconds: 2 },
      ],
      terminal: 'Succeeded',
      track: undefined,
    });
  });

  it('counts a phase once however its nodes interleave, so the durations add up to the whole deployment', () => {
    const { durations } = run([
      ev(1, 'Accepted', 0),
      ev(2, 'Configuring', 100, 'fog-1'),
      ev(3, 'Configuring', 150, 'fog-2'),
      ev(4, 'Deploying', 200, 'fog-1'),
      ev(5, 'Deploying', 250, 'fog-2'),
      ev(6, 'Verifying', 1200, 'fog-1'),
      ev(7, 'Deploying', 1300, 'fog-2'),
      ev(8, 'Verifying', 1400, 'fog-2'),
      ev(9, 'Succeeded', 3200),
    ]);
    expect(durations).toEqual([
      { phase: 'Accepted', seconds: 0.1 },
      { phase: 'Configuring', seconds: 0.1 },
      { phase: 'Deploying', seconds: 1 },
      { phase: 'Verifying', seconds: 2 },
    ]);
    expect(durations.reduce((s, d) => s + d.seconds, 0)).toBeCloseTo(3.2);
  });

  it('ends a rolled-back deployment with the time spent rolling back', () => {
    expect(run([ev(1, 'Accepted', 0), ev(2, 'Deploying', 1000, 'fog-1'), ev(3, 'Verifying', 2000, 'fog-1'), ev(4, 'RollingBack', 5000, 'fog-1'), ev(5, 'RolledBack', 5500)])).toEqual({
      durations: [
        { phase: 'Accepted', seconds: 1 },
        { phase: 'Deploying', seconds: 1 },
        { phase: 'Verifying', seconds: 3 },
        { phase: 'RollingBack', seconds: 0.5 },
      ],
      terminal: 'RolledBack',
      track: undefined,
    });
  });

  it('ignores a repeated event, which carries a seq already seen', () => {
    expect(run([ev(1, 'Accepted', 0), ev(2, 'Deploying', 1000), ev(2, 'Deploying', 1000), ev(1, 'Accepted', 0), ev(3, 'Succeeded', 3000)]).durations).toEqual([
      { phase: 'Accepted', seconds: 1 },
      { phase: 'Deploying', seconds: 2 },
    ]);
  });

  it('reports a deployment that ends at its first event seen with no duration', () => {
    expect(nextPhase(undefined, ev(1, 'Cancelled', 0))).toEqual({ track: undefined, durations: [], terminal: 'Cancelled' });
  });

  it('keeps nothing but the current phase, its start, the last seq and the phases reached', () => {
    expect(run([ev(1, 'Accepted', 0), ev(2, 'Deploying', 1000, 'fog-1'), ev(3, 'Accepted', 1500)]).track).toEqual({
      seq: 3,
      current: 'Deploying',
      since: T0 + 1000,
      reached: ['Accepted', 'Deploying'],
    });
  });
});

describe('names derived from workflow ids and types', () => {
  it('names the kind of request from the operation workflow type', () => {
    expect(['deployWorkflow', 'rollbackWorkflow', 'scaleWorkflow', 'undeployWorkflow', 'nodeRolloutWorkflow'].map(kindOfWorkflowType)).toEqual(['Deploy', 'Rollback', 'Scale', 'Undeploy', undefined]);
  });

  it('finds the deployment of an operation, of its node children and of their retries, but not of a lock', () => {
    expect(['d-1', 'd-1/fog-2', 'd-1/fog-2/retry-1', 'd-1/compensation/r', 'lock/hello'].map(deploymentIdOf)).toEqual(['d-1', 'd-1', 'd-1', 'd-1', undefined]);
  });
});

describe('deployment recorder', () => {
  function metrics(): WorkerMetrics {
    const registers = [new Registry()];
    return {
      deployments: new Counter({ name: 'd', help: 'd', labelNames: ['kind', 'outcome'] as const, registers }),
      phaseDuration: new Histogram({ name: 'p', help: 'p', labelNames: ['phase'] as const, buckets: [1, 10], registers }),
      rollbacks: new Counter({ name: 'r', help: 'r', labelNames: ['outcome'] as const, registers }),
    };
  }

  it('counts an outcome once even when its terminal event is published again, and a Retry run again', async () => {
    const m = metrics();
    const ended: unknown[] = [];
    const record = createDeploymentRecorder(m, { debug: () => undefined, info: (_, f) => ended.push(f), warn: () => undefined, error: () => undefined });
    for (const e of [ev(1, 'Accepted', 0), ev(2, 'RollingBack', 1000), ev(3, 'RolledBack', 2000), ev(3, 'RolledBack', 2000), ev(4, 'Accepted', 3000), ev(5, 'Succeeded', 4000)]) record('Deploy', e);
    expect((await m.deployments.get()).values.map((v) => [v.labels, v.value])).toEqual([
      [{ kind: 'Deploy', outcome: 'RolledBack' }, 1],
      [{ kind: 'Deploy', outcome: 'Succeeded' }, 1],
    ]);
    expect((await m.rollbacks.get()).values.map((v) => [v.labels, v.value])).toEqual([[{ outcome: 'RolledBack' }, 1]]);
    expect(ended).toEqual([
      { deploymentId: 'd1', kind: 'Deploy', outcome: 'RolledBack', application: 'app', version: undefined },
      { deploymentId: 'd1', kind: 'Deploy', outcome: 'Succeeded', application: 'app', version: undefined },
    ]);
    const counts = (await m.phaseDuration.get()).values.filter((v) => v.metricName === 'p_count').map((v) => [v.labels.phase, v.value]);
    expect(counts).toEqual([
      ['Accepted', 2],
      ['RollingBack', 1],
    ]);
  });
});
