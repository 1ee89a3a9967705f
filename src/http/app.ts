// The HTTP API for the platform's API Gateway (docs/http-api.md), as one Hono app made from
// its dependencies: no I/O here, so that a unit test runs it with fakes through app.request.
// Every failure is a problem document (./problem.ts); /openapi.json is generated from the
// same zod schemas that check the requests.
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from '../log';
import { requireToken } from './auth';
import type { HttpDeps } from './deps';
import { problem, PROBLEM_TYPES } from './problem';
import { applicationRoutes } from './routes/applications';
import { deploymentRoutes } from './routes/deployments';
import { eventRoutes } from './routes/events';
import { healthRoutes } from './routes/health';
import { nodeRoutes } from './routes/nodes';
import { recordRoutes } from './routes/records';
import type { ApiEnv } from './router';

/** The largest body the API reads: a request or a template is kilobytes; a mebibyte is the bridge's own default limit. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** An error of a client of Temporal or Kafka that says the service is out of reach, not that the request was wrong. */
function unreachable(err: unknown): boolean {
  const e = err as { name?: string; code?: number };
  // gRPC UNAVAILABLE (14) and DEADLINE_EXCEEDED (4); every KafkaJS error is the broker's or the connection's.
  // FleetNotReadyError: the Node Manager's topic not read to its end yet (src/fleet.ts).
  return e.name?.startsWith('KafkaJS') === true || e.name === 'ServiceError' || e.name === 'FleetNotReadyError' || e.code === 14 || e.code === 4;
}

/** A route's path (`/v1/deployments/:id`) as a pattern of the paths it serves. */
const patternOf = (path: string) => new RegExp(`^${path.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z]+/g, '[^/]+')}$`);

export function createApp(deps: HttpDeps, log?: Logger): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>();
  app.use('/v1/*', requireToken(deps.tokens));
  app.use('/v1/*', bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => problem(c, 413, `the body is larger than ${MAX_BODY_BYTES} bytes`) }));
  app.route('/', healthRoutes(deps));
  app.route('/', deploymentRoutes(deps));
  app.route('/', eventRoutes(deps));
  app.route('/', applicationRoutes(deps));
  app.route('/', recordRoutes(deps));
  app.route('/', nodeRoutes(deps));
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'A token with the role viewer (reads) or operator (everything)' });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'Deployer API', version: '1', description: 'Deployments of applications onto the fog nodes; requests go the way of the Scheduler\'s (docs/http-api.md).' },
    security: [{ bearer: [] }],
  });
  app.notFound((c) => {
    // A path the API has, asked with a method it does not take, is 405 with the methods it does take (RFC 9110 section 15.5.6).
    const allowed = [...new Set(app.routes.filter((r) => r.method !== 'ALL' && patternOf(r.path).test(c.req.path)).map((r) => r.method))];
    if (allowed.length > 0) return problem(c, 405, `${c.req.path} takes ${allowed.join(', ')}, not ${c.req.method}`, { headers: { allow: allowed.join(', ') } });
    return problem(c, 404, `no route ${c.req.method} ${c.req.path}`);
  });
  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      // Hono's own refusals: a body that is not JSON (400), a content type a route does not take (415).
      const status = err.status as ContentfulStatusCode;
      return problem(c, status, status === 400 ? `the body is not valid JSON: ${err.message}` : status === 415 ? `this route takes application/json, not ${c.req.header('content-type') ?? 'a body without a content type'}` : err.message);
    }
    if (unreachable(err)) {
      log?.warn('platform unreachable', { method: c.req.method, path: c.req.path, error: (err as Error).message });
      return problem(c, 503, `the Deployer cannot reach Temporal or Kafka now: ${(err as Error).message}`, { type: PROBLEM_TYPES.unreachable });
    }
    log?.error('request failed', { method: c.req.method, path: c.req.path, error: (err as Error).message, stack: (err as Error).stack });
    return problem(c, 500, 'the request failed inside the Deployer; its log says why');
  });
  return app;
}
