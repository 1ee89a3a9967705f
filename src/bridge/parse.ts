// Turning one Kafka message into a valid request, or into a rejection that says, in words a
// person can act on, what is wrong and where. Pure: no Kafka, no Temporal.
import { type z } from 'zod';
import { policyViolations } from '../core/node-policy';
import type { Inventory } from '../core/schemas/inventory';
import { deploymentIdSchema, requestSchema, type Request } from '../core/schemas/request';

export interface Issue {
  path: (string | number)[];
  message: string;
}

export type Parsed =
  | { ok: true; request: Request }
  | {
      ok: false;
      reason: string;
      issues: Issue[];
      /** Present when the message carried a readable deploymentId: a Rejected event goes out for it. */
      deploymentId?: string;
      application?: string;
    };

export interface ParseContext {
  /** The inventory as of this message: which nodes exist, and what each allows a container to do. */
  inventory: Inventory;
  maxBytes: number;
}

/** `nodes[1]`, `application.name`, `container.env.A-B`: the way a person names a field. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '');
}

function reject(issues: Issue[], raw?: unknown): Parsed {
  const first = issues[0]!;
  const where = formatPath(first.path);
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  const out: Parsed = { ok: false, reason: `${where ? `${where}: ` : ''}${first.message}${more}`, issues };
  if (raw !== null && typeof raw === 'object') {
    const { deploymentId, application } = raw as { deploymentId?: unknown; application?: unknown };
    if (deploymentIdSchema.safeParse(deploymentId).success) out.deploymentId = deploymentId as string;
    const name = typeof application === 'string' ? application : (application as { name?: unknown } | null)?.name;
    if (typeof name === 'string') out.application = name.slice(0, 256);
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseRequest(value: Buffer | null, ctx: ParseContext): Parsed {
  if (value === null || value.length === 0) return reject([{ path: [], message: 'the message has no value; a request is a JSON object' }]);
  if (value.length > ctx.maxBytes) {
    return reject([{ path: [], message: `the request is ${value.length} bytes; the limit is ${ctx.maxBytes} bytes` }]);
  }
  let text: string;
  try {
    text = utf8.decode(value);
  } catch {
    return reject([{ path: [], message: 'the request is not valid UTF-8 text' }]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return reject([{ path: [], message: `the request is not valid JSON: ${(err as Error).message}` }]);
  }
  const parsed = requestSchema.safeParse(raw);
  if (!parsed.success) return reject(parsed.error.issues.map(toIssue), raw);
  const request = parsed.data;
  if (request.kind === 'Deploy' || request.kind === 'Scale' || (request.kind === 'Undeploy' && request.nodes)) {
    const known = new Set(ctx.inventory.nodes.map((n) => n.id));
    const unknown = (request.nodes ?? []).flatMap((id, i) => (known.has(id) ? [] : [{ path: ['nodes', i], message: `unknown node '${id}'` }]));
    if (unknown.length > 0) return reject(unknown, raw);
  }
  if (request.kind === 'Deploy') {
    const violations = policyViolations(request, ctx.inventory);
    if (violations.length > 0) return reject(violations, raw);
  }
  return { ok: true, request };
}

function toIssue(issue: z.core.$ZodIssue): Issue {
  const path = issue.path.map((k) => (typeof k === 'symbol' ? String(k) : k));
  if (issue.code === 'unrecognized_keys') {
    return { path, message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}: not part of the contract` };
  }
  // A key of a record (an env name, a platform) that its schema refuses: say why, not "Invalid key in record".
  if (issue.code === 'invalid_key') {
    return { path, message: `key "${String(path.at(-1))}" ${issue.issues[0]?.message ?? 'is not allowed'}` };
  }
  if (issue.code === 'invalid_union' && path.length === 1 && path[0] === 'kind') {
    return { path, message: 'must be one of Deploy, Cancel, Retry, Rollback, Scale, Undeploy' };
  }
  return { path, message: issue.message };
}
