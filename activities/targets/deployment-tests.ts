// Deployment tests and the configuration check, as every target runs them: the tests one
// after the other, each within its own timeout; http tests from the worker to the node's
// address (as an outside health probe goes); exec tests and test containers by the target's
// own means. Whatever a test or check prints is redacted of every secret value the
// deployment can see (the application's and the tests') before it goes anywhere: results
// travel into workflow history, status events, records and logs.
import { configCheckResult, describeTest, fillSecrets, redact, testResult, type CheckResult, type ContainerTest, type ExecTest, type HttpTest, type RunOutput } from '../../src/core/deployment-tests';
import { judgeHttp, judgeRun, type Hide } from '../../src/core/judge';
import type { NodeIntent } from '../../src/core/intent';
import { reachablePort } from '../../src/core/ports';
import type { SecretProvider } from '../control/secrets';
import { httpUrl } from './probes';
import type { StepReporter, StillThere } from './target';

/** The kinds of test only a target can run: in one of its new instances, and as a test container on the node. */
export interface TestRunners {
  exec(test: ExecTest): Promise<RunOutput>;
  container(test: ContainerTest): Promise<RunOutput>;
}

/** What is read of an http answer's body: enough to judge, bounded so a huge answer cannot fill the worker. */
const MAX_BODY = 256 * 1024;

/** The values of every secret the intent and its tests name, by reference: what all output is redacted of. */
export async function secretValues(intent: NodeIntent, secrets: SecretProvider): Promise<Record<string, string>> {
  const refs = new Set([...intent.secrets, ...(intent.tests ?? []).flatMap((t) => t.secrets)].map((s) => s.ref));
  const values: Record<string, string> = {};
  for (const ref of refs) values[ref] = (await secrets.resolve(ref)).toString('utf8');
  return values;
}

async function readBounded(res: Response): Promise<string> {
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size >= MAX_BODY) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY);
}

/** One http test against the node's address; undefined when it meets its expectation. */
export async function runHttpTest(address: string, intent: NodeIntent, test: HttpTest, values: Record<string, string>, hide: Hide): Promise<string | undefined> {
  const byName = Object.fromEntries(test.secrets.map((s) => [s.name, values[s.ref] ?? '']));
  const url = httpUrl(address, reachablePort(intent, test.port), test.path);
  try {
    const res = await fetch(url, {
      method: test.method,
      headers: Object.fromEntries(Object.entries(test.headers).map(([h, v]) => [h, fillSecrets(v, byName)])),
      ...(test.body !== undefined ? { body: fillSecrets(test.body, byName) } : {}),
      redirect: 'manual',
      signal: AbortSignal.timeout(test.timeoutMs),
    });
    const body = await readBounded(res);
    return judgeHttp(test, { status: res.status, headers: Object.fromEntries(res.headers.entries()), body }, hide);
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    if (e.name === 'TimeoutError') return `got no answer within ${test.timeoutMs} ms`;
    return `the request failed: ${hide(e.cause?.code ?? e.message)}`;
  }
}

/**
 * Runs the intent's tests in order and reports each as a step. A test that cannot be run
 * (its image cannot be pulled, the exec finds no container) fails as a test, with the reason;
 * only a target that cannot be reached at all fails the call, to be tried again. Before each
 * test `stillThere` is asked whether the node is still part of the fleet: tests can run for
 * minutes, and the rest of them on a decommissioned node would be time lost.
 */
export async function runDeploymentTests(intent: NodeIntent, address: string, runners: TestRunners, secrets: SecretProvider, step: StepReporter, stillThere: StillThere): Promise<CheckResult[]> {
  const values = await secretValues(intent, secrets);
  const hide: Hide = (text) => redact(text, Object.values(values));
  const results: CheckResult[] = [];
  for (const test of intent.tests ?? []) {
    stillThere();
    const started = Date.now();
    step('Verifying', `test "${test.name}": ${describeTest(test)}`);
    let problem: string | undefined;
    // Each judge hides the secrets in what it quotes before it cuts and quotes it.
    if (test.kind === 'http') problem = await runHttpTest(address, intent, test, values, hide);
    else if (test.kind === 'exec') problem = judgeRun(await runners.exec(test), test.expect, hide);
    else problem = judgeRun(await runners.container(test), { exitCode: 0 }, hide);
    const result = testResult(test, problem, Date.now() - started);
    results.push(result);
    step('Verifying', `test "${test.name}" ${result.passed ? 'passed' : 'failed'}: ${result.detail}`);
  }
  return results;
}

/** Runs the configuration check by the target's means and judges it, its output redacted. */
export async function runConfigCheck(intent: NodeIntent, secrets: SecretProvider, step: StepReporter, run: () => Promise<RunOutput>): Promise<CheckResult> {
  const check = intent.configCheck!;
  const hidden = Object.values(await secretValues(intent, secrets));
  step('Configuring', `checking the configuration: \`${check.command.join(' ')}\``);
  const started = Date.now();
  const out = await run();
  const result = configCheckResult(check, { ...out, output: redact(out.output, hidden), ...(out.problem !== undefined ? { problem: redact(out.problem, hidden) } : {}) }, Date.now() - started);
  step('Configuring', `configuration check ${result.passed ? 'passed' : 'failed'}: ${result.detail}`);
  return result;
}
