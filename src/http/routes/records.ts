// /v1/records: the deployment records, kept on the compacted records topic past Temporal's
// retention, as `deployer history` reads them.
import { createRoute, z } from '@hono/zod-openapi';
import { deploymentRecordSchema } from '../../core/schemas/record';
import type { HttpDeps } from '../deps';
import { problemResponses } from '../problem';
import { createRouter } from '../router';
import { recordsQuery } from '../schemas';

const records = createRoute({
  method: 'get',
  path: '/v1/records',
  tags: ['records'],
  summary: 'Deployment records, newest first (deployer history)',
  request: { query: recordsQuery },
  responses: { 200: { description: 'Records', content: { 'application/json': { schema: z.array(deploymentRecordSchema) } } }, ...problemResponses(401, 422, 503) },
});

export function recordRoutes(deps: HttpDeps) {
  const app = createRouter();
  app.openapi(records, async (c) => c.json(await deps.records(c.req.valid('query'), c.req.valid('query').limit), 200));
  return app;
}
