// One node of a deployment, as a child workflow: its history stays small whatever the
// number of nodes, and its page in the Temporal UI reads as the node's own log. The boot is
// short and explicit, as the node's target carries it out: check the new configuration (when
// the request has a check: the previous version still serves), apply (the new version runs,
// the previous one is stopped and kept), verify (healthy `healthyAfter` times in a row), then
// test (the request's deployment tests, each within its timeout). Undo, and retiring older
// versions once the whole deployment succeeded, are the parent's business: it registered the
// node's restore before starting this workflow. What each step did comes back in the result
// (or in the failure's details). With a lease of seq numbers (src/core/live-events.ts) each
// step publishes its status events as they happen, and the result says how far it numbered;
// told to relay, each step sends them to the parent's run as they happen; with neither, the
// parent publishes them once this workflow has ended.
import { ActivityCancellationType, ActivityFailure, ApplicationFailure, isCancellation, patched, setCurrentDetails, setHandler } from '@temporalio/workflow';
import type { StepRecord } from '../activities/targets/target';
import { configCheckFailure, describeTest, testFailure, type CheckResult } from '../src/core/deployment-tests';
import type { NodeIntent } from '../src/core/intent';
import type { EventLease, LivePhase, RelayTo } from '../src/core/live-events';
import { nodeStepQuery, type NodeStepNow } from './definitions';
import type { PlannedNode } from '../src/core/plan';
import { nodeDetails, type NodeStep } from './details';
import { lastSeqOf, NODE_ROLLOUT_FAILED, rootMessage, siteFailure, siteUnreachable, stepsOf } from './failures';
import { nodeCalls, queueOf } from './node-calls';
import { applyStep, SITE_START_TIMEOUT_MS, testStep, verifyStep, type StepOptions } from './options';
import { PATCHES } from './patches';

export interface NodeRolloutInput {
  node: PlannedNode;
  intent: NodeIntent;
  /** Seq numbers the node's steps publish their events under as they happen. */
  events?: EventLease;
  /** Or the run the node's steps relay their events to as they happen. Neither: the parent publishes them once this workflow ended. */
  relay?: RelayTo;
  /** How long a step on the node's site queue waits for its worker (default options.ts SITE_START_TIMEOUT_MS). */
  siteStartTimeoutMs?: number;
}

export interface NodeRolloutResult {
  node: string;
  instances: string[];
  replaced: string[];
  steps: StepRecord[];
  /** The configuration check and the deployment tests, as they went (absent in results of runs that had none). */
  checks?: CheckResult[];
  /** With a lease: the last seq its steps may have published under. */
  lastSeq?: number;
}

/** The details of a node workflow's failure: the steps it took before it failed, the checks and tests that ran, and (with a lease) the last seq used. */
export interface NodeRolloutFailure {
  steps: StepRecord[];
  checks?: CheckResult[];
  lastSeq?: number;
}

export async function nodeRolloutWorkflow({ node, intent, events, relay, siteStartTimeoutMs = SITE_START_TIMEOUT_MS }: NodeRolloutInput): Promise<NodeRolloutResult> {
  const steps: StepRecord[] = [];
  // Each step numbers after the one before it; a step that fails says how far it got too.
  let lastSeq = events?.after;
  // Once a step could not send one of its steps live, those are published by the deployment
  // after the ones sent: the steps after it go that way too, so that seq keeps the order of events.
  let live = events !== undefined || relay !== undefined;
  const lease = () => (!live ? {} : events !== undefined ? { events: { after: lastSeq!, last: events.last } } : relay !== undefined ? { relay } : {});
  const numbered = <T extends { lastSeq?: number; steps?: StepRecord[] }>(taken: T): T => {
    if (taken.lastSeq !== undefined && lastSeq !== undefined) lastSeq = Math.max(lastSeq, taken.lastSeq);
    // Relayed steps are not waited for (the parent tells those it heard), so only a lease's can fall out.
    if (events !== undefined && taken.steps?.some((s) => s.seq === undefined)) live = false;
    return taken;
  };
  const shown: NodeStep[] = [];
  const label = `${intent.application}:${intent.version}`;
  let now: NodeStepNow | undefined;
  setHandler(nodeStepQuery, () => now);
  /** Runs one step on the node; the current details and the `nodeStep` query follow it. */
  async function step<T>(what: string, phase: LivePhase, run: () => Promise<T>): Promise<T> {
    now = { node: node.id, phase, step: what };
    const entry: NodeStep = { step: what, state: 'running' };
    shown.push(entry);
    setCurrentDetails(nodeDetails(node.id, shown));
    try {
      const result = await run();
      entry.state = 'done';
      return result;
    } catch (err) {
      entry.state = 'failed';
      // A step that failed without saying how far it numbered (it timed out, its worker was
      // lost) may have published anywhere in its attempts' spans: the whole lease counts as used.
      numbered({ lastSeq: lastSeqOf(err) ?? (err instanceof ActivityFailure && events !== undefined ? events.last : undefined) });
      throw err;
    } finally {
      now = undefined;
      setCurrentDetails(nodeDetails(node.id, shown));
    }
  }
  // Under a lease, a cancelled step is waited for until its last publish answered (it ends
  // at once when cancelled: activities/targets/node-activities.ts): the parent then numbers on
  // after the lease, and nothing of the lease may land on the topic after that.
  const waitCancelled = events !== undefined && patched(PATCHES.awaitCancelledSteps);
  const on = (options: StepOptions, what: string) =>
    nodeCalls(
      queueOf(node),
      waitCancelled
        ? { local: { ...options.local, cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED }, remote: { ...options.remote, cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED } }
        : options,
      `${node.id}: ${what}`,
      siteStartTimeoutMs,
    );

  const checks: CheckResult[] = [];
  /** Ends the rollout of this node: a check or a test said no. */
  const refuse = (reason: string) => ApplicationFailure.create({ type: NODE_ROLLOUT_FAILED, message: reason, nonRetryable: true });

  try {
    // Before anything is applied: the previous version still serves while the new configuration is checked.
    const { configCheck, tests = [] } = intent;
    if (configCheck !== undefined) {
      await step('check configuration', 'Configuring', async () => {
        const checked = await on(applyStep, `check configuration of ${label}: ${configCheck.command.join(' ')}`).checkNodeConfig({ nodeId: node.id, intent, ...lease() }).then(numbered);
        steps.push(...checked.steps);
        checks.push(checked.result);
        if (!checked.result.passed) throw refuse(configCheckFailure(checked.result));
      });
    }
    const applied = await step(`apply ${label}`, 'Deploying', () => on(applyStep, `apply ${label} (${intent.image})`).applyNode({ nodeId: node.id, intent, ...lease() }).then(numbered));
    steps.push(...applied.steps);
    const { probe } = intent.health;
    const verified = await step(`verify ${probe.kind}`, 'Verifying', () => on(verifyStep(intent.health.policy), `verify ${label} (${probe.kind} health check)`).verifyNode({ nodeId: node.id, intent, ...lease() }).then(numbered));
    steps.push(...verified.steps);
    if (tests.length > 0) {
      await step(`test (${tests.length})`, 'Verifying', async () => {
        const tested = await on(testStep(tests), `test ${label}: ${tests.map((t) => `${t.name} (${describeTest(t)})`).join(', ')}`).testNode({ nodeId: node.id, intent, ...lease() }).then(numbered);
        steps.push(...tested.steps);
        checks.push(...tested.results);
        for (const r of tested.results) shown.push({ step: `test "${r.name}" (${r.kind})`, state: r.passed ? 'done' : 'failed', detail: r.detail });
        const failure = testFailure(tested.results);
        if (failure !== undefined) throw refuse(failure);
      });
    }
    return { node: node.id, instances: applied.instances, replaced: applied.replaced, steps, ...(checks.length > 0 ? { checks } : {}), ...(lastSeq !== undefined ? { lastSeq } : {}) };
  } catch (err) {
    if (isCancellation(err)) throw err;
    steps.push(...stepsOf<StepRecord>(err));
    const details: NodeRolloutFailure = { steps, ...(checks.length > 0 ? { checks } : {}), ...(lastSeq !== undefined ? { lastSeq } : {}) };
    // A step that no worker of the node's site took up: the node fails naming the site.
    const unreachable = siteUnreachable(err, node, siteStartTimeoutMs);
    const cause = unreachable !== undefined ? { cause: siteFailure(unreachable) } : {};
    throw ApplicationFailure.create({ type: NODE_ROLLOUT_FAILED, message: unreachable?.message ?? rootMessage(err), details: [details], nonRetryable: true, ...cause });
  }
}
