// The seam between the saga and the nodes: every kind of target (a bare Docker Engine, a
// Swarm node, a Kubernetes node) carries out the same verbs on one node. The workflow
// speaks only these verbs and hands over a neutral intent; each target renders it into its
// own API body and converges the node. Every verb is idempotent: run again after a crash,
// it finds its own earlier work on the node.
import type { CheckResult } from '../../src/core/deployment-tests';
import type { NodeIntent } from '../../src/core/intent';
import type { Instance, NodeStatus, StepPhase, StepRecord } from '../../src/core/node-facts';

export type { Instance, NodeStatus, StepPhase, StepRecord };

/** Called by a verb as it takes each step: recorded, and shown as the activity's heartbeat details. */
export type StepReporter = (phase: StepPhase, message: string) => void;

/**
 * Asked by a verb that waits (each round of the health check's probes, before each deployment
 * test): throws, with the reason the step fails for, when the node left the fleet since the
 * step started; returns when it is still there. Only what the activity knows of the fleet
 * answers it: the verb never sees the fleet itself.
 */
export type StillThere = () => void;

export interface ApplyOutcome {
  /** What runs the intent now. */
  instances: string[];
  /** What ran before and is kept, stopped, for a restore. */
  replaced: string[];
}

export interface VerifyOutcome {
  probes: number;
  elapsedMs: number;
}

export interface RestoreOutcome {
  removed: string[];
  restarted: string[];
  /** Instances a restore was to start again that are gone or do not run: the node is not back as it was. */
  missing: string[];
}

export interface Target {
  /**
   * Runs the intent's configuration check in a container of the new image with the new env,
   * files and secrets, and removes it; nothing that runs is touched. Its output, secrets
   * redacted, is in the result.
   */
  checkConfig(intent: NodeIntent, step: StepReporter): Promise<{ result: CheckResult }>;
  /** Converges the node to the intent: the new version runs, what ran before is stopped and kept. */
  apply(intent: NodeIntent, step: StepReporter): Promise<ApplyOutcome>;
  /**
   * Waits until every instance of the intent passes its health check `healthyAfter` times in a
   * row, or fails at the deadline, or at once when `stillThere` throws on a round.
   */
  verify(intent: NodeIntent, step: StepReporter, stillThere: StillThere): Promise<VerifyOutcome>;
  /**
   * Runs the intent's deployment tests, one after the other, each within its own timeout,
   * against the new version; a test container is removed afterwards. `stillThere` is asked
   * before each test.
   */
  test(intent: NodeIntent, step: StepReporter, stillThere: StillThere): Promise<{ results: CheckResult[] }>;
  /**
   * The undo of apply and of stop: removes what `deploymentId` created and starts again what
   * it replaced, and the instances named in `restart`.
   */
  restore(ref: { application: string; deploymentId: string; restart: readonly string[] }): Promise<RestoreOutcome>;
  /** After `deploymentId` is healthy: removes every older instance but the ones it replaced. */
  retire(ref: { application: string; deploymentId: string }): Promise<string[]>;
  /** Takes the application off the node, keeping it for a restore: stops the named instances for good. */
  stop(ref: { application: string; names: readonly string[] }): Promise<string[]>;
  /** Removes every instance of the application (its data volumes stay). */
  remove(ref: { application: string }): Promise<string[]>;
  /** The Deployer's instances on the node, of one application or of all. */
  locate(application?: string): Promise<Instance[]>;
  /** The node itself: whether it can take work, and its platform. */
  describe(): Promise<NodeStatus>;
}
