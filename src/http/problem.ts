// Problem documents (RFC 9457): every error the API answers is one `application/problem+json`
// object, made here, so that a client reads every failure the same way. `errors` names each
// field that is wrong (its path as the CLI and the bridge's dead letters write it), all at
// once, so that a caller fixes a request in one round.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from '@hono/zod-openapi';
import { formatPath, type Issue } from '../core/issues';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export const problemSchema = z
  .object({
    type: z.string().describe('A URI naming the kind of problem; about:blank when the status says it all'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional().describe('Every field that is wrong, by its path'),
  })
  .openapi('Problem');

export type Problem = z.infer<typeof problemSchema>;

/** The titles of the statuses the API answers with, so that one status reads one way everywhere. */
const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The project's problem types; the others are about:blank (RFC 9457 section 4.2.1). */
export const PROBLEM_TYPES = {
  invalidRequest: 'urn:deployer:problem:invalid-request',
  unreachable: 'urn:deployer:problem:platform-unreachable',
} as const;

export function problemOf(status: ContentfulStatusCode, detail?: string, options: { errors?: readonly Issue[]; type?: string } = {}): Problem {
  return {
    type: options.type ?? 'about:blank',
    title: TITLES[status] ?? 'Error',
    status,
    ...(detail !== undefined ? { detail } : {}),
    ...(options.errors !== undefined ? { errors: options.errors.map((i) => ({ path: formatPath(i.path), message: i.message })) } : {}),
  };
}

/** Answers `c` with a problem document (typed, so that a route's declared problem responses check it). */
export function problem<S extends ContentfulStatusCode>(c: Context, status: S, detail?: string, options: { errors?: readonly Issue[]; type?: string; headers?: Record<string, string> } = {}) {
  return c.json(problemOf(status, detail, options), status, { 'content-type': PROBLEM_CONTENT_TYPE, ...options.headers });
}

/** The problem responses a route declares in the OpenAPI document. */
export function problemResponses<S extends ContentfulStatusCode>(...statuses: S[]) {
  type Declared = { description: string; content: { 'application/problem+json': { schema: typeof problemSchema } } };
  return Object.fromEntries(statuses.map((s) => [s, { description: TITLES[s] ?? 'Error', content: { [PROBLEM_CONTENT_TYPE]: { schema: problemSchema } } }])) as { [K in S]: Declared };
}
