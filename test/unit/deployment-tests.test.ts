import {
  configCheckFailure,
  configCheckResult,
  describeExpectation,
  fillSecrets,
  redact,
  OUTPUT_TAIL,
  tail,
  testFailure,
  testResult,
  type HttpTest,
} from '../../src/core/deployment-tests';
import { nodeIntent } from '../../src/core/intent';
import { judgeHttp, judgeRun } from '../../src/core/judge';
import { LABELS } from '../../src/core/labels';
import { fingerprint, renderConfigCheck, renderTestContainer } from '../../src/core/renderers/docker-engine';
import { deployRequestSchema } from '../../src/core/schemas/request';
import { minimal } from '../fixtures/requests';

const http = (expect: Partial<HttpTest['expect']> = {}): HttpTest => ({
  kind: 'http',
  name: 'home',
  timeoutMs: 1000,
  secrets: [],
  port: 8080,
  method: 'GET',
  path: '/',
  headers: {},
  expect: { status: 200, headers: {}, ...expect },
});

/** Ports 80 and 81 declared, as an http test on the default host network needs. */
const withTests = (tests: unknown[], container: Record<string, unknown> = { ports: [{ container: 80 }, { container: 81 }] }) => deployRequestSchema.safeParse({ ...minimal, container, verify: { tests } });
const issues = (r: ReturnType<typeof withTests>) => (r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));

describe('deployment tests in the request', () => {
  it('fills the defaults of each kind of test and of the configuration check', () => {
    const parsed = deployRequestSchema.parse({
      ...minimal,
      container: { configCheck: { command: ['nginx', '-t'] } },
      healthCheck: { http: { port: 8080 } },
      verify: { tests: [{ name: 'home', http: { port: 8080 } }, { name: 'db', exec: { command: ['true'] } }, { name: 'e2e', container: { image: 'reg:5000/e2e:1' } }] },
    });
    expect(parsed.container.configCheck).toEqual({ command: ['nginx', '-t'], timeoutMs: 30000 });
    expect(parsed.verify!.tests).toEqual([
      { name: 'home', timeoutMs: 30000, secrets: [], http: { port: 8080, method: 'GET', path: '/', headers: {}, expect: { status: 200, headers: {} } } },
      { name: 'db', timeoutMs: 30000, secrets: [], exec: { command: ['true'], expect: { exitCode: 0 } } },
      { name: 'e2e', timeoutMs: 30000, secrets: [], container: { image: 'reg:5000/e2e:1', env: {} } },
    ]);
  });

  it('refuses a test of no kind or of two, a bad regex, a test named twice, and an exec test given secrets', () => {
    expect(issues(withTests([{ name: 'a' }]))).toEqual(['verify.tests.0: exactly one of "http", "exec" and "container" is required']);
    expect(issues(withTests([{ name: 'a', http: { port: 80 }, exec: { command: ['x'] } }]))).toEqual(['verify.tests.0: exactly one of "http", "exec" and "container" is required']);
    expect(issues(withTests([{ name: 'a', http: { port: 80, expect: { body: { matches: '(' } } } }]))).toEqual([
      'verify.tests.0.http.expect.body.matches: must be a regular expression RE2 accepts (no backreferences or lookaround): error parsing regexp: missing closing ): `(`',
    ]);
    expect(issues(withTests([{ name: 'a', exec: { command: ['x'], expect: { output: { matches: '(a)\\1' } } } }]))).toEqual([
      'verify.tests.0.exec.expect.output.matches: must be a regular expression RE2 accepts (no backreferences or lookaround): error parsing regexp: invalid escape sequence: `\\1`',
    ]);
    expect(issues(withTests([{ name: 'a', http: { port: 80 } }, { name: 'a', http: { port: 81 } }]))).toEqual(['verify.tests: must not name a test twice']);
    expect(issues(withTests([{ name: 'a', exec: { command: ['x'] }, secrets: [{ name: 'T', ref: 't' }] }]))[0]).toMatch(/^verify\.tests\.0\.secrets: an exec test runs inside the application's container/);
  });

  it('refuses an http test that names a secret it does not list, or that cannot reach the container', () => {
    expect(issues(withTests([{ name: 'a', http: { port: 80, headers: { Authorization: 'Bearer ${secrets.TOKEN}' } } }]))).toEqual(['verify.tests.0.http.headers.Authorization: names secret TOKEN, which the test\'s "secrets" does not list']);
    expect(issues(withTests([{ name: 'a', http: { port: 80 } }], { network: 'none' }))).toEqual(['verify.tests.0.http.port: a container with network "none" cannot be reached by an http test: use an exec or container test']);
    expect(issues(withTests([{ name: 'a', http: { port: 80 } }], { network: 'bridge' }))).toEqual(['verify.tests.0.http.port: port 80 is not published: with network "bridge" add { "container": 80 } to container.ports']);
    expect(issues(withTests([{ name: 'a', http: { port: 2375, method: 'POST', path: '/containers/create' } }]))).toEqual([
      'verify.tests.0.http.port: port 2375 is not one of the application\'s ports: with network "host" declare it, { "container": 2375 } in container.ports (a test reaches only the ports its application serves on)',
    ]);
    // The health check's port is the application's too.
    expect(deployRequestSchema.safeParse({ ...minimal, healthCheck: { tcp: { port: 9000 } }, verify: { tests: [{ name: 'a', http: { port: 9000 } }] } }).success).toBe(true);
  });

  it('puts tests and the check in the intent only when the request has them, secrets as files', () => {
    expect(nodeIntent(deployRequestSchema.parse(minimal), 'img')).not.toHaveProperty('tests');
    expect(nodeIntent(deployRequestSchema.parse(minimal), 'img')).not.toHaveProperty('configCheck');
    const intent = nodeIntent(deployRequestSchema.parse({ ...minimal, verify: { tests: [{ name: 'e2e', container: { image: 'x', command: ['run'] }, secrets: [{ name: 'TOKEN', ref: 'api/token' }] }] } }), 'img');
    expect(intent.tests).toEqual([{ kind: 'container', name: 'e2e', timeoutMs: 30000, image: 'x', command: ['run'], env: {}, secrets: [{ name: 'TOKEN', ref: 'web/api/token', path: '/run/secrets/TOKEN' }] }]);
  });
});

describe('judging what a test saw', () => {
  it('passes an answer that meets status, body and headers (header names in any case)', () => {
    expect(judgeHttp(http({ body: 'ok', headers: { 'Content-Type': { matches: '^text/' } } }), { status: 200, headers: { 'content-type': 'text/plain' }, body: 'all ok' })).toBeUndefined();
  });

  it('names every difference of an http answer', () => {
    expect(judgeHttp(http({ body: { matches: '^v2' }, headers: { 'X-Version': '2', 'X-Missing': 'a' } }), { status: 500, headers: { 'x-version': '1' }, body: 'v1' })).toBe(
      'got status 500, body "v1", header X-Version "1", no header X-Missing',
    );
  });

  it('judges a command by exit code and output, and says why a run that did not finish failed', () => {
    expect(judgeRun({ exitCode: 0, output: 'ready\n' }, { exitCode: 0, output: 'ready' })).toBeUndefined();
    expect(judgeRun({ exitCode: 2, output: 'no such table\n' }, { exitCode: 0 })).toBe('got exit code 2; output: no such table');
    expect(judgeRun({ exitCode: 0, output: 'starting' }, { exitCode: 0, output: { matches: '^ready$' } })).toBe('got other output; output: starting');
  });

  it('matches a catastrophic pattern over 256 KiB of output in linear time: (a+)+$ against a long run of a ended by b', () => {
    // JavaScript's backtracking engine takes longer than the age of the universe on this; RE2 a few milliseconds.
    const output = `${'a'.repeat(256 * 1024 - 1)}b`;
    expect(judgeRun({ exitCode: 0, output }, { exitCode: 0, output: { matches: '(a+)+$' } })).toMatch(/^got other output; output: \.\.\.a+b$/);
    expect(judgeRun({ exitCode: 0, output }, { exitCode: 0, output: { matches: '(a+)+b$' } })).toBeUndefined();
    expect(judgeRun({ output: '', problem: 'it did not finish within 100 ms' }, { exitCode: 0 })).toBe('it did not finish within 100 ms');
  });

  it('names the failing test, its kind and its expectation in the node\'s reason', () => {
    const t = http({ body: 'hello' });
    expect(describeExpectation(t)).toBe('status 200, body contains "hello"');
    const results = [testResult(t, 'got status 503', 12), testResult({ ...t, name: 'other' }, 'got status 404', 3), testResult({ ...t, name: 'fine' }, undefined, 1)];
    expect(results[2]).toEqual({ name: 'fine', kind: 'http', passed: true, detail: 'status 200, body contains "hello": passed', elapsedMs: 1 });
    expect(testFailure(results)).toBe('deployment test "home" (http) failed: expected status 200, body contains "hello", got status 503 (and 1 more failed: other)');
    expect(testFailure([results[2]!])).toBeUndefined();
  });

  it('fails a configuration check that exits non-zero, with the end of its output', () => {
    const result = configCheckResult({ command: ['nginx', '-t'], timeoutMs: 1000 }, { exitCode: 1, output: 'nginx: [emerg] unknown directive "lisen"\n' }, 40);
    expect(result).toEqual({ name: 'config', kind: 'config', passed: false, detail: '`nginx -t` failed: it exited with 1; output: nginx: [emerg] unknown directive "lisen"', elapsedMs: 40 });
    expect(configCheckFailure(result)).toBe('configuration check `nginx -t` failed: it exited with 1; output: nginx: [emerg] unknown directive "lisen"');
    expect(configCheckResult({ command: ['true'], timeoutMs: 1000 }, { exitCode: 0, output: '' }, 5).passed).toBe(true);
  });

  it('keeps the end of a long output', () => {
    expect(tail('a'.repeat(2000) + 'the reason', 20)).toBe('...aaaaaaAthe reason'.replace('A', 'a'));
  });
});

describe('secrets in tests', () => {
  it('redacts every value, trimmed, longest first, keeping what follows it', () => {
    expect(redact('user s3cret, token s3cret-long, file s3cret\nnext line', ['s3cret\n', 's3cret-long'])).toBe('user [redacted], token [redacted], file [redacted]\nnext line');
    expect(redact('nothing here', [''])).toBe('nothing here');
  });

  it('redacts a value before the output is cut and quoted: with quotes, backslashes, line ends, or cut at either edge', () => {
    const tricky = 'pa"ss\\word\nline-2';
    const pem = `-----BEGIN PRIVATE KEY-----\n${'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC'.repeat(40)}\n-----END PRIVATE KEY-----\n`;
    const hide = (text: string) => redact(text, [tricky, pem]);
    const judged = (output: string) => judgeRun({ exitCode: 1, output }, { exitCode: 0 }, hide)!;
    // Quoted, as an http body is: the value's quote, backslash and line end are escaped there.
    const body = judgeHttp(http({ body: 'ok', headers: { 'X-Token': 'other' } }), { status: 200, headers: { 'x-token': tricky }, body: `the password is ${tricky}` }, hide)!;
    expect(body).toBe('got body "the password is [redacted]", header X-Token "[redacted]"');
    // A multi-line key in full, and only the end of one that the output's tail cuts in two.
    expect(judged(`key:\n${pem}done`)).toBe('got exit code 1; output: key:\n[redacted]\ndone');
    const long = `${'x'.repeat(OUTPUT_TAIL)}${pem}`;
    expect(judged(long)).toBe(`got exit code 1; output: ...${'x'.repeat(OUTPUT_TAIL - 3 - '[redacted]'.length)}[redacted]`);
    // Output kept to its last bytes that begins inside a value; an answer read to its first bytes that ends inside one.
    expect(hide(`${pem.slice(100)}after`)).toBe('[redacted]\nafter');
    expect(hide(`before ${tricky.slice(0, 8)}`)).toBe('before [redacted]');
    // Nothing of either value is left in any of these.
    for (const text of [body, judged(`key:\n${pem}done`), judged(long)]) expect([text.includes('ss\\\\word'), text.includes('MIIEvQIBADANBgkq')]).toEqual([false, false]);
    // Shorter than four characters at an edge is common text, kept.
    expect(hide('ends with pa')).toBe('ends with pa');
  });

  it('fills ${secrets.NAME} from the resolved values and leaves unknown names', () => {
    expect(fillSecrets('Bearer ${secrets.TOKEN} ${secrets.OTHER}', { TOKEN: 'abc' })).toBe('Bearer abc ${secrets.OTHER}');
  });
});

describe('one-shot containers on a Docker Engine', () => {
  const request = deployRequestSchema.parse({
    ...minimal,
    container: {
      command: ['httpd', '-f'],
      env: { MODE: 'prod' },
      files: [{ path: '/etc/app.conf', content: 'x=1' }],
      secrets: [{ name: 'DB', ref: 'db/password' }],
      network: 'bridge',
      ports: [{ container: 8080, host: 9090 }],
      configCheck: { command: ['app', '--check-config'] },
    },
    verify: { tests: [{ name: 'e2e', container: { image: 'reg:5000/e2e:1', command: ['run'], env: { N: '1' } }, secrets: [{ name: 'TOKEN', ref: 'api/token' }] }] },
  });
  const intent = nodeIntent(request, 'reg:5000/app@sha256:1');
  const base = `${minimal.application.name}--${minimal.deploymentId}--${fingerprint(minimal.deploymentId)}`;
  const labels = (role: string) => ({ [LABELS.role]: role, [LABELS.application]: minimal.application.name, [LABELS.version]: minimal.application.version, [LABELS.deployment]: minimal.deploymentId });

  it('checks the configuration in the application\'s container with its command replaced, no port published, never restarted, not an instance', () => {
    expect(renderConfigCheck(intent)).toEqual({
      name: `${base}--config-check`,
      create: {
        Image: 'reg:5000/app@sha256:1',
        Cmd: ['app', '--check-config'],
        Env: ['MODE=prod', 'DB_FILE=/run/secrets/DB'],
        Labels: labels('config-check'),
        StopTimeout: 10,
        HostConfig: { NetworkMode: 'bridge', RestartPolicy: { Name: 'no' } },
      },
      files: [{ path: '/etc/app.conf', content: 'x=1', mode: 0o644 }],
      secrets: [{ ref: 'web/db/password', path: '/run/secrets/DB' }],
    });
  });

  it('runs a test container on the engine\'s bridge against the node\'s address, told what it tests, its secrets as files', () => {
    expect(renderTestContainer(intent, intent.tests![0] as never, '10.77.0.11')).toEqual({
      name: `${base}--test-e2e`,
      create: {
        Image: 'reg:5000/e2e:1',
        Cmd: ['run'],
        Env: ['N=1', 'DEPLOYER_TARGET_HOST=10.77.0.11', `DEPLOYER_APPLICATION=${minimal.application.name}`, `DEPLOYER_VERSION=${minimal.application.version}`, `DEPLOYER_DEPLOYMENT_ID=${minimal.deploymentId}`, 'TOKEN_FILE=/run/secrets/TOKEN'],
        Labels: labels('test'),
        HostConfig: { NetworkMode: 'bridge', RestartPolicy: { Name: 'no' } },
      },
      files: [],
      secrets: [{ ref: 'web/api/token', path: '/run/secrets/TOKEN' }],
    });
  });

  it('runs a test container on the node\'s network when the application is, reaching it at 127.0.0.1', () => {
    const hosted = nodeIntent(deployRequestSchema.parse({ ...minimal, verify: { tests: [{ name: 'e2e', container: { image: 'x' } }] } }), 'img');
    const c = renderTestContainer(hosted, hosted.tests![0] as never, '10.77.0.11');
    expect(c.create.HostConfig).toEqual({ NetworkMode: 'host', RestartPolicy: { Name: 'no' } });
    expect(c.create.Env).toContain('DEPLOYER_TARGET_HOST=127.0.0.1');
  });
});
