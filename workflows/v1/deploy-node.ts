// Frozen: the node child of the first workflow shape (v1); see deploy.ts beside it.
//
// One node of a deployment, as a child workflow: its history stays small whatever the
// number of nodes, and its activities go to the node's own task queue, where a worker at
// the node's site can serve them. Boot is short and explicit: remember what runs, pull,
// create (with files), stop the old, start the new, verify. Undo is the parent's business:
// it registered `restoreNode` for this node before starting this workflow. Every activity
// carries a summary naming the node and the step, and the current details list the steps so
// far, so that the Temporal UI reads as the node's own log.
import { getExternalWorkflowHandle, proxyActivities, setCurrentDetails, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { DockerActivities } from '../../activities/targets/docker-engine/legacy-v1';
import type { HealthActivities } from '../../activities/targets/docker-engine/legacy-v1-health';
import { containerSpecs, healthPolicy, healthTarget } from './container-spec';
import type { PlannedNode } from '../../src/core/plan';
import type { Phase } from '../../src/core/schemas/event';
import type { DeployRequest } from '../../src/core/schemas/request';
import { nodeProgressSignal } from '../definitions';
import { describeTarget, nodeDetails, type NodeStep, type StepState } from './details';
import { engineCall, healthWait, transfer } from './options';

export interface NodeDeployInput {
  request: DeployRequest;
  node: PlannedNode;
  image: string;
}

export interface NodeDeployResult {
  node: string;
  containers: string[];
  replaced: string[];
}

export async function deployNodeWorkflow({ request, node, image }: NodeDeployInput): Promise<NodeDeployResult> {
  const parent = workflowInfo().parent;
  // Progress goes to the parent in order, but the rollout does not wait for each signal.
  let reported = Promise.resolve();
  const report = (phase: Phase, message: string) => {
    if (parent === undefined) return;
    const signal = { node: node.id, phase, message };
    reported = reported.then(() => getExternalWorkflowHandle(parent.workflowId).signal(nodeProgressSignal, signal));
  };
  const policy = healthPolicy(request.healthCheck);
  const application = request.application.name;
  const steps: NodeStep[] = [];
  const show = () => setCurrentDetails(nodeDetails(node.id, steps));
  /**
   * Runs one step on the node: its activity's summary names both, and the current details
   * follow it. The caller gets the activity's own promise, not a wrapper: an extra promise
   * hop would let the progress signals get ahead of the next activity, and histories recorded
   * in the other order would no longer replay.
   */
  function step<T>(what: string, options: ActivityOptions, run: (options: ActivityOptions) => Promise<T>): Promise<T> {
    const entry: NodeStep = { step: what, state: 'running' };
    steps.push(entry);
    show();
    const done = run({ ...options, taskQueue: node.taskQueue, summary: `${node.id}: ${what}` });
    const settle = (state: StepState) => () => {
      entry.state = state;
      show();
    };
    done.then(settle('done'), settle('failed'));
    return done;
  }
  // Options are per proxy, so each step gets its own (a proxy is only a name lookup).
  const docker = (options: ActivityOptions) => proxyActivities<DockerActivities>(options);
  const health = (options: ActivityOptions) => proxyActivities<HealthActivities>(options);

  try {
    const existing = await step(`list ${application} containers`, engineCall, (o) => docker(o).listApplicationContainers({ nodeId: node.id, application }));
    // A rerun of this deployment may find its own containers: they are not "previous".
    const previous = existing.filter((c) => c.running && c.deploymentId !== request.deploymentId).map((c) => c.name);
    const specs = containerSpecs(request, node, image, previous);

    report('Configuring', `${specs.length} container(s), ${request.container.files.length} file(s), ${Object.keys(request.container.env).length} env var(s)`);
    report('Deploying', `pulling ${image}`);
    await step(`pull ${image}`, transfer, (o) => docker(o).pullImage({ nodeId: node.id, image }));
    for (const spec of specs) await step(`create ${spec.name}`, engineCall, (o) => docker(o).createContainer({ nodeId: node.id, spec }));
    if (previous.length > 0) {
      await step(`stop ${previous.join(', ')}`, engineCall, (o) => docker(o).stopContainers({ nodeId: node.id, names: previous }));
      report('Deploying', `stopped previous ${previous.join(', ')}`);
    }
    for (const spec of specs) await step(`start ${spec.name}`, engineCall, (o) => docker(o).startContainer({ nodeId: node.id, name: spec.name }));
    report('Deploying', `container started: ${specs.map((s) => s.name).join(', ')}`);

    const target = healthTarget(request, node, request.healthCheck);
    report('Verifying', `waiting for ${target.kind} health check (${policy.healthyAfter} in a row within ${policy.deadlineMs} ms)`);
    await Promise.all(
      specs.map((spec) => step(`verify ${describeTarget(target)}${specs.length > 1 ? ` (${spec.name})` : ''}`, healthWait(policy), (o) => health(o).waitHealthy({ nodeId: node.id, container: spec.name, target, policy }))),
    );
    report('Verifying', 'healthy');
    return { node: node.id, containers: specs.map((s) => s.name), replaced: previous };
  } finally {
    // Whatever happened, the parent hears all of it before this workflow closes.
    await reported;
  }
}
