// The verify loop every kind of node shares. A driver says what it sees of one instance
// (a container, a service's tasks, a Deployment's pods) as runs; the loop owns the rest: the
// probe (from outside at the node's address, or the driver's own from inside), the streak of
// `healthyAfter` passes in a row, a run that changed since it was first seen up (restarted,
// stopped or replaced: not healthy, even when the probe passed in between), the deadline,
// the node itself going away (its engine, or its place in the fleet), and the heartbeat that
// shows where it stands.
import { Context } from '@temporalio/activity';
import { EngineUnreachableError, HealthCheckFailedError } from '../../../src/core/errors';
import type { NodeIntent } from '../../../src/core/intent';
import { runChange, type RunState } from '../../../src/core/run-state';
import { heartbeat } from '../../control/heartbeat';
import { reportProgress } from '../live-events';
import { outsideProbe, type Probe } from '../probes';
import type { StepReporter, StillThere, VerifyOutcome } from '../target';

/** One run of an instance, as the node reports it; `id` tells runs apart (a container's name, a task's or a pod's id). */
export interface Run extends RunState {
  id: string;
}

/** What the driver sees of the instance at one probe. */
export interface Observation {
  runs: Run[];
  /** Why it is not up yet (fewer runs running than wanted, still starting); absent when every run is up. */
  waiting?: string;
  /** Why it can never become healthy (exited with nothing to restart it, refused by the node): fails at once. */
  ended?: string;
}

/** What is verified, where: the same for every kind of node. */
export interface Verification {
  /** The node, whose address receives `http` and `tcp` health checks. */
  node: { id: string; address: string };
  /** What is verified, as errors and heartbeats name it. */
  instance: string;
  intent: NodeIntent;
  /** When verification started: the deadline counts from here. */
  started: number;
  /** Asked on every round: throws when the node left the fleet meanwhile, which ends the wait at once. */
  stillThere: StillThere;
}

/** What only the node's own driver can tell. */
export interface Observer {
  observe(): Promise<Observation>;
  /** The driver's probe for checks an outside probe cannot make (exec, the image's own health). */
  inside?: Probe;
  /** Whether the node can still run it; asked while it is not up and before it is declared healthy. Undefined: it can. */
  nodeProblem?(): Promise<string | undefined>;
}

/** What a health check probes, in a few words, for the step that waits on it. */
function describeProbe(probe: NodeIntent['health']['probe']): string {
  return probe.kind === 'image' ? "the image's" : probe.kind;
}

/** What changed since the runs were first seen up, in words; undefined while they are the same runs. */
export function changeSince(watched: ReadonlyMap<string, Run>, runs: readonly Run[]): string | undefined {
  for (const [id, first] of watched) {
    const now = runs.find((r) => r.id === id);
    if (now === undefined) return `stopped during verification: ${id} is gone`;
    const changed = runChange(first, now);
    if (changed !== undefined) return changed;
  }
  const newcomer = runs.find((r) => r.running && !watched.has(r.id));
  return newcomer !== undefined ? `replaced during verification: ${newcomer.id} started after the instance was up` : undefined;
}

/** Waits until the instance passes its health check `healthyAfter` times in a row; the number of probes made. */
export async function waitHealthy(w: Verification, driver: Observer): Promise<number> {
  const { policy } = w.intent.health;
  const probe = outsideProbe(w.node.address, w.intent) ?? driver.inside;
  let streak = 0;
  let probes = 0;
  let lastProblem = 'never probed';
  let watched: Map<string, Run> | undefined;
  const failed = (why: string) => new HealthCheckFailedError(w.node.id, w.instance, why);
  const nodeGone = async () => {
    const problem = await driver.nodeProblem?.();
    if (problem !== undefined) throw new EngineUnreachableError(w.node.id, { detail: problem });
  };
  /** The runs seen now: fails on a change since they were first up, or on an end. */
  const look = async (): Promise<Observation> => {
    const seen = await driver.observe();
    const changed = watched !== undefined ? changeSince(watched, seen.runs) : undefined;
    if (changed !== undefined) throw failed(changed);
    if (seen.ended !== undefined) throw failed(seen.ended);
    return seen;
  };
  for (;;) {
    w.stillThere();
    heartbeat({ instance: w.instance, streak, probes, lastProblem });
    if (probes > 0) reportProgress(`${w.instance}: ${probes} probe(s), ${streak} of ${policy.healthyAfter} in a row, last problem: ${lastProblem}`);
    probes++;
    const seen = await look();
    if (watched === undefined && seen.waiting === undefined) watched = new Map(seen.runs.filter((r) => r.running).map((r) => [r.id, r]));
    let problem = seen.waiting;
    if (problem !== undefined) await nodeGone();
    else problem = await probe?.();
    if (problem === undefined) {
      if (++streak >= policy.healthyAfter) {
        // The probe may have been answered by whatever holds the port, or by pods on a node
        // whose kubelet went silent: healthy only if the runs that started are still the ones
        // that run, on a node that still runs them.
        await look();
        await nodeGone();
        w.stillThere();
        return probes;
      }
    } else {
      streak = 0;
      lastProblem = problem;
    }
    if (Date.now() - w.started + policy.intervalMs > policy.deadlineMs) {
      throw failed(`${lastProblem} (after ${probes} probes in ${Date.now() - w.started} ms)`);
    }
    await Context.current().sleep(policy.intervalMs);
  }
}

/**
 * The verb: says what it waits for, then verifies every instance at once against one
 * deadline, which starts here, after apply: time spent pulling never counts against it.
 * `before` is what the node runs before the health check can count (`the pods to be ready`).
 */
export async function verifyNode(
  v: { node: Verification['node']; intent: NodeIntent; stillThere: StillThere; before?: string },
  observers: () => Promise<(readonly [string, Observer])[]>,
  step: StepReporter,
): Promise<VerifyOutcome> {
  const { probe, policy } = v.intent.health;
  step('Verifying', `waiting for ${v.before !== undefined ? `${v.before} and for ` : ''}${describeProbe(probe)} health check (${policy.healthyAfter} in a row within ${policy.deadlineMs} ms)`);
  const started = Date.now();
  const probes = await Promise.all((await observers()).map(([instance, observer]) => waitHealthy({ node: v.node, instance, intent: v.intent, started, stillThere: v.stillThere }, observer)));
  step('Verifying', 'healthy');
  return { probes: probes.reduce((a, b) => a + b, 0), elapsedMs: Date.now() - started };
}
