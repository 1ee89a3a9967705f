// One node of a deployment, as a child workflow: its history stays small whatever the
// number of nodes, and its activities go to the node's own task queue, where a worker at
// the node's site can serve them. Boot is short and explicit: remember what runs, pull,
// create (with files), stop the old, start the new, verify. Undo is the parent's business:
// it registered `restoreNode` for this node before starting this workflow.
import { getExternalWorkflowHandle, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { DockerActivities } from '../activities/docker';
import type { HealthActivities } from '../activities/health';
import { containerSpecs, healthPolicy, healthTarget } from '../src/container-spec';
import type { PlannedNode } from '../src/plan';
import type { Phase } from '../src/schemas/event';
import type { DeployRequest } from '../src/schemas/request';
import { nodeProgressSignal } from './definitions';
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
  const onNode = { taskQueue: node.taskQueue };
  const engine = proxyActivities<DockerActivities>({ ...engineCall, ...onNode });
  const { pullImage } = proxyActivities<DockerActivities>({ ...transfer, ...onNode });
  const policy = healthPolicy(request.healthCheck);
  const { waitHealthy } = proxyActivities<HealthActivities>({ ...healthWait(policy), ...onNode });
  const application = request.application.name;

  try {
    const existing = await engine.listApplicationContainers({ nodeId: node.id, application });
    // A rerun of this deployment may find its own containers: they are not "previous".
    const previous = existing.filter((c) => c.running && c.deploymentId !== request.deploymentId).map((c) => c.name);
    const specs = containerSpecs(request, node, image, previous);

    report('Configuring', `${specs.length} container(s), ${request.container.files.length} file(s), ${Object.keys(request.container.env).length} env var(s)`);
    report('Deploying', `pulling ${image}`);
    await pullImage({ nodeId: node.id, image });
    for (const spec of specs) await engine.createContainer({ nodeId: node.id, spec });
    if (previous.length > 0) {
      await engine.stopContainers({ nodeId: node.id, names: previous });
      report('Deploying', `stopped previous ${previous.join(', ')}`);
    }
    for (const spec of specs) await engine.startContainer({ nodeId: node.id, name: spec.name });
    report('Deploying', `container started: ${specs.map((s) => s.name).join(', ')}`);

    const target = healthTarget(request, node, request.healthCheck);
    report('Verifying', `waiting for ${target.kind} health check (${policy.healthyAfter} in a row within ${policy.deadlineMs} ms)`);
    await Promise.all(specs.map((spec) => waitHealthy({ nodeId: node.id, container: spec.name, target, policy })));
    report('Verifying', 'healthy');
    return { node: node.id, containers: specs.map((s) => s.name), replaced: previous };
  } finally {
    // Whatever happened, the parent hears all of it before this workflow closes.
    await reported;
  }
}
