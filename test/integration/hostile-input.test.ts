// Hostile input: 300+ generated bad requests (invalid JSON, wrong types, oversize values,
// unknown nodes, path traversal, privileged options, reused ids, control characters and
// look-alike unicode, bytes that are not UTF-8) mixed with 20 valid ones. Every bad one is
// in the dead-letter topic with a reason, every valid one is deployed exactly once, the
// bridge keeps consuming throughout, and no engine ever sees a container of a bad one.
import { LABELS } from '../../src/core/labels';
import { isTerminal } from '../../src/core/schemas/event';
import { IDLE, engineEvents, engineNodes, removeApplication, runsOf, startDeployer, waitFor, type TestDeployer } from '../support/deployer';

jest.setTimeout(600_000);

const stamp = Date.now().toString(36);
let d: TestDeployer;
const apps = Array.from({ length: 10 }, (_, i) => `it-hostile${i}-${stamp}`);

beforeAll(async () => {
  d = await startDeployer('hostile');
});

afterAll(async () => {
  if (d) {
    for (const app of apps) await removeApplication(d, app);
    await d.stop();
  }
});

/** A small deterministic generator, so that a failure can be reproduced. */
function rng(seed: number) {
  let x = seed;
  return () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

type Message = { value: string | Buffer; key: string; bad: boolean; id?: string };

describe('hostile input on the real stack', () => {
  it('dead-letters every bad request with a reason, deploys every valid one exactly once, and never lets a bad one reach an engine', async () => {
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

    // Interleave bad and good deterministically; then reuse valid ids with different content.
    const mixed: Message[] = [];
    const queue = [...bad];
    for (const g of good) {
      for (let j = 0; j < Math.floor(queue.length / (good.length - good.indexOf(g))); j++) mixed.push(queue.shift()!);
      mixed.push(g);
    }
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
    for (const m of mixed) await d.send(m.value, m.key);

    // Every message acted on and committed: the bridge stayed up and went through all of them.
    await waitFor('every message committed', async () => (await d.committed()) === mixed.length, 300_000, 1000);
    await waitFor('every valid deployment to end', () => good.every((g) => d.events.some((e) => e.deploymentId === g.id && isTerminal(e.phase))), 240_000, 1000);

    const original = (m: Message) => (Buffer.isBuffer(m.value) ? m.value.toString('base64') : m.value);
    const letters = new Map<string, number>();
    for (const l of d.deadLetters) {
      expect(l.reason.length).toBeGreaterThan(0);
      letters.set(l.original, (letters.get(l.original) ?? 0) + 1);
    }
    const missing = bad.filter((m) => !letters.has(original(m))).map((m) => original(m).slice(0, 120));
    expect(missing).toEqual([]);
    expect(d.deadLetters.length).toBe(bad.length);

    for (const g of good) {
      const terminal = d.events.filter((e) => e.deploymentId === g.id && isTerminal(e.phase));
      expect([g.id, [...new Set(terminal.map((e) => e.phase))]]).toEqual([g.id, ['Succeeded']]);
      expect([g.id, (await runsOf(d, g.id!)).length]).toEqual([g.id, 1]);
    }

    // What every engine saw: containers of valid deployments only. Suites running beside this
    // one deploy too: their deployments are named it-<suite>-… without this run's stamp, while a
    // deployment id made here either carries the stamp or does not start with it-.
    const goodIds = new Set(good.map((g) => g.id));
    const another = (id: string) => id.startsWith('it-') && !id.includes(stamp);
    const until = Math.ceil(Date.now() / 1000) + 1;
    for (const n of engineNodes(d)) {
      const seen = (await engineEvents(d, n.id, `${LABELS.managed}=true`, since, until)).map((e) => e.Actor.Attributes[LABELS.deployment]!);
      expect(seen.filter((id) => !goodIds.has(id) && !another(id))).toEqual([]);
    }
  });
});
