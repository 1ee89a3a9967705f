// What is wrong with an input and where, in words a person can act on: the one translation of
// zod's issues and of paths that the bridge's request parsing and the TOSCA importer share.
// Pure: no Node-only imports.
import { type z } from 'zod';

export interface Issue {
  path: (string | number)[];
  message: string;
  /** Where the field is in the text it came from (1-based), when that text is YAML with positions (a TOSCA template). */
  line?: number;
  column?: number;
}

/** `nodes[1]`, `application.name`, `container.env.A-B`: the way a person names a field. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '');
}

/** The first issue as one line, its place first, and how many more there are. */
export function reasonOf(issues: readonly Issue[]): string {
  const first = issues[0]!;
  const where = formatPath(first.path);
  const at = first.line !== undefined ? `line ${first.line}, column ${first.column ?? 1}` : '';
  const place = where && at ? `${where} (${at})` : where || at;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return `${place ? `${place}: ` : ''}${first.message}${more}`;
}

export function toIssue(issue: z.core.$ZodIssue): Issue {
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
