// The API's own wire formats, besides the contract's requests (src/core/schemas/request.ts)
// and deployment records (src/core/schemas/record.ts): path and query parameters, and the
// views it answers with. The OpenAPI document is generated from these.
import { z } from '@hono/zod-openapi';
import { LIST_STATUSES, parseSince, SINCE_HELP } from '../operations/filters';
import { FLEET_STATUSES } from '../core/schemas/node-record';
import { RECORD_STATUSES } from '../core/schemas/record';
import { applicationNameSchema, deploymentIdSchema } from '../core/schemas/request';

// The contract's schemas may be made before @hono/zod-openapi adds .openapi() to zod's types
// (import order): they get zod's own .describe(), which the document generator reads too.
export const idParams = z.object({ id: deploymentIdSchema.describe('The deploymentId') });
export const appParams = z.object({ app: applicationNameSchema.describe('The application') });

const since = z
  .string()
  .transform((text, ctx) => {
    const at = parseSince(text, new Date());
    if (at === undefined) ctx.addIssue({ code: 'custom', message: SINCE_HELP });
    return at ?? new Date();
  })
  .openapi({ type: 'string', pattern: '^(\\d{1,6}[smhdw]|\\d{4}-\\d{2}-\\d{2}(T.+)?)$', description: 'A duration back from now (30m, 12h, 7d) or an ISO 8601 date' });

/** The filters of `deployer list` and `deployer history`, as query parameters. */
function filtersOf(statuses: readonly [string, ...string[]]) {
  return z.object({
    app: applicationNameSchema.optional(),
    status: z.enum(statuses, { error: `must be one of ${statuses.join(', ')}` }).optional(),
    since: since.optional(),
    limit: z.coerce.number().int().min(1).max(10_000).default(50),
  });
}
export const listQuery = filtersOf(LIST_STATUSES);
export const recordsQuery = filtersOf(RECORD_STATUSES);

const checkSchema = z.record(z.string(), z.unknown());

export const deploymentViewSchema = z
  .object({
    deploymentId: z.string(),
    kind: z.string().optional(),
    application: z.string().optional(),
    version: z.string().optional(),
    status: z.string().describe('Running until the deployment ends; then its outcome'),
    phase: z.string().optional().describe('The current phase while it runs'),
    reason: z.string().optional(),
    image: z.string().optional(),
    nodes: z.record(
      z.string(),
      z.object({
        state: z.string(),
        message: z.string().optional(),
        checks: z.array(checkSchema).optional(),
        phase: z.string().optional().describe("While the node's workflow runs: the phase of the step it takes (Configuring, Deploying, Verifying)"),
      }),
    ),
    startedAt: z.string().optional(),
    endedAt: z.string().optional(),
    runId: z.string().optional(),
    source: z.enum(['temporal', 'record']).describe('Where the view comes from: Temporal, or the deployment record once Temporal has forgotten it'),
  })
  .openapi('Deployment');

export const deploymentRowSchema = z
  .object({
    deploymentId: z.string(),
    kind: z.string(),
    application: z.string().optional(),
    version: z.string().optional(),
    status: z.string().optional().describe("The Deployer's status (its last phase)"),
    execution: z.string().describe("Temporal's status of the workflow"),
    startedAt: z.string(),
    endedAt: z.string().optional(),
  })
  .openapi('DeploymentSummary');

/** What the fleet says of a node (docs/node-manager.md): the Node Manager's status, site and generation, or the inventory file's word alone. */
export const fleetFactsSchema = z
  .object({
    status: z.enum(FLEET_STATUSES).openapi({ description: 'Online: may receive deployments; Offline, Draining: no new step starts on it' }),
    source: z.enum(['file', 'topic']).openapi({ description: "file: the inventory file alone; topic: the Node Manager's record on its topic" }),
    site: z.string().optional(),
    generation: z.number().int().optional().openapi({ description: "The Node Manager's generation of the record applied (topic only)" }),
    observedAt: z.string().optional(),
    platform: z.string().optional(),
  })
  .openapi('NodeFleetFacts');

export const nodeViewSchema = z
  .object({ node: z.string(), address: z.string(), target: z.string(), fleet: fleetFactsSchema, status: z.record(z.string(), z.unknown()), instances: z.array(z.record(z.string(), z.unknown())) })
  .openapi('Node');
