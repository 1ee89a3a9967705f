// The filters of `list` and `history`, as a Temporal visibility query and as a predicate on
// records. Pure. Values reach the query only after validation (application names, statuses),
// and quotes are dropped from the one free-text value, the task queue.
import { OPERATION_WORKFLOWS } from '../core/operation-kinds';
import type { DeploymentRecord } from '../core/schemas/record';
import { SEARCH_ATTRIBUTES } from '../core/search-attributes';

export interface Filters {
  app?: string;
  status?: string;
  since?: Date;
}

const quoted = (s: string) => `"${s.replace(/["\\]/g, '')}"`;

/** Deployments of this Deployer (its task queue), newest first as visibility returns them. */
export function visibilityQuery(filters: Filters, taskQueue: string): string {
  const parts = [`WorkflowType IN (${OPERATION_WORKFLOWS.map(quoted).join(', ')})`, `TaskQueue = ${quoted(taskQueue)}`];
  if (filters.app !== undefined) parts.push(`${SEARCH_ATTRIBUTES.application.name} = ${quoted(filters.app)}`);
  // Running is Temporal's own status; every other one is the Deployer's phase.
  if (filters.status === 'Running') parts.push('ExecutionStatus = "Running"');
  else if (filters.status !== undefined) parts.push(`${SEARCH_ATTRIBUTES.status.name} = ${quoted(filters.status)}`);
  if (filters.since !== undefined) parts.push(`StartTime >= ${quoted(filters.since.toISOString())}`);
  return parts.join(' AND ');
}

export function recordMatches(filters: Filters): (r: DeploymentRecord) => boolean {
  return (r) =>
    (filters.app === undefined || r.application === filters.app) &&
    (filters.status === undefined || r.status === filters.status) &&
    (filters.since === undefined || Date.parse(r.startedAt) >= filters.since.getTime());
}
