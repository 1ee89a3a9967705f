// /v1/deployments and /v1/validate: send any request of the contract (or a TOSCA template),
// check one without sending it, list deployments, read one, and steer one (cancel, retry,
// decide), each as the CLI's command of the same name does it.
import { createRoute, z } from '@hono/zod-openapi';
import { DECISIONS } from '../../../workflows/definitions';
import { requestSchema } from '../../core/schemas/request';
import { isServiceTemplate } from '../../core/tosca/import';
import type { HttpDeps } from '../deps';
import { problem, problemResponses } from '../problem';
import { createRouter } from '../router';
import { deploymentRowSchema, deploymentViewSchema, idParams, listQuery } from '../schemas';
import { acceptedSchema, bodyText, check, invalid, locationOf, send, YAML_TYPES } from '../submit';

const requestBody = {
  required: true,
  description: 'A request in the contract\'s JSON (any kind), or a TOSCA service template (one Deploy per application)',
  content: {
    'application/json': { schema: requestSchema },
    ...Object.fromEntries(YAML_TYPES.map((t) => [t, { schema: z.string().openapi({ description: 'A TOSCA service template' }) }])),
  },
};

const located = z.object({ Location: z.string().describe('The deployment, at /v1/deployments/{deploymentId}') });
const WRITE_PROBLEMS = [400, 401, 403, 413, 415, 422, 503] as const;

const create = createRoute({
  method: 'post',
  path: '/v1/deployments',
  tags: ['deployments'],
  summary: 'Send a request (any kind) or a TOSCA template, as the Scheduler does',
  request: { body: requestBody },
  responses: {
    202: {
      description: 'Produced to the requests topic; a template gives one Deploy per application',
      headers: z.object({ Location: z.string().optional().describe('The deployment, at /v1/deployments/{deploymentId}; none for a template, which makes several') }),
      content: { 'application/json': { schema: z.union([acceptedSchema, z.array(acceptedSchema)]) } },
    },
    ...problemResponses(...WRITE_PROBLEMS, 404, 409),
  },
});

const validate = createRoute({
  method: 'post',
  path: '/v1/validate',
  tags: ['deployments'],
  summary: 'Check a request or a TOSCA template as the bridge would, sending nothing',
  request: { body: requestBody },
  responses: {
    200: { description: 'Valid: the requests it makes', content: { 'application/json': { schema: z.object({ valid: z.literal(true), requests: z.array(requestSchema) }) } } },
    ...problemResponses(...WRITE_PROBLEMS),
  },
});

const list = createRoute({
  method: 'get',
  path: '/v1/deployments',
  tags: ['deployments'],
  summary: 'Running and recent deployments, newest first (deployer list)',
  request: { query: listQuery },
  responses: { 200: { description: 'Deployments', content: { 'application/json': { schema: z.array(deploymentRowSchema) } } }, ...problemResponses(401, 422, 503) },
});

const get = createRoute({
  method: 'get',
  path: '/v1/deployments/{id}',
  tags: ['deployments'],
  summary: 'Where a deployment stands, per node (deployer status)',
  request: { params: idParams },
  responses: { 200: { description: 'The deployment', content: { 'application/json': { schema: deploymentViewSchema } } }, ...problemResponses(401, 404, 422, 503) },
});

const control = (kind: 'Cancel' | 'Retry') =>
  createRoute({
    method: 'post',
    path: `/v1/deployments/{id}/${kind.toLowerCase()}`,
    tags: ['deployments'],
    summary: kind === 'Cancel' ? 'Cancel a running deployment (a Cancel request)' : 'Retry a failed, cancelled or rolled-back deployment (a Retry request)',
    request: { params: idParams },
    responses: { 202: { description: 'Produced to the requests topic', headers: located, content: { 'application/json': { schema: acceptedSchema } } }, ...problemResponses(401, 403, 404, 409, 422, 503) },
  });

const decide = createRoute({
  method: 'post',
  path: '/v1/deployments/{id}/decide',
  tags: ['deployments'],
  summary: 'Decide for a paused deployment: retry, skip or rollback (deployer decide)',
  request: { params: idParams, body: { required: true, content: { 'application/json': { schema: z.strictObject({ decision: z.enum(DECISIONS) }) } } } },
  responses: {
    200: { description: 'Accepted by the workflow', content: { 'application/json': { schema: z.object({ deploymentId: z.string(), accepted: z.enum(DECISIONS), failedNodes: z.array(z.string()) }) } } },
    ...problemResponses(400, 401, 403, 404, 409, 413, 415, 422, 503),
  },
});

export function deploymentRoutes(deps: HttpDeps) {
  const app = createRouter();
  // The body is read by the bridge's own parser, not by the route's schema: one 422 then
  // lists the schema's issues and the inventory's together, as a dead letter would.
  app.openAPIRegistry.registerPath(create);
  app.post(create.path, async (c) => {
    const text = await bodyText(c);
    if (typeof text !== 'string') return text;
    const parsed = check(deps, text);
    if (!parsed.ok) return invalid(c, parsed);
    const sent = await send(deps, parsed.requests);
    if ('refused' in sent) return sent.refused.unknown ? problem(c, 404, sent.refused.message) : problem(c, 409, sent.refused.message);
    if (isServiceTemplate(text)) return c.json(sent.accepted, 202);
    return c.json(sent.accepted[0]!, 202, { Location: locationOf(sent.accepted[0]!) });
  });
  app.openAPIRegistry.registerPath(validate);
  app.post(validate.path, async (c) => {
    const text = await bodyText(c);
    if (typeof text !== 'string') return text;
    const parsed = check(deps, text);
    if (!parsed.ok) return invalid(c, parsed);
    return c.json({ valid: true as const, requests: parsed.requests }, 200);
  });
  app.openapi(list, async (c) => c.json(await deps.list(c.req.valid('query'), c.req.valid('query').limit), 200));
  app.openapi(get, async (c) => {
    const { id } = c.req.valid('param');
    const view = (await deps.describe(id)) ?? (await deps.record(id));
    if (view === undefined) return problem(c, 404, `no deployment '${id}': neither Temporal nor the records know it`);
    return c.json(view, 200);
  });
  for (const kind of ['Cancel', 'Retry'] as const) {
    app.openapi(control(kind), async (c) => {
      const sent = await send(deps, [{ kind, deploymentId: c.req.valid('param').id }]);
      if ('refused' in sent) return sent.refused.unknown ? problem(c, 404, sent.refused.message) : problem(c, 409, sent.refused.message);
      return c.json(sent.accepted[0]!, 202, { Location: locationOf(sent.accepted[0]!) });
    });
  }
  app.openapi(decide, async (c) => {
    const { id } = c.req.valid('param');
    const answer = await deps.decide(id, c.req.valid('json').decision);
    if (!answer.ok) return problem(c, answer.unknown ? 404 : 409, answer.message);
    return c.json({ deploymentId: id, accepted: answer.accepted, failedNodes: answer.failedNodes }, 200);
  });
  return app;
}
