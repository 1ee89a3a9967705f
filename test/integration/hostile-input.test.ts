// Hostile input: 300+ generated bad requests (invalid JSON, wrong types, oversize values,
// unknown nodes, path traversal, privileged options, reused ids, control characters and
// look-alike unicode, bytes that are not UTF-8, git URLs outside the prefixes or with
// credentials, tests and health checks aimed at a node's engine, kubelet or etcd, patterns
// RE2 refuses, and messages whose dead letter whole would be larger than the broker takes: a
// 1 MiB message of newlines, of control characters, of unknown fields) mixed with 20 valid
// ones and with requests the bridge cannot judge, which the worker must fail: build contexts
// outside the build roots or linked out of one, a Dockerfile linked out of its context,
// another application's secret or named volume, and tests whose expectation is a
// catastrophic pattern over a long output. Every bad one is in the dead-letter topic with its reason; every one the worker
// must fail ends RolledBack or Failed naming its problem, leaving nothing on a node; every
// valid one is deployed exactly once. The bridge has committed the last message within 5 s of
// its sending, the worker's event loop (this process's) never stalled near a heartbeat
// timeout and no activity's heartbeat timed out, and no engine ever sees a container of a bad one.
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { msToNumber } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { LABELS } from '../../src/core/labels';
import { NODE_SERVICE_PORTS } from '../../src/core/node-policy';
import { volumeLabels } from '../../src/core/ownership';
import { pushTag } from '../../src/core/plan';
import { isTerminal } from '../../src/core/schemas/event';
import { transfer } from '../../workflows/options';
import {
  IDLE,
  TEST_BUILD_ROOT,
  TEST_BUILD_ROOTS,
  containersOf,
  engineEvents,
  engineNodes,
  putSecret,
  removeApplication,
  runsOf,
  startDeployer,
  waitFor,
  type TestDeployer,
} from '../support/deployer';

jest.setTimeout(600_000);

const stamp = Date.now().toString(36);
let d: TestDeployer;
const apps = Array.from({ length: 10 }, (_, i) => `it-hostile${i}-${stamp}`);
/** The applications of the requests the worker must fail, one each. */
const failingApps: string[] = [];
/** Another application, whose secret and named volume requests name. */
const other = `it-hostile-other-${stamp}`;
const otherValue = `other-${randomBytes(16).toString('hex')}`;
const otherVolume = `${other}-data`;
const prefix = 'https://git.example.org/hostile/';
/** A port of this suite's own, where the http test's application serves. */
const port = 18790;
const hello = resolve(__dirname, '../../examples/hello');
/** Outside every build root: a copy of the example app, and a secret beside it. */
let outside: string;
/** Inside a build root. */
let inside: string;

beforeAll(async () => {
  d = await startDeployer('hostile', { settings: { DEPLOYER_GIT_PREFIXES: prefix } });
  putSecret(d.config.secretsPath, other, 'db-password', otherValue);
  // On the first node, as a deployment of the other application leaves it (volume-ownership.test.ts).
  await d.engines.node(d.inventory.nodes[0]!.id).createVolume({ Name: otherVolume, Labels: volumeLabels(other) });
  outside = mkdtempSync(join(tmpdir(), 'deployer-hostile-'));
  cpSync(hello, join(outside, 'app'), { recursive: true });
  writeFileSync(join(outside, 'secret.txt'), `${otherValue}\n`);
  inside = mkdtempSync(join(TEST_BUILD_ROOT, 'hostile-'));
  symlinkSync(outside, join(inside, 'elsewhere'));
  cpSync(hello, join(inside, 'linked-dockerfile'), { recursive: true });
  symlinkSync(join(outside, 'secret.txt'), join(inside, 'linked-dockerfile', 'Dockerfile.linked'));
});

afterAll(async () => {
  for (const dir of [outside, inside]) if (dir) rmSync(dir, { recursive: true, force: true });
  if (d) {
    rmSync(join(d.config.secretsPath, other), { recursive: true, force: true });
    for (const app of [...apps, ...failingApps]) await removeApplication(d, app);
    await d.engines.node(d.inventory.nodes[0]!.id).getVolume(otherVolume).remove().catch(() => undefined);
    await d.stop();
  }
});

/** A small deterministic generator, so that a failure can be reproduced. */
function rng(seed: number) {
  let x = seed;
  return () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

type Message = {
  value: string | Buffer;
  key: string;
  bad: boolean;
  id?: string;
  /** What its dead letter's reason, or (for one the worker must fail) its terminal event, must say. */
  reason?: string | RegExp;
};

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const bytes = (value: string | Buffer) => (Buffer.isBuffer(value) ? value.length : Buffer.byteLength(value));

/**
 * What went late in a workflow's history and its children's: an activity whose heartbeat
 * timed out (its last attempt, or an earlier one that a retry hid) and a workflow task that
 * timed out while the worker held it (the liveness of the node steps, local activities).
 * Each history read is named in `read`.
 */
async function lateIn(workflowId: string, read: string[]): Promise<string[]> {
  const { TimeoutType } = temporal.api.enums.v1;
  const history = await d.client.workflow.getHandle(workflowId).fetchHistory();
  read.push(workflowId);
  const late: string[] = [];
  const children: string[] = [];
  for (const e of history.events ?? []) {
    const heartbeat = [e.activityTaskTimedOutEventAttributes?.failure, e.activityTaskStartedEventAttributes?.lastFailure].some((f) => f?.timeoutFailureInfo?.timeoutType === TimeoutType.TIMEOUT_TYPE_HEARTBEAT);
    if (heartbeat) late.push(`${workflowId}, event ${e.eventId}: an activity's heartbeat timed out`);
    if (e.workflowTaskTimedOutEventAttributes?.timeoutType === TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE) late.push(`${workflowId}, event ${e.eventId}: a workflow task timed out`);
    const child = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId;
    if (child) children.push(child);
  }
  return [...late, ...(await Promise.all(children.map((child) => lateIn(child, read)))).flat()];
}

describe('hostile input on the real stack', () => {
  it('dead-letters every bad request with its reason, fails every request the worker must refuse naming its problem, deploys every valid one exactly once, keeps up, and never lets a bad one reach an engine', async () => {
    const random = rng(42);
    const node = (i: number) => d.inventory.nodes[i % 3]!.id;
    const valid = (i: number, n: number) => ({
      kind: 'Deploy',
      deploymentId: `${apps[i]}-${n}`,
      application: { name: apps[i]!, version: `v${n}`, image: `${d.inventory.registry.pull}/busybox:1` },
      nodes: [node(i)],
      container: { command: IDLE, env: { N: String(n) } as Record<string, string>, files: [{ path: '/etc/app/n', content: String(n) }] },
    });
    const good: Message[] = [];
    for (let n = 1; n <= 2; n++) for (let i = 0; i < apps.length; i++) good.push({ value: JSON.stringify(valid(i, n)), key: apps[i]!, bad: false, id: `${apps[i]}-${n}` });

    const bad: Message[] = [];
    const add = (value: unknown, key = 'hostile') => bad.push({ value: typeof value === 'string' || Buffer.isBuffer(value) ? value : JSON.stringify(value), key, bad: true });
    let k = 0;
    const base = () => {
      const r = valid(k % apps.length, 100 + k);
      r.deploymentId = `bad-${stamp}-${k++}`;
      return r as Record<string, unknown> & ReturnType<typeof valid>;
    };
    // Invalid JSON: truncated at random places, and other garbage.
    for (let i = 0; i < 60; i++) {
      const text = JSON.stringify(base());
      add(text.slice(0, 1 + Math.floor(random() * (text.length - 2))));
    }
    for (const junk of ['', 'null', '[]', '42', '"Deploy"', 'true', '{}', '{"kind":"Deploy"}', '{"kind":null}', '{"kind":"Deploy","deploymentId":[]}']) add(junk);
    // Wrong types, field by field.
    const wrongTypes: [string, (r: ReturnType<typeof base>) => void][] = [
      ['nodes', (r) => ((r as { nodes: unknown }).nodes = 'fog-1')],
      ['replicasPerNode', (r) => ((r as Record<string, unknown>).replicasPerNode = '2')],
      ['replicasPerNode float', (r) => ((r as Record<string, unknown>).replicasPerNode = 1.5)],
      ['replicasPerNode zero', (r) => ((r as Record<string, unknown>).replicasPerNode = 0)],
      ['application', (r) => ((r as Record<string, unknown>).application = 'web')],
      ['version number', (r) => ((r.application as Record<string, unknown>).version = 3)],
      ['command string', (r) => ((r.container as Record<string, unknown>).command = 'sleep 1')],
      ['env array', (r) => ((r.container as Record<string, unknown>).env = ['A=1'])],
      ['env number value', (r) => ((r.container as Record<string, unknown>).env = { A: 1 })],
      ['files object', (r) => ((r.container as Record<string, unknown>).files = { path: '/x' })],
      ['ports string', (r) => ((r.container as Record<string, unknown>).ports = [{ container: '80' }])],
      ['port range', (r) => ((r.container as Record<string, unknown>).ports = [{ container: 70000 }])],
      ['restartPolicy', (r) => ((r.container as Record<string, unknown>).restartPolicy = 'sometimes')],
      ['network', (r) => ((r.container as Record<string, unknown>).network = 'container:other')],
      ['strategy', (r) => ((r as Record<string, unknown>).strategy = { maxParallel: -1 })],
      ['onFailure', (r) => ((r as Record<string, unknown>).strategy = { onFailure: 'ignore' })],
      ['healthCheck none', (r) => ((r as Record<string, unknown>).healthCheck = {})],
      ['healthCheck two', (r) => ((r as Record<string, unknown>).healthCheck = { http: { port: 1 }, tcp: { port: 1 } })],
      ['dependsOn string', (r) => ((r as Record<string, unknown>).dependsOn = 'mqtt')],
      ['kind', (r) => ((r as Record<string, unknown>).kind = 'deploy')],
    ];
    for (let round = 0; round < 3; round++) for (const [, mutate] of wrongTypes) { const r = base(); mutate(r); add(r); }
    // Oversize values and counts.
    for (let i = 0; i < 4; i++) {
      add({ ...base(), application: { ...base().application, name: 'a'.repeat(64 + i) } });
      add({ ...base(), application: { ...base().application, version: 'v'.repeat(65 + i) } });
      const r1 = base(); r1.container.env = { BIG: 'x'.repeat(32 * 1024 + 1 + i) }; add(r1);
      const r2 = base(); r2.container.files = [{ path: '/big', content: 'x'.repeat(256 * 1024 + 1 + i) }]; add(r2);
      const r3 = base(); (r3.container as Record<string, unknown>).files = Array.from({ length: 65 + i }, (_, j) => ({ path: `/f${j}`, content: '' })); add(r3);
      add({ ...base(), deploymentId: 'd'.repeat(129 + i) });
    }
    const huge = base(); huge.container.env = Object.fromEntries(Array.from({ length: 60 }, (_, j) => [`V${j}`, 'y'.repeat(30_000)])); add(huge);
    // Unknown nodes.
    for (let i = 0; i < 20; i++) add({ ...base(), nodes: [node(i), `fog-${90 + i}`] });
    // Path traversal.
    for (const context of ['/srv/../etc', '/srv/app/../../root', 'relative/dir', '../up', '/a/./../b', 'file:///etc', '/srv/app\u0000/x']) {
      const r = base(); (r.application as Record<string, unknown>) = { name: r.application.name, version: '1', source: { context } }; add(r);
    }
    for (const dockerfile of ['../Dockerfile', '/etc/passwd', 'a/../../b']) {
      const r = base(); (r.application as Record<string, unknown>) = { name: r.application.name, version: '1', source: { context: '/srv/app', dockerfile } }; add(r);
    }
    for (const path of ['/etc/../root/.ssh/authorized_keys', '../../etc/passwd', 'etc/shadow', '/', '/a//b', '/a/./b', '/proc/../etc', '/x\u0000y', '/x\ny', '/..']) {
      const r = base(); r.container.files = [{ path, content: 'x' }]; add(r);
    }
    for (const target of ['/../host', 'data', '/']) { const r = base(); (r.container as Record<string, unknown>).volumes = [{ name: 'v', target }]; add(r); }
    for (const ref of ['../../etc/shadow', '/etc/shadow', 'a/../../b', '.hidden']) { const r = base(); (r.container as Record<string, unknown>).secrets = [{ name: 'S', ref }]; add(r); }
    // Options that would hand a node to an attacker.
    const privileged: Record<string, unknown>[] = [
      { privileged: true }, { capAdd: ['SYS_ADMIN'] }, { devices: ['/dev/sda'] }, { pid: 'host' }, { ipc: 'host' }, { userns: 'host' },
      { binds: ['/:/host'] }, { mounts: [{ type: 'bind', source: '/', target: '/host' }] }, { securityOpt: ['seccomp=unconfined'] }, { hostConfig: { Privileged: true } },
      { volumes: [{ name: '/', target: '/host' }] }, { volumes: [{ name: '/var/run/docker.sock', target: '/sock' }] }, { user: 'root' }, { sysctls: { 'kernel.x': '1' } }, { cgroupParent: '/' },
    ];
    for (let round = 0; round < 2; round++) for (const opt of privileged) { const r = base(); r.container = { ...r.container, ...opt } as typeof r.container; add(r); }
    // Control characters and look-alike unicode in names and ids.
    const sneaky = ['web\u0000', 'web\n', 'w\u202eeb', 'wеb' /* Cyrillic е */, 'ｗｅｂ', 'web\u200b', 'WEB', 'web ', ' web', 'we/b', 'wéb', 'web\t', '\u0430pp', 'app\u0301', 'a\u00a0b'];
    for (const name of sneaky) add({ ...base(), application: { ...base().application, name } });
    // Upper case is fine in a deploymentId; the rest is not.
    for (const id of sneaky.filter((x) => x !== 'WEB')) add({ ...base(), deploymentId: `${id}-${stamp}` });
    for (const n of ['fog\u20131', 'fog-1\u0000', 'ｆog-1', 'fog-1/..']) add({ ...base(), nodes: [n] });
    // Bytes that are not UTF-8.
    for (let i = 0; i < 20; i++) add(Buffer.from([0x7b, 0x22, 0x6b, 0xc3 + (i % 3), 0x28 + i, 0xff, 0xfe, 0x7d]));

    // Refused with a reason that names the problem.
    const refused = (value: unknown, reason: string | RegExp) => {
      add(value);
      bad.at(-1)!.reason = reason;
    };
    const from = (context: string) => {
      const r = base();
      (r.application as Record<string, unknown>) = { name: r.application.name, version: '1', source: { context } };
      return r;
    };
    // Git sources outside the prefixes, with credentials, or written so that two parsers could read two places.
    const outsidePrefixes = /^application\.source\.context: the git source is not under a prefix this Deployer may fetch \(DEPLOYER_GIT_PREFIXES: https:\/\/git\.example\.org\/hostile\/\)/;
    for (const url of [
      'https://169.254.169.254/latest/meta-data.git',
      'https://git.example.org/other/app.git',
      'https://git.example.org/hostile-not/app.git',
      'https://git.example.org.attacker.net/hostile/app.git',
      'http://git.example.org/hostile/app.git',
      'ssh://git@git.example.org/hostile/app.git',
      'git@git.example.org:hostile/app.git',
      'git://169.254.169.254/hostile/app',
    ]) refused(from(url), outsidePrefixes);
    for (const url of ['https://deployer:ghp_0123456789abcdef@git.example.org/hostile/app.git', 'https://ghp_0123456789abcdef@git.example.org/hostile/app.git']) {
      refused(from(url), /^application\.source\.context: a git URL must not carry credentials/);
    }
    for (const url of [
      'https://git.example.org/hostile/../other/app.git',
      'https://git.example.org/hostile/%2e%2e/other/app.git',
      'https://git.example.org/hostile%2fapp.git',
      'https://git.example.org/hostile\\..\\other\\app.git',
      'https://git.example.org:443/hostile/app.git',
      'https://GIT.example.org/hostile/app.git',
      'https://git.example.org/hostile/app.git?upload-pack=sh',
      'https://git.example.org/hostile/app',
    ]) refused(from(url), /^application\.source\.context: a git URL must /);
    refused(from('file:///etc/hostile.git'), /^application\.source\.context: must be an absolute directory on the build host .* or a git URL/);
    // Tests and health checks aimed at a node's own services: an http test sends any method and body.
    const service = (p: number) => new RegExp(`port ${p} of node '${node(0)}' is (the node's Docker Engine API|${escaped(NODE_SERVICE_PORTS[p]!)}), not the application's: `);
    const onFirst = () => {
      const r = base();
      r.nodes = [node(0)];
      return r as ReturnType<typeof base> & Record<string, unknown>;
    };
    for (const p of Object.keys(NODE_SERVICE_PORTS).map(Number)) {
      const test = onFirst();
      test.container = { ...test.container, ports: [{ container: p }] } as typeof test.container;
      test.verify = { tests: [{ name: 'node', http: { port: p, method: 'POST', path: '/containers/create', body: '{"Image":"busybox","HostConfig":{"Privileged":true}}', expect: { status: 201 } } }] };
      refused(test, new RegExp(`^verify\\.tests\\[0\\]\\.http\\.port: ${service(p).source}test "node" may reach`));
      const check = onFirst();
      check.healthCheck = p % 2 === 0 ? { http: { port: p, path: '/' } } : { tcp: { port: p } };
      refused(check, new RegExp(`^healthCheck\\.(http|tcp)\\.port: ${service(p).source}the health check may reach`));
    }
    const published = onFirst();
    published.container = { ...published.container, network: 'bridge', ports: [{ container: 80, host: 2375 }] } as typeof published.container;
    published.verify = { tests: [{ name: 'published', http: { port: 80, path: '/info' } }] };
    refused(published, /^verify\.tests\[0\]\.http\.port: port 2375 of node '[^']+' is the node's Docker Engine API/);
    const undeclared = onFirst();
    undeclared.verify = { tests: [{ name: 'undeclared', http: { port: 8080, path: '/' } }] };
    refused(undeclared, /^verify\.tests\[0\]\.http\.port: port 8080 is not one of the application's ports/);
    // Patterns RE2 refuses, by name.
    for (const matches of ['(a)\\1', '(?=a)a', '(?<=a)b', '(?!a)b']) {
      const r = base();
      r.verify = { tests: [{ name: 'pattern', exec: { command: ['true'], expect: { output: { matches } } } }] };
      refused(r, /RE2/);
    }
    // Messages whose dead letters whole would be larger than the broker takes (2 MiB): each
    // newline is written "\n" in JSON, a control character "\u0001", and each unknown field
    // or wrong value is named. The first of them stopped its partition for good.
    refused('\n'.repeat(1024 * 1024), 'the request is not valid JSON: Unexpected end of JSON input');
    refused('\u0001'.repeat(1024 * 1024), /^the request is not valid JSON/);
    refused({ ...base(), ...Object.fromEntries(Array.from({ length: 80_000 }, (_, j) => [`k${j}`, 1])) }, /^unknown fields "k0", "k1", /);
    const wrong = base();
    (wrong.container as Record<string, unknown>).env = Object.fromEntries(Array.from({ length: 30_000 }, (_, j) => [`E${j}`, j]));
    refused(wrong, /^container\.env\.E0: .* \(and 29999 more problems\)$/);
    refused(`{"kind":"Deploy","pad":"${'x'.repeat(2 * 1024 * 1024 - 4096)}"}`, /^the request is \d+ bytes; the limit is 1048576 bytes$/);

    // Requests the bridge cannot judge, which the worker fails naming the problem, each of an application of its own.
    const failing: Message[] = [];
    const roots = `DEPLOYER_BUILD_ROOTS: ${TEST_BUILD_ROOTS.join(', ')}`;
    const fails = (what: string, request: (app: string) => Record<string, unknown>, reason: string | RegExp) => {
      const app = `it-hostile-${what}-${stamp}`;
      failingApps.push(app);
      failing.push({ value: JSON.stringify({ kind: 'Deploy', deploymentId: `${app}-1`, ...request(app) }), key: app, bad: false, id: `${app}-1`, reason });
    };
    const built = (context: string, dockerfile?: string) => (app: string) => ({
      application: { name: app, version: '1', source: { context, ...(dockerfile !== undefined ? { dockerfile } : {}) } },
      nodes: [node(failing.length)],
      container: { command: IDLE },
    });
    const rolledBack = (message: string) => new RegExp(`^rolled back: ${escaped(message)}$`);
    fails('outside', built(join(outside, 'app')), rolledBack(`build context ${join(outside, 'app')} is outside the directories builds may read (${roots})`));
    fails('etc', built('/etc'), rolledBack(`build context /etc is outside the directories builds may read (${roots})`));
    fails('missing', built('/nowhere/at/all'), rolledBack(`build context /nowhere/at/all is outside the directories builds may read (${roots})`));
    fails('link', built(join(inside, 'elsewhere', 'app')), rolledBack(`build context ${join(inside, 'elsewhere', 'app')} leads, through a symbolic link, outside the directories builds may read (${roots})`));
    fails('proc', built('/proc/self/root/etc'), rolledBack(`build context /proc/self/root/etc leads, through a symbolic link, outside the directories builds may read (${roots})`));
    fails('dockerfile', built(join(inside, 'linked-dockerfile'), 'Dockerfile.linked'), rolledBack(`Dockerfile.linked in build context ${join(inside, 'linked-dockerfile')} leads, through a symbolic link, outside the context`));
    const busybox = `${d.inventory.registry.pull}/busybox:1`;
    fails('secret', (app) => ({
      application: { name: app, version: '1', image: busybox },
      nodes: [node(failing.length)],
      container: { command: IDLE, secrets: [{ name: 'DB', ref: `${other}/db-password` }] },
    }), new RegExp(`secret '${escaped(`it-hostile-secret-${stamp}/${other}/db-password`)}' not found`));
    // (a+)+$ over a long run of "a" ended by "b": minutes for a backtracking engine, on the worker's one thread.
    fails('regex-exec', (app) => ({
      application: { name: app, version: '1', image: busybox },
      nodes: [node(failing.length)],
      container: { command: IDLE },
      verify: { tests: [{ name: 'catastrophic', exec: { command: ['sh', '-c', "head -c 65000 /dev/zero | tr '\\0' a; echo b"], expect: { output: { matches: '(a+)+$' } } } }] },
    }), /deployment test "catastrophic" \(exec\) failed: /);
    fails('regex-http', (app) => ({
      application: { name: app, version: '1', image: busybox },
      nodes: [node(failing.length)],
      container: { command: ['sh', '-c', `mkdir -p /www && head -c 250000 /dev/zero | tr '\\0' a > /www/a && echo b >> /www/a; trap 'exit 0' TERM; httpd -f -p ${port} -h /www & wait`] },
      healthCheck: { http: { port, path: '/a' }, intervalMs: 200 },
      verify: { tests: [{ name: 'catastrophic', http: { port, path: '/a', expect: { body: { matches: '(a+)+$' } } } }] },
    }), /deployment test "catastrophic" \(http\) failed: /);
    fails('volume', (app) => ({
      application: { name: app, version: '1', image: busybox },
      nodes: [node(0)],
      container: { command: IDLE, volumes: [{ name: otherVolume, target: '/data' }] },
    }), new RegExp(`^rolled back: ${escaped(`${node(0)}: volume '${otherVolume}' on ${node(0)} belongs to application ${other} (label ${LABELS.application}=${other}), not to it-hostile-volume-${stamp}: choose another volume name`)}`));

    // Interleave bad and accepted ones deterministically; then reuse valid ids with different content.
    const accepted = good.flatMap((g, i) => [g, ...(failing[i] !== undefined ? [failing[i]!] : [])]);
    expect(accepted.length).toBe(good.length + failing.length);
    const mixed: Message[] = [];
    const queue = [...bad];
    accepted.forEach((a, i) => {
      for (let j = 0; j < Math.floor(queue.length / (accepted.length - i)); j++) mixed.push(queue.shift()!);
      mixed.push(a);
    });
    mixed.push(...queue);
    for (let i = 0; i < 20; i++) {
      const again = valid(i % apps.length, 1 + Math.floor(i / apps.length));
      again.container.env = { N: 'different' };
      const m: Message = { value: JSON.stringify(again), key: apps[i % apps.length]!, bad: true };
      bad.push(m);
      mixed.push(m);
    }
    expect(bad.length).toBeGreaterThanOrEqual(300);

    const since = Math.floor(Date.now() / 1000) - 1;
    // The worker runs in this process: a stall of its event loop delays every heartbeat and workflow task it owes.
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const began = Date.now();
    for (const m of mixed) await d.send(m.value, m.key);
    const lastSent = Date.now();

    // Every message acted on and committed: the bridge stayed up, went through all of them and kept up.
    let committed = 0;
    while ((committed = await d.committed()) < mixed.length && Date.now() < lastSent + 60_000) await new Promise((r) => setTimeout(r, 100));
    const lagMs = Date.now() - lastSent;
    expect({ committed, lagMs }).toEqual({ committed: mixed.length, lagMs });
    await waitFor('every accepted deployment to end', () => accepted.every((a) => d.events.some((e) => e.deploymentId === a.id && isTerminal(e.phase))), 240_000, 1000);
    loop.disable();
    const maxDelayMs = Math.round(loop.max / 1e6);
    console.log(`hostile run: ${mixed.length} messages sent in ${lastSent - began} ms, all committed ${lagMs} ms after the last; every deployment ended after ${Date.now() - began} ms; event loop delay max ${maxDelayMs} ms, p99 ${Math.round(loop.percentile(99) / 1e6)} ms`);
    // Keeping up: every message committed within as long again as the burst took to send
    // (10 s). Its speed is the benchmarks' business; on the 2-core machine with the whole
    // suite beside it the lag was 2.8 s and 5.2 s in two runs of one day.
    expect(lagMs).toBeLessThanOrEqual(10_000);

    const says = (text: string, reason: string | RegExp) => (typeof reason === 'string' ? text === reason : reason.test(text));
    // A dead letter too large whole carries the original's beginning and its length.
    const original = (m: Message) => (Buffer.isBuffer(m.value) ? m.value.toString('base64') : m.value);
    const letterOf = (m: Message) =>
      d.deadLetters.find((l) => (l.originalBytes === undefined ? l.original === original(m) : l.originalBytes === bytes(m.value) && original(m).startsWith(l.original)));
    for (const l of d.deadLetters) expect(l.reason.length).toBeGreaterThan(0);
    const missing = bad.filter((m) => letterOf(m) === undefined).map((m) => original(m).slice(0, 120));
    expect(missing).toEqual([]);
    expect(d.deadLetters.length).toBe(bad.length);
    const unsaid = bad.filter((m) => m.reason !== undefined && !says(letterOf(m)!.reason, m.reason)).map((m) => ({ reason: letterOf(m)!.reason, expected: String(m.reason) }));
    expect(unsaid).toEqual([]);
    const tooLarge = d.deadLetters.map((l) => Buffer.byteLength(JSON.stringify(l))).filter((n) => n > d.config.kafka.maxRequestBytes);
    expect(tooLarge).toEqual([]);

    for (const g of good) {
      const terminal = d.events.filter((e) => e.deploymentId === g.id && isTerminal(e.phase));
      expect([g.id, [...new Set(terminal.map((e) => e.phase))]]).toEqual([g.id, ['Succeeded']]);
      expect([g.id, (await runsOf(d, g.id!)).length]).toEqual([g.id, 1]);
    }
    // Each the worker had to fail ended once, RolledBack or Failed, naming its problem.
    const wrongEnds = failing.flatMap((f) => {
      const ends = d.events.filter((e) => e.deploymentId === f.id && isTerminal(e.phase));
      const right = ends.length === 1 && ['RolledBack', 'Failed'].includes(ends[0]!.phase) && says(ends[0]!.message, f.reason!);
      return right ? [] : [{ id: f.id, ends: ends.map((e) => `${e.phase}: ${e.message}`), expected: String(f.reason) }];
    });
    expect(wrongEnds).toEqual([]);
    expect(JSON.stringify([d.events, d.deadLetters]).includes(otherValue)).toBe(false);

    // Never late: the event loop never stalled near the heartbeat timeout (the workflow task timeout is as long), and no history shows a timeout.
    expect(maxDelayMs).toBeLessThan(msToNumber(transfer.heartbeatTimeout!) / 5);
    const read: string[] = [];
    expect((await Promise.all(accepted.map((a) => lateIn(a.id!, read)))).flat()).toEqual([]);
    // The node workflows' histories too, where the node steps run.
    expect(read).toEqual(expect.arrayContaining(good.map((g) => `${g.id}/${(JSON.parse(g.value as string) as { nodes: string[] }).nodes[0]}`)));

    // What every engine saw: containers of valid deployments, and of those the worker failed,
    // which their rollbacks removed. Suites running beside this one deploy too: their
    // deployments are named it-<suite>-… without this run's stamp, while a deployment id made
    // here either carries the stamp or does not start with it-.
    const acceptedIds = new Set(accepted.map((a) => a.id));
    const another = (id: string) => id.startsWith('it-') && !id.includes(stamp);
    const until = Math.ceil(Date.now() / 1000) + 1;
    for (const n of engineNodes(d)) {
      const seen = (await engineEvents(d, n.id, `${LABELS.managed}=true`, since, until)).map((e) => e.Actor.Attributes[LABELS.deployment]!);
      expect(seen.filter((id) => !acceptedIds.has(id) && !another(id))).toEqual([]);
    }
    expect(((await d.engines.node(node(0)).getVolume(otherVolume).inspect()) as { Labels: Record<string, string> }).Labels).toEqual(volumeLabels(other));
    for (const app of failingApps) {
      expect([app, Object.values(await containersOf(d, app)).flat()]).toEqual([app, []]);
      const image = await d.engines.buildHost().getImage(pushTag(d.inventory.registry.push, app, '1')).inspect().then(() => 'built', () => 'none');
      expect([app, image]).toEqual([app, 'none']);
    }
  });
});
