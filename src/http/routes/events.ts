// /v1/deployments/{id}/events: a deployment's status events as Server-Sent Events (the HTML
// standard's event stream), each with its seq as the event id, until its terminal event. A
// client that lost the stream reconnects with Last-Event-ID and gets only what it missed.
import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import type { HttpDeps } from '../deps';
import { problemOf, problemResponses } from '../problem';
import { createRouter } from '../router';
import { idParams } from '../schemas';

/** A comment line this often keeps proxies from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;

const lastEventId = z.object({
  'last-event-id': z.string().regex(/^\d{1,15}$/, 'must be the seq of an event this stream sent').optional().describe('Resume after this event'),
});

const events = createRoute({
  method: 'get',
  path: '/v1/deployments/{id}/events',
  tags: ['deployments'],
  summary: "The deployment's status events, live, until its terminal one (Server-Sent Events)",
  request: { params: idParams, headers: lastEventId },
  responses: {
    200: { description: 'event: status, id: the seq, data: a status event (contracts: deployer.events)', content: { 'text/event-stream': { schema: z.string() } } },
    ...problemResponses(401, 422, 503),
  },
});

export function eventRoutes(deps: HttpDeps) {
  const app = createRouter();
  app.openapi(events, (c) => {
    const { id } = c.req.valid('param');
    const after = Number(c.req.valid('header')['last-event-id'] ?? 0);
    return streamSSE(
      c,
      async (stream) => {
        const aborted = new AbortController();
        stream.onAbort(() => aborted.abort());
        const keepalive = setInterval(() => void stream.write(': keep-alive\n\n').catch(() => aborted.abort()), KEEPALIVE_MS);
        try {
          await deps.events(id, after, (event) => stream.writeSSE({ event: 'status', id: String(event.seq), data: JSON.stringify(event) }), aborted.signal);
        } finally {
          clearInterval(keepalive);
        }
      },
      // Headers are sent by now: the stream can only end, with a last event saying why.
      async (err, stream) => {
        await stream.writeSSE({ event: 'error', data: JSON.stringify(problemOf(503, `the event stream ended: ${err.message}`)) });
      },
    );
  });
  return app;
}
