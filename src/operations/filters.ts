// The filters of `list` and `history` (the CLI's options, the API's query parameters), as a
// Temporal visibility query and as a predicate on records. Pure. Values reach the query only after validation (application names, statuses),
// and quotes are dropped from the one free-text value, the task queue.
import { z } from 'zod';
import { OPERATION_WORKFLOWS } from '../core/operation-kinds';
import { PHASES } from '../core/schemas/event';
import type { DeploymentRecord } from '../core/schemas/record';
import { SEARCH_ATTRIBUTES } from '../core/search-attributes';

export interface Filters {
  app?: string;
  status?: string;
  since?: Date;
}

/** What `status` may be in `list`: Temporal's Running, or a phase the Deployer records (a Rejected request starts no workflow). */
export const LIST_STATUSES = ['Running', ...PHASES.filter((p) => p !== 'Rejected')] as const;

const UNITS_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
export const SINCE_HELP = 'must be a duration such as 30m, 12h or 7d, or an ISO 8601 date such as 2026-11-23 or 2026-11-23T17:40:00Z';

/**
 * The moment `text` names: a duration back from `now`, or an ISO 8601 date or date-time.
 * Not before the year 0: a duration as long as 999999d reaches back further, and Temporal's
 * visibility query cannot read the expanded year (-000713-...) such a moment is written with.
 */
export function parseSince(text: string, now: Date): Date | undefined {
  const duration = /^(\d{1,6})([smhdw])$/.exec(text);
  let at: Date;
  if (duration) {
    at = new Date(now.getTime() - Number(duration[1]) * UNITS_MS[duration[2] as keyof typeof UNITS_MS]);
  } else {
    if (!z.iso.date().safeParse(text).success && !z.iso.datetime({ offset: true, local: true }).safeParse(text).success) return undefined;
    at = new Date(text);
  }
  return Number.isNaN(at.getTime()) || at.getUTCFullYear() < 0 ? undefined : at;
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
