// What the Deployer's configuration admits of a request that is valid in itself: nodes the
// inventory knows, options and ports each node's policy allows, git sources under the
// configured prefixes. The bridge asks before it starts a workflow, the CLI before it sends
// or starts one, and every operation again at its first step (a workflow may be started in
// Temporal past the bridge). Pure.
import { statusOf } from './fleet';
import { gitSourceProblem, isGitSource } from './git-source';
import type { Issue } from './issues';
import { policyViolations } from './node-policy';
import type { Inventory } from './schemas/inventory';
import { deploymentIdSchema, type Request } from './schemas/request';

export interface Admission {
  /** The inventory as of now: which nodes exist, and what each allows a container to do. */
  inventory: Inventory;
  /** The URL prefixes a git source must start with (DEPLOYER_GIT_PREFIXES). */
  gitPrefixes: readonly string[];
}

/** Nodes the inventory does not know, else nodes not Online (an Undeploy may name a Draining one), else (for a Deploy) what a node's policy refuses. */
export function inventoryIssues(request: Request, inventory: Inventory): Issue[] {
  if (request.kind === 'Deploy' || request.kind === 'Scale' || (request.kind === 'Undeploy' && request.nodes)) {
    const known = new Set(inventory.nodes.map((n) => n.id));
    const unknown = (request.nodes ?? []).flatMap((id, i) => (known.has(id) ? [] : [{ path: ['nodes', i], message: `unknown node '${id}'` }]));
    if (unknown.length > 0) return unknown;
    // A new request never starts a step on a node the Node Manager reports Offline or Draining,
    // but for an Undeploy on a Draining node: it brings nothing new there, and emptying the node
    // is what draining is for. A Scale stays refused: it applies again on every node it names.
    const byId = new Map(inventory.nodes.map((n) => [n.id, n]));
    const unavailable = (request.nodes ?? []).flatMap((id, i) => {
      const status = statusOf(byId.get(id)!);
      const admitted = status === 'Online' || (status === 'Draining' && request.kind === 'Undeploy');
      return admitted ? [] : [{ path: ['nodes', i], message: `node '${id}' is ${status} (Node Manager): no new step starts on it` }];
    });
    if (unavailable.length > 0) return unavailable;
  }
  return request.kind === 'Deploy' ? policyViolations(request, inventory) : [];
}

/**
 * Everything the configuration says against a valid request. A directory context is checked
 * by the worker, where its symbolic links can be seen (activities/control/build-source.ts).
 */
export function configIssues(request: Request, admission: Admission): Issue[] {
  const context = request.kind === 'Deploy' ? request.application.source?.context : undefined;
  const problem = context !== undefined && isGitSource(context) ? gitSourceProblem(context, admission.gitPrefixes) : undefined;
  return [...inventoryIssues(request, admission.inventory), ...(problem !== undefined ? [{ path: ['application', 'source', 'context'], message: `the git source ${problem}` }] : [])];
}

/**
 * What a refused message or input names of itself, for its Rejected event: its deploymentId
 * when that is a valid one, its application's name (free text, cut) when it has one.
 */
export function subjectOf(raw: unknown): { deploymentId?: string; application?: string } {
  if (raw === null || typeof raw !== 'object') return {};
  const { deploymentId, application } = raw as { deploymentId?: unknown; application?: unknown };
  const name = typeof application === 'string' ? application : (application as { name?: unknown } | null)?.name;
  return {
    ...(deploymentIdSchema.safeParse(deploymentId).success ? { deploymentId: deploymentId as string } : {}),
    ...(typeof name === 'string' ? { application: name.slice(0, 256) } : {}),
  };
}
