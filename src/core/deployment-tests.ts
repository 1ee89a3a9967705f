// Deployment tests and the configuration check, as the intent carries them and as their
// results come back: what each test expects, in words an operator reads in an event or a
// record, and the judging of what a test saw against it. The running is the targets'
// business (activities/targets/deployment-tests.ts and each target's exec and container);
// the judging is here, pure, so that it is tested by equality and reads the same everywhere.
// Pure: imported by workflow code.
import type { IntentSecret } from './intent';
import type { DeploymentTest, TextMatch } from './schemas/request';
import { scopedSecretRef } from './secret-scope';

export type { TextMatch };

interface TestBase {
  name: string;
  timeoutMs: number;
  /** By reference; values are resolved only inside the activity that runs the test. */
  secrets: IntentSecret[];
}

export type HttpTest = TestBase & {
  kind: 'http';
  port: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  expect: { status: number; body?: TextMatch; headers: Record<string, TextMatch> };
};

export type ExecTest = TestBase & { kind: 'exec'; command: string[]; expect: { exitCode: number; output?: TextMatch } };

export type ContainerTest = TestBase & { kind: 'container'; image: string; command?: string[]; env: Record<string, string> };

export type IntentTest = HttpTest | ExecTest | ContainerTest;

export interface ConfigCheck {
  command: string[];
  timeoutMs: number;
}

/** Where test secrets are delivered to a test container, as to an application's. */
const SECRETS_DIR = '/run/secrets';

/** A request's test as the intent carries it, its secrets in `application`'s scope of the store. */
export function intentTest(t: DeploymentTest, application: string): IntentTest {
  const base: TestBase = { name: t.name, timeoutMs: t.timeoutMs, secrets: t.secrets.map((s) => ({ name: s.name, ref: scopedSecretRef(application, s.ref), path: `${SECRETS_DIR}/${s.name}` })) };
  if (t.http !== undefined) {
    const { port, method, path, headers, body, expect } = t.http;
    return { ...base, kind: 'http', port, method, path, headers, ...(body !== undefined ? { body } : {}), expect };
  }
  if (t.exec !== undefined) return { ...base, kind: 'exec', command: t.exec.command, expect: t.exec.expect };
  const c = t.container!;
  return { ...base, kind: 'container', image: c.image, ...(c.command !== undefined ? { command: c.command } : {}), env: c.env };
}

/** What a check on a node was: the configuration check, or a deployment test of one of the three kinds. */
export const CHECK_KINDS = ['config', 'http', 'exec', 'container'] as const;

/**
 * What a test container is told of what it tests, beside its own env: where the application
 * is reached (127.0.0.1 on the node's network, else the node's address) and which deployment.
 */
export function testContainerEnv(intent: { application: string; version: string; deploymentId: string; network: string }, test: ContainerTest, nodeAddress: string): Record<string, string> {
  return {
    ...test.env,
    DEPLOYER_TARGET_HOST: intent.network === 'host' ? '127.0.0.1' : nodeAddress,
    DEPLOYER_APPLICATION: intent.application,
    DEPLOYER_VERSION: intent.version,
    DEPLOYER_DEPLOYMENT_ID: intent.deploymentId,
  };
}

/** How one test (or the configuration check) went on one node. */
export interface CheckResult {
  /** The test's name; `config` for the configuration check. */
  name: string;
  kind: (typeof CHECK_KINDS)[number];
  passed: boolean;
  /** What it expected and, when it failed, what it got instead. */
  detail: string;
  elapsedMs: number;
}

/** What a command or a test container did: its exit code (undefined when it never finished) and its output, secrets redacted. */
export interface RunOutput {
  exitCode?: number;
  output: string;
  /** Why it has no exit code: it timed out, or could not be started. */
  problem?: string;
}

/** What an http test saw. */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** How much output is quoted in a reason: the end, where a failing program says why. */
export const OUTPUT_TAIL = 1024;

export function tail(text: string, max = OUTPUT_TAIL): string {
  const t = text.trimEnd();
  return t.length <= max ? t : `...${t.slice(t.length - max + 3)}`;
}

/** A text as a reason quotes it: escaped, so that no output can forge the reason's own words. */
export const quote = (text: string) => JSON.stringify(text);

export function describeMatch(m: TextMatch): string {
  return typeof m === 'string' ? `contains ${quote(m)}` : `matches /${m.matches}/`;
}

/** What a test does, in a few words: `http GET :8080/health`, `exec ["cat","/x"]`, `container img`. */
export function describeTest(t: IntentTest): string {
  switch (t.kind) {
    case 'http':
      return `http ${t.method} :${t.port}${t.path}`;
    case 'exec':
      return `exec ${JSON.stringify(t.command)}`;
    case 'container':
      return `container ${t.image}${t.command !== undefined ? ` ${JSON.stringify(t.command)}` : ''}`;
  }
}

/** What a test expects, in words. */
export function describeExpectation(t: IntentTest): string {
  switch (t.kind) {
    case 'http': {
      const parts = [`status ${t.expect.status}`];
      if (t.expect.body !== undefined) parts.push(`body ${describeMatch(t.expect.body)}`);
      for (const [h, m] of Object.entries(t.expect.headers)) parts.push(`header ${h} ${describeMatch(m)}`);
      return parts.join(', ');
    }
    case 'exec':
      return `exit code ${t.expect.exitCode}${t.expect.output !== undefined ? `, output ${describeMatch(t.expect.output)}` : ''}`;
    case 'container':
      return 'exit code 0';
  }
}

/** The result of one test: passed, or failed with its expectation and what it got. */
export function testResult(t: IntentTest, problem: string | undefined, elapsedMs: number): CheckResult {
  const expectation = describeExpectation(t);
  return { name: t.name, kind: t.kind, passed: problem === undefined, detail: problem === undefined ? `${expectation}: passed` : `expected ${expectation}, ${problem}`, elapsedMs };
}

/** The result of the configuration check: its command must exit 0. */
export function configCheckResult(check: ConfigCheck, run: RunOutput, elapsedMs: number): CheckResult {
  const what = `\`${check.command.join(' ')}\``;
  const problem = run.exitCode === undefined ? (run.problem ?? 'it did not finish') : run.exitCode !== 0 ? `it exited with ${run.exitCode}` : undefined;
  const out = tail(run.output);
  return {
    name: 'config',
    kind: 'config',
    passed: problem === undefined,
    detail: problem === undefined ? `${what} passed` : `${what} failed: ${problem}${out !== '' ? `; output: ${out}` : ''}`,
    elapsedMs,
  };
}

/** The reason a node failed its tests: the first failing test, named, with its expectation. */
export function testFailure(results: readonly CheckResult[]): string | undefined {
  const failed = results.filter((r) => !r.passed);
  if (failed.length === 0) return undefined;
  const first = failed[0]!;
  return `deployment test "${first.name}" (${first.kind}) failed: ${first.detail}${failed.length > 1 ? ` (and ${failed.length - 1} more failed: ${failed.slice(1).map((r) => r.name).join(', ')})` : ''}`;
}

/** The reason a node failed its configuration check. */
export function configCheckFailure(result: CheckResult): string {
  return `configuration check ${result.detail}`;
}

/**
 * The text with every secret value in it replaced, longest first (a value may hold another),
 * and a piece of one at either edge: output kept to its last bytes may begin inside a value,
 * and an answer read to its first bytes may end inside one. Values are taken trimmed: a
 * secret file often ends with a newline that the output, which goes on after it, must keep.
 * Applied to the raw text, before anything cuts or quotes it: a quoted value (a `"`, a
 * backslash or a line end escaped) or a value cut in two no longer equals itself.
 */
export function redact(text: string, values: readonly string[]): string {
  const sorted = [...new Set(values.map((v) => v.trim()).filter((v) => v !== ''))].sort((a, b) => b.length - a.length);
  let out = text;
  for (const v of sorted) out = out.split(v).join(REDACTED);
  for (const v of sorted) out = redactEdges(out, v);
  return out;
}

const REDACTED = '[redacted]';
/** The shortest piece of a value at an edge that is taken for it: shorter ones are common text. */
const EDGE_PIECE = 4;

function redactEdges(text: string, value: string): string {
  let out = text;
  const head = overlap(out, value);
  if (head >= EDGE_PIECE) out = out.slice(0, out.length - head) + REDACTED;
  const tail = overlap(reversed(out), reversed(value));
  if (tail >= EDGE_PIECE) out = REDACTED + out.slice(tail);
  return out;
}

// By UTF-16 unit, as the lengths are counted.
const reversed = (s: string) => s.split('').reverse().join('');

/**
 * The length of the longest head of `value`, shorter than the whole, that ends `text`:
 * Knuth-Morris-Pratt's prefix function over the value, a separator and the text's end, in
 * time linear in both (a PEM bundle is long; trying every length would be quadratic).
 */
function overlap(text: string, value: string): number {
  const s = `${value}\u0000${text.slice(-(value.length - 1))}`;
  const pi = new Array<number>(s.length).fill(0);
  for (let i = 1; i < s.length; i++) {
    let k = pi[i - 1]!;
    while (k > 0 && s[i] !== s[k]) k = pi[k - 1]!;
    if (s[i] === s[k]) k++;
    pi[i] = k;
  }
  return value.length > 1 ? pi[s.length - 1]! : 0;
}

/** `${secrets.NAME}` in an http test's header or body, filled in from the resolved values. */
export function fillSecrets(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{secrets\.([A-Za-z0-9_]+)\}/g, (whole, name: string) => values[name] ?? whole);
}
