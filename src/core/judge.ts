// Judging what a test saw against what it expects. Apart from the rest of the tests' core
// (src/core/deployment-tests.ts) because it matches patterns with RE2, which the workflow
// bundle must not carry: workflows only name tests and report their results.
import { quote, tail, type HttpAnswer, type HttpTest, type RunOutput, type TextMatch } from './deployment-tests';
import { matchesPattern } from './text-match';

export function matches(text: string, m: TextMatch): boolean {
  return typeof m === 'string' ? text.includes(m) : matchesPattern(text, m.matches);
}

/** What hides secrets in what is quoted: `redact` with the deployment's values. */
export type Hide = (text: string) => string;
const shown: Hide = (text) => text;

/**
 * Undefined when the answer meets the http test's expectation, else what differs. Header
 * names are matched regardless of case. What is quoted is hidden first, then cut and quoted.
 */
export function judgeHttp(t: HttpTest, answer: HttpAnswer, hide: Hide = shown): string | undefined {
  const problems: string[] = [];
  if (answer.status !== t.expect.status) problems.push(`status ${answer.status}`);
  if (t.expect.body !== undefined && !matches(answer.body, t.expect.body)) problems.push(`body ${quote(tail(hide(answer.body), 200))}`);
  const headers = Object.fromEntries(Object.entries(answer.headers).map(([k, v]) => [k.toLowerCase(), v]));
  for (const [h, m] of Object.entries(t.expect.headers)) {
    const got = headers[h.toLowerCase()];
    if (got === undefined || !matches(got, m)) problems.push(got === undefined ? `no header ${h}` : `header ${h} ${quote(hide(got))}`);
  }
  return problems.length === 0 ? undefined : `got ${problems.join(', ')}`;
}

/** Undefined when a command's run meets the expectation (exit code, and output when one is expected), else what differs, its output hidden, then cut. */
export function judgeRun(run: RunOutput, expect: { exitCode: number; output?: TextMatch }, hide: Hide = shown): string | undefined {
  if (run.exitCode === undefined) return run.problem !== undefined ? hide(run.problem) : 'it did not finish';
  const problems: string[] = [];
  if (run.exitCode !== expect.exitCode) problems.push(`exit code ${run.exitCode}`);
  if (expect.output !== undefined && !matches(run.output, expect.output)) problems.push('other output');
  if (problems.length === 0) return undefined;
  const out = tail(hide(run.output));
  return `got ${problems.join(', ')}${out !== '' ? `; output: ${out}` : ''}`;
}

