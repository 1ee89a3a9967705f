// The one idempotency rule of apply, for every kind of node: an instance the intent makes
// that carries this deployment's id and this apply's mark, and runs (or is set to run by its
// orchestrator), is already applied, and apply returns it unchanged. The mark is the node
// workflow's run: an apply run again after a crash (a retried activity, a worker that died)
// is the same run and finds its own work; a Retry is a new run and rolls out anew, even where
// an earlier run's restore did not get the node back. The driver reports what it finds and
// converges; it never decides on its own that there is nothing to do.
import { randomUUID } from 'node:crypto';
import { activityInfo } from '@temporalio/activity';
import type { NodeIntent } from '../../../src/core/intent';
import type { Platform } from '../../../src/core/platforms';
import type { ApplyOutcome, StepReporter } from '../target';
import { preflight, type NodeQuestions } from './preflight';

/** One instance of the application on the node, as its driver finds it. */
export interface Placed {
  name: string;
  /** The deployment that put it there. */
  deploymentId: string;
  /** The apply that put it there, when it carries one. */
  mark?: string;
  /** It runs, or its orchestrator is set to run it (replicas above 0). */
  running: boolean;
  /** What it replaced and keeps for a restore: other instances, or its own earlier version (a service's or a Deployment's previous revision). */
  replaced: string[];
}

/** What a kind of node answers and does for apply; `P` is what its driver finds of an instance. */
export interface ApplyDriver<P extends Placed> extends NodeQuestions {
  /** The names of the instances the intent makes on the node: deterministic, so that they can be found again. */
  names(intent: NodeIntent): string[];
  /** The application's instances on the node. */
  placed(application: string): Promise<P[]>;
  /** Puts the intent in place, marked with `mark`: the new version runs, what ran before is stopped and kept. */
  converge(intent: NodeIntent, context: { platform: Platform; mark: string; placed: P[] }, step: StepReporter): Promise<ApplyOutcome>;
}

const unique = (xs: readonly string[]) => [...new Set(xs)];

/** The outcome of an apply already done by this run, or undefined when there is work left. */
export function alreadyApplied(deploymentId: string, mark: string, names: readonly string[], placed: readonly Placed[]): ApplyOutcome | undefined {
  const mine = names.map((n) => placed.find((p) => p.name === n));
  if (names.length === 0 || mine.some((p) => p === undefined || p.deploymentId !== deploymentId || p.mark !== mark || !p.running)) return undefined;
  return { instances: [...names], replaced: unique(mine.flatMap((p) => p!.replaced)) };
}

/** This apply's mark: the node workflow's run, the same for every attempt of the activity within it. */
export const applyMark = (): string => activityInfo().workflowExecution?.runId ?? randomUUID();

/** Pre-flight, then the rule, then the driver's converge. */
export async function applyIntent<P extends Placed>(nodeId: string, planned: NodeIntent, driver: ApplyDriver<P>, step: StepReporter, mark: string): Promise<ApplyOutcome> {
  const { intent, platform } = await preflight(nodeId, planned, driver);
  const placed = await driver.placed(intent.application);
  const done = alreadyApplied(intent.deploymentId, mark, driver.names(intent), placed);
  if (done !== undefined) {
    step('Deploying', `${done.instances.join(', ')} already at this deployment: left as it is`);
    return done;
  }
  return driver.converge(intent, { platform, mark, placed }, step);
}
