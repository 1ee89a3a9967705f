// /v1/nodes: the inventory's nodes and what the Deployer runs on each, as `deployer nodes`
// shows them (asked through the workers: only the worker of a node's site reaches it).
import { createRoute, z } from '@hono/zod-openapi';
import type { HttpDeps } from '../deps';
import { problemResponses } from '../problem';
import { createRouter } from '../router';
import { nodeViewSchema } from '../schemas';

const nodes = createRoute({
  method: 'get',
  path: '/v1/nodes',
  tags: ['nodes'],
  summary: 'The nodes and their instances (deployer nodes)',
  responses: { 200: { description: 'Every node of the inventory; one that does not answer is listed as unreachable', content: { 'application/json': { schema: z.array(nodeViewSchema) } } }, ...problemResponses(401, 503) },
});

export function nodeRoutes(deps: HttpDeps) {
  const app = createRouter();
  app.openapi(nodes, async (c) => c.json(await deps.nodes(), 200));
  return app;
}
