// Recorded histories of deployments made by earlier versions of the workflow code
// (test/fixtures/histories: success, rollback, cancel, the three pause decisions, a Retry
// run, a rollback that could not reach a node, node children and an application lock)
// are replayed against the current code: those of the first shape (no prefix, before the
// target seam) and those of the current one (v2-: the `target-seam` patch, the token lock,
// also Scale, Undeploy and Rollback operations, and nodes with a configuration check and
// deployment tests: passed, a test failed, a configuration refused; v3-: the saga in the
// memo, restores in turn, a Terminate and its compensation; v4-: local activities one at a
// time, each kind of operation and outcome). A change that would break deployments already
// running in production fails here; make such a change with `patched()` instead.
// The fixtures are stored decrypted; one is replayed encrypted too, as a worker with payload
// encryption writes it, with a throwaway key, so that the replayer's codec is exercised.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EncryptionCodec } from '../../src/codec/encryption-codec';
import { payloadFromJson, payloadToJson, type JsonPayload } from '../../src/codec/payload-json';
import { loadPayloadKeys } from '../../src/codec/payload-keys';

jest.setTimeout(120_000);

const root = resolve(__dirname, '../..');
const dir = join(root, 'test/fixtures/histories');
let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'replay-fixtures-'));
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** The history (JSON) with every workflow, activity and child input and result encrypted. */
async function encryptHistory(value: unknown, codec: EncryptionCodec, key?: string): Promise<unknown> {
  if (Array.isArray(value)) return Promise.all(value.map((v) => encryptHistory(v, codec)));
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  if ((key === 'input' || key === 'result') && Array.isArray(o.payloads)) {
    return { payloads: (await codec.encode((o.payloads as JsonPayload[]).map(payloadFromJson))).map(payloadToJson) };
  }
  return Object.fromEntries(await Promise.all(Object.entries(o).map(async ([k, v]) => [k, await encryptHistory(v, codec, k)])));
}

/** The ids of the patches a history's markers record. */
function patchesOf(history: { events: { markerRecordedEventAttributes?: { markerName: string; details?: Record<string, { payloads: JsonPayload[] }> } }[] }): string[] {
  return history.events
    .map((e) => e.markerRecordedEventAttributes)
    .filter((m) => m?.markerName === 'core_patch')
    .map((m) => (JSON.parse(Buffer.from(m!.details!['patch-data'].payloads[0].data!, 'base64').toString()) as { id: string }).id);
}

describe('recorded workflow histories', () => {
  it('replay against the current workflow code without nondeterminism errors, also when their payloads are encrypted', async () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
    expect(files.length).toBeGreaterThanOrEqual(10);
    // The v2- operation histories were recorded on the target seam, so they replay its code path.
    for (const f of files.filter((f) => f.startsWith('v2-') && !f.includes('node-') && !f.includes('lock'))) {
      expect({ f, patches: patchesOf(JSON.parse(readFileSync(join(dir, f), 'utf8'))) }).toEqual({ f, patches: expect.arrayContaining(['target-seam']) });
    }
    // The v3- histories were recorded with the saga in the memo (a Terminate, its compensation, a Retry run, a cancel, a pause then rollback).
    const v3 = files.filter((f) => f.startsWith('v3-'));
    expect(v3.length).toBeGreaterThanOrEqual(5);
    for (const f of v3) {
      const patches = patchesOf(JSON.parse(readFileSync(join(dir, f), 'utf8')));
      expect({ f, patches }).toEqual({ f, patches: expect.arrayContaining([f.includes('compensation') ? 'restore-in-turn' : 'saga-in-memo']) });
    }
    // The v4- histories were recorded with local activities one at a time (a success, a rollback, a cancel, a Rollback, Scale, Undeploy, a pause then rollback or retry, a node that failed its health check).
    const v4 = files.filter((f) => f.startsWith('v4-'));
    expect(v4.length).toBeGreaterThanOrEqual(9);
    for (const f of v4) expect({ f, patches: patchesOf(JSON.parse(readFileSync(join(dir, f), 'utf8'))) }).toEqual({ f, patches: expect.arrayContaining(['local-activity-lane']) });
    const histories = join(work, 'histories');
    mkdirSync(histories);
    for (const f of files) copyFileSync(join(dir, f), join(histories, f));

    const keysFile = join(work, 'payload-keys.json');
    writeFileSync(keysFile, JSON.stringify({ current: 'test', keys: { test: randomBytes(32).toString('base64') } }), { mode: 0o600 });
    const encrypted = JSON.stringify(await encryptHistory(JSON.parse(readFileSync(join(dir, 'deploy-succeeded.json'), 'utf8')), new EncryptionCodec(loadPayloadKeys(keysFile))));
    expect(encrypted).toContain(Buffer.from('binary/encrypted').toString('base64'));
    writeFileSync(join(histories, 'deploy-succeeded.encrypted.json'), encrypted);

    const run = spawnSync(process.execPath, [join(root, 'scripts/replay-histories.js'), histories], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, DEPLOYER_PAYLOAD_ENCRYPTION: 'on', DEPLOYER_PAYLOAD_KEYS_FILE: keysFile },
    });
    expect({ status: run.status, stderr: run.status === 0 ? undefined : run.stderr }).toEqual({ status: 0 });
    const results = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; ok: boolean; error?: string });
    expect(results.map((r) => r.file).sort()).toEqual([...files, 'deploy-succeeded.encrypted.json'].sort());
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });
});
