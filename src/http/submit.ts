// A request made over HTTP goes the Scheduler's way: checked by the bridge's own parser
// (schema, inventory, node policy, git prefixes, size), then produced to the requests topic
// keyed by application, so that it keeps its place among the application's other requests
// and the bridge stays the one place that starts workflows (docs/http-api.md).
import { parse as parseYaml } from 'yaml';
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { parseRequest, type Parsed } from '../bridge/parse';
import { applicationOf } from '../core/operation-kinds';
import type { Request } from '../core/schemas/request';
import { isServiceTemplate } from '../core/tosca/import';
import { checkControl } from '../operations/control';
import { traceArrival } from '../tracing';
import type { HttpDeps } from './deps';
import { problem, PROBLEM_TYPES } from './problem';

export const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'] as const;

export const acceptedSchema = z
  .object({ kind: z.string(), deploymentId: z.string(), application: z.string() })
  .openapi('Accepted', { description: 'A request produced to the requests topic; the bridge starts it' });

const mediaType = (c: Context) => (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The body as the text the bridge would read: JSON as it came, a TOSCA template as it came,
 * a request in YAML as JSON. A problem (400, 415) when it is none of these.
 */
export async function bodyText(c: Context) {
  const type = mediaType(c);
  if (type !== 'application/json' && !(YAML_TYPES as readonly string[]).includes(type)) {
    return problem(c, 415, `a request is application/json, or a TOSCA service template as application/yaml; not ${type || 'a body without a content type'}`);
  }
  let text: string;
  try {
    // Bytes that are not UTF-8 are refused, as the bridge refuses them, not replaced.
    text = utf8.decode(await c.req.arrayBuffer());
  } catch {
    return problem(c, 400, 'the body is not valid UTF-8 text');
  }
  if (type === 'application/json') {
    try {
      JSON.parse(text);
    } catch (err) {
      return problem(c, 400, `the body is not valid JSON: ${(err as Error).message}`);
    }
    return text;
  }
  if (isServiceTemplate(text)) return text;
  try {
    return JSON.stringify(parseYaml(text));
  } catch (err) {
    return problem(c, 400, `the body is not valid YAML: ${(err as Error).message}`);
  }
}

export function check(deps: HttpDeps, text: string): Parsed {
  return parseRequest(Buffer.from(text, 'utf8'), deps.parseContext());
}

export const invalid = (c: Context, parsed: Extract<Parsed, { ok: false }>) => problem(c, 422, parsed.reason, { errors: parsed.issues, type: PROBLEM_TYPES.invalidRequest });

export type Accepted = z.infer<typeof acceptedSchema>;

/**
 * Produces checked requests in order, each keyed by its application. A Cancel or Retry is
 * first checked against Temporal as the CLI checks it and keyed like it: `refused` then says
 * why nothing was sent (`unknown`: Temporal does not know the deployment).
 */
export async function send(deps: HttpDeps, requests: readonly Request[]): Promise<{ accepted: Accepted[] } | { refused: { unknown: boolean; message: string } }> {
  const keyed: { key: string; request: Request }[] = [];
  for (const request of requests) {
    if (request.kind === 'Cancel' || request.kind === 'Retry') {
      const checked = await checkControl((id) => deps.describe(id), request.kind, request.deploymentId);
      if (!checked.ok) return { refused: checked };
      keyed.push({ key: checked.key, request });
    } else {
      keyed.push({ key: applicationOf(request), request });
    }
  }
  // Each request the root of its deployment's trace, which the bridge continues from the message's headers.
  for (const { key, request } of keyed) await traceArrival('http', request, () => deps.send(key, request));
  return { accepted: keyed.map(({ key, request }) => ({ kind: request.kind, deploymentId: request.deploymentId, application: key })) };
}

/** Where an accepted request's deployment is read. */
export const locationOf = (accepted: Accepted) => `/v1/deployments/${encodeURIComponent(accepted.deploymentId)}`;
