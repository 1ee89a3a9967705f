// Deployment records on `deployer.records` (README "Deployment records"): what ran where,
// when, with which outcome and why, one record per deploymentId. The topic is compacted, so
// the latest record of each deployment is kept for as long as the topic lives, past
// Temporal's retention. Written by the workflow when a deployment ends (built by
// src/core/deployment-record.ts, which workflow code imports: zod stays out of the workflows);
// validated by the activity that writes it; read by the CLI.
import { z } from 'zod';
import { MAX_REASON, RECORD_STATUSES } from '../deployment-record';
import { CHECK_KINDS } from '../deployment-tests';
import { NODE_STATES } from '../node-states';
import { OPERATION_KINDS } from '../operation-kinds';
import { applicationNameSchema, deploymentIdSchema, nodeIdSchema, versionSchema } from './request';

export { RECORD_STATUSES, type RecordStatus } from '../deployment-record';

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
  nodes: z.record(
    nodeIdSchema,
    z.strictObject({
      state: z.enum(NODE_STATES),
      reason: reasonSchema.optional(),
      /** The node's configuration check (`kind` "config") and deployment tests, as they went. */
      checks: z
        .array(
          z.strictObject({
            name: z.string().min(1).max(63),
            kind: z.enum(CHECK_KINDS),
            passed: z.boolean(),
            detail: reasonSchema,
            elapsedMs: z.number().int().min(0),
          }),
        )
        .max(64)
        .optional(),
    }),
  ),
  startedAt: z.iso.datetime(),
  endedAt: z.iso.datetime(),
  /** The Temporal run that ended this way: a Retry is a new run, and its record replaces this one. */
  runId: z.string().min(1).max(256),
});

export type DeploymentRecord = z.infer<typeof deploymentRecordSchema>;
