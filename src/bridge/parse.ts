// Turning one Kafka message into valid requests, or into a rejection that says, in words a
// person can act on, what is wrong and where. A message is one request in the contract's
// JSON, or a TOSCA service template (a Deployer extension) that becomes one Deploy per
// application. Pure: no Kafka, no Temporal.
import { reasonOf, toIssue, type Issue } from '../core/issues';
import { configIssues, subjectOf } from '../core/admission';
import type { Inventory } from '../core/schemas/inventory';
import { requestSchema, type Request } from '../core/schemas/request';
import { importServiceTemplate, isServiceTemplate } from '../core/tosca/import';

export type Parsed =
  | { ok: true; requests: Request[] }
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
  /** The URL prefixes a git source must start with (DEPLOYER_GIT_PREFIXES). */
  gitPrefixes: readonly string[];
  maxBytes: number;
}

function reject(issues: Issue[], raw?: unknown): Parsed {
  return { ok: false, reason: reasonOf(issues), issues, ...subjectOf(raw) };
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
  // No Rejected event for a template: it names no single deployment, and none of its applications started.
  if (isServiceTemplate(text)) {
    const imported = importServiceTemplate(text, { check: (request) => configIssues(request, ctx) });
    return imported.ok ? imported : reject(imported.issues);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return reject([{ path: [], message: `the request is not valid JSON: ${(err as Error).message}` }]);
  }
  const parsed = requestSchema.safeParse(raw);
  if (!parsed.success) return reject(parsed.error.issues.map(toIssue), raw);
  const issues = configIssues(parsed.data, ctx);
  if (issues.length > 0) return reject(issues, raw);
  return { ok: true, requests: [parsed.data] };
}
