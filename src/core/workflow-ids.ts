// Workflow ids, in one place: what the bridge starts, what the workflows start as children
// and what logs and metrics take a deploymentId from.
// Pure: imported by workflow code.

/** The lock workflow of an application: one deployment of it at a time. */
export const lockWorkflowId = (application: string) => `lock/${application}`;

/** A node's rollout, as a child of its deployment; a node retried after a pause gets `/retry-N`. */
export const nodeWorkflowId = (deploymentId: string, node: string, attempt = 0) =>
  attempt === 0 ? `${deploymentId}/${node}` : `${deploymentId}/${node}/retry-${attempt}`;

/** The compensation of a deployment run that was terminated (issued by its application's lock). */
export const compensationWorkflowId = (deploymentId: string, runId: string) => `${deploymentId}/compensation/${runId}`;

/**
 * The deployment a workflow belongs to: an operation's workflow id is its deploymentId, its
 * children's ids begin with it. Lock workflows (`lock/<application>`) belong to none.
 */
export function deploymentIdOf(workflowId: string): string | undefined {
  if (workflowId.startsWith('lock/')) return undefined;
  return workflowId.split('/')[0];
}
