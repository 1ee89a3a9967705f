// /v1/applications/{app}/rollback|scale|undeploy: the contract's request built from a small
// body (as `deployer rollback|scale|undeploy` builds it from options), then sent the way of
// POST /v1/deployments: the bridge's checks, then the requests topic keyed by application.
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { rollbackRequestSchema, scaleRequestSchema, undeployRequestSchema } from '../../core/schemas/request';
import { operationId } from '../../operations/control';
import type { HttpDeps } from '../deps';
import { problemResponses } from '../problem';
import { createRouter } from '../router';
import { appParams } from '../schemas';
import { acceptedSchema, check, invalid, locationOf, send } from '../submit';

// The contract's requests without what the path says (kind, application); a deploymentId is made when none is given.
const pathSays = { kind: true, application: true } as const;
const bodies = {
  rollback: rollbackRequestSchema.omit(pathSays).partial({ deploymentId: true }),
  scale: scaleRequestSchema.omit(pathSays).partial({ deploymentId: true }),
  undeploy: undeployRequestSchema.omit(pathSays).partial({ deploymentId: true }),
};
type Verb = keyof typeof bodies;

const SUMMARIES: Record<Verb, string> = {
  rollback: 'Roll the application back (a Rollback request)',
  scale: 'Run the application on these nodes, so many replicas each (a Scale request)',
  undeploy: 'Remove the application from some nodes or all (an Undeploy request)',
};

const route = <V extends Verb>(verb: V) =>
  createRoute({
    method: 'post',
    path: `/v1/applications/{app}/${verb}`,
    tags: ['applications'],
    summary: SUMMARIES[verb],
    // Every field of a rollback's or an undeploy's body has a default: the body may be left out.
    request: { params: appParams, body: { required: verb === 'scale', content: { 'application/json': { schema: bodies[verb] } } } },
    responses: {
      202: { description: 'Produced to the requests topic', headers: z.object({ Location: z.string().describe('The deployment, at /v1/deployments/{deploymentId}') }), content: { 'application/json': { schema: acceptedSchema } } },
      ...problemResponses(400, 401, 403, 413, 415, 422, 503),
    },
  });

export function applicationRoutes(deps: HttpDeps) {
  const app = createRouter();
  /** The request built from the path and the body, checked by the bridge's parser and sent. */
  async function submit(c: Context, request: Record<string, unknown>) {
    const parsed = check(deps, JSON.stringify(request));
    if (!parsed.ok) return invalid(c, parsed);
    const sent = await send(deps, parsed.requests);
    // Only a Cancel or Retry can be refused, and none is built here.
    if ('refused' in sent) throw new Error(sent.refused.message);
    return c.json(sent.accepted[0]!, 202, { Location: locationOf(sent.accepted[0]!) });
  }
  app.openapi(route('rollback'), async (c) => {
    const { app: application } = c.req.valid('param');
    const body = (c.req.valid('json') as z.output<typeof bodies.rollback> | undefined) ?? {};
    return submit(c, { kind: 'Rollback', deploymentId: body.deploymentId ?? operationId(application, 'rollback', new Date()), application, ...(body.toVersion !== undefined ? { toVersion: body.toVersion } : {}) });
  });
  app.openapi(route('scale'), async (c) => {
    const { app: application } = c.req.valid('param');
    const body = c.req.valid('json');
    return submit(c, {
      kind: 'Scale',
      deploymentId: body.deploymentId ?? operationId(application, 'scale', new Date()),
      application,
      nodes: body.nodes,
      replicasPerNode: body.replicasPerNode,
    });
  });
  app.openapi(route('undeploy'), async (c) => {
    const { app: application } = c.req.valid('param');
    const body = (c.req.valid('json') as z.output<typeof bodies.undeploy> | undefined) ?? {};
    return submit(c, { kind: 'Undeploy', deploymentId: body.deploymentId ?? operationId(application, 'undeploy', new Date()), application, ...(body.nodes !== undefined ? { nodes: body.nodes } : {}) });
  });
  return app;
}
