// Deployment records on `deployer.records` (README "Deployment records"): what ran where,
// when, with which outcome and why, one record per deploymentId. The topic is compacted, so
// the latest record of each deployment is kept for as long as the topic lives, past
// Temporal's retention. Written by the workflow when a deployment ends; read by the CLI.
// Pure: imported by workflow code.
import { z } from 'zod';
import { applicationNameSchema, deploymentIdSchema, nodeIdSchema, versionSchema } from './request';

export const OPERATION_KINDS = ['Deploy', 'Rollback', 'Scale', 'Undeploy'] as const;
export const RECORD_STATUSES = ['Succeeded', 'RolledBack', 'Cancelled', 'Failed'] as const;
/** The workflows' NodeState (workflows/definitions.ts): the record builder only accepts these. */
export const RECORD_NODE_STATES = ['Pending', 'Deploying', 'Healthy', 'Removed', 'Failed', 'Skipped', 'RolledBack', 'RestoreFailed'] as const;

export type RecordStatus = (typeof RECORD_STATUSES)[number];

/** Reasons are clipped like event messages, so one failure's long output cannot make a record unwritable. */
const MAX_REASON = 4096;
const reasonSchema = z.string().max(MAX_REASON);

export const deploymentRecordSchema = z.strictObject({
  deploymentId: deploymentIdSchema,
  kind: z.enum(OPERATION_KINDS),
  application: applicationNameSchema,
  version: versionSchema.optional(),
  status: z.enum(RECORD_STATUSES),
  reason: reasonSchema.optional(),
  /** What the nodes pulled, as they named it (a built image by digest). */
  image: z.string().min(1).max(1024).optional(),
  nodes: z.record(nodeIdSchema, z.strictObject({ state: z.enum(RECORD_NODE_STATES), reason: reasonSchema.optional() })),
  startedAt: z.iso.datetime(),
  endedAt: z.iso.datetime(),
  /** The Temporal run that ended this way: a Retry is a new run, and its record replaces this one. */
  runId: z.string().min(1).max(256),
});

export type DeploymentRecord = z.infer<typeof deploymentRecordSchema>;

function clip(text: string): string {
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON - 3)}...` : text;
}

/** The record of a deployment that ended, with every reason clipped to what the schema accepts. */
export function deploymentRecord(r: DeploymentRecord): DeploymentRecord {
  return {
    ...r,
    ...(r.reason !== undefined ? { reason: clip(r.reason) } : {}),
    nodes: Object.fromEntries(
      Object.entries(r.nodes).map(([node, { state, reason }]) => [node, { state, ...(reason !== undefined ? { reason: clip(reason) } : {}) }]),
    ),
  };
}
