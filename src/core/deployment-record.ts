// Building the record of a deployment that ended (the schema of src/core/schemas/record.ts
// validates it where it is written). Without zod: the workflows build records, and zod's
// schemas would be built anew in every workflow's sandbox, at a cost on every run.
// Pure: imported by workflow code.
import type { DeploymentRecord } from './schemas/record';

export const RECORD_STATUSES = ['Succeeded', 'RolledBack', 'Cancelled', 'Failed'] as const;
export type RecordStatus = (typeof RECORD_STATUSES)[number];

/** Reasons are clipped like event messages, so one failure's long output cannot make a record unwritable. */
export const MAX_REASON = 4096;

function clip(text: string): string {
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON - 3)}...` : text;
}

/** The record of a deployment that ended, with every reason clipped to what the schema accepts. */
export function deploymentRecord(r: DeploymentRecord): DeploymentRecord {
  return {
    ...r,
    ...(r.reason !== undefined ? { reason: clip(r.reason) } : {}),
    nodes: Object.fromEntries(
      Object.entries(r.nodes).map(([node, { state, reason, checks }]) => [
        node,
        { state, ...(reason !== undefined ? { reason: clip(reason) } : {}), ...(checks !== undefined ? { checks: checks.map((c) => ({ ...c, detail: clip(c.detail), elapsedMs: Math.max(0, Math.round(c.elapsedMs)) })) } : {}) },
      ]),
    ),
  };
}
