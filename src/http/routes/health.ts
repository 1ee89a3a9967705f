// Liveness and readiness for the orchestrator and the API Gateway: /healthz answers while the
// process serves; /readyz also reaches Temporal and Kafka, each within a short deadline, and
// names the ones it cannot reach, so that a gateway stops sending writes nobody would act on.
import { createRoute, z } from '@hono/zod-openapi';
import type { HttpDeps } from '../deps';
import { problem, problemResponses, PROBLEM_TYPES } from '../problem';
import { createRouter } from '../router';

const okSchema = z.object({ status: z.literal('ok') }).openapi('Health');

// Probes carry no token: an orchestrator asks them.
const healthz = createRoute({ method: 'get', path: '/healthz', tags: ['health'], summary: 'The process serves', security: [], responses: { 200: { description: 'Serving', content: { 'application/json': { schema: okSchema } } } } });
const readyz = createRoute({
  method: 'get',
  path: '/readyz',
  tags: ['health'],
  summary: 'Temporal and Kafka can be reached',
  security: [],
  responses: { 200: { description: 'Ready', content: { 'application/json': { schema: okSchema } } }, ...problemResponses(503) },
});

export function healthRoutes(deps: HttpDeps) {
  const app = createRouter();
  app.openapi(healthz, (c) => c.json({ status: 'ok' as const }, 200));
  app.openapi(readyz, async (c) => {
    const missing = await deps.unreachable();
    if (missing.length === 0) return c.json({ status: 'ok' as const }, 200);
    return problem(c, 503, missing.map((m) => m.reason).join('; '), { type: PROBLEM_TYPES.unreachable, errors: missing.map((m) => ({ path: [m.service], message: m.reason })) });
  });
  return app;
}
