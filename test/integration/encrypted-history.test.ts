// Encrypted workflow history on the real stack: exported with the Temporal CLI, as an
// operator (or anyone with access to the Temporal server) would, every workflow and activity
// payload of a deployment is ciphertext naming its key, and the application's name and the
// deploymentId cannot be read in any payload. The codec server gives the request back to a
// caller holding the codec token, and to no one else; it answers the Temporal UI's CORS
// preflight. A deployment that fails leaves no failure message readable there either: each
// reads "Encoded failure", the reason encrypted beside it, read back by the client, the codec
// server and the CLI, and said in full by the events and the record.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createCodecServer } from '../../src/codec/codec-server';
import { ENCRYPTED_ENCODING, EncryptionCodec, KEY_ID_METADATA } from '../../src/codec/encryption-codec';
import type { JsonPayload } from '../../src/codec/payload-json';
import { loadPayloadKeys } from '../../src/codec/payload-keys';
import { Secret } from '../../src/config';
import { runCli } from '../support/cli';
import { PATCHES } from '../../workflows/patches';
import { createLogger } from '../../src/log';
import { removeApplication, startDeployer, waitFor, type TestDeployer } from '../support/deployer';
import { exportHistory, failuresIn, historyText, payloadsIn, type FoundFailure, type FoundPayload } from '../support/history';

jest.setTimeout(180_000);

const stamp = Date.now().toString(36);
const app = `it-encrypted-${stamp}`;
const deploymentId = `${app}-1`;
const port = 18140;
const token = randomBytes(24).toString('base64url');
const ui = 'http://127.0.0.1:8233';
let d: TestDeployer;
let server: Server;
let codecUrl: string;
let request: ReturnType<typeof requestOf>;
let workflowInput: JsonPayload;

const b64 = (s: string) => Buffer.from(s).toString('base64');
// Search attributes stay readable by design: the server indexes them for the UI's queries.
const isSearchAttribute = (p: FoundPayload) => /\.(searchAttributes|upsertWorkflowSearchAttributesEventAttributes)\./.test(p.path);

function requestOf(version: string, container: Record<string, unknown> = {}) {
  return {
    kind: 'Deploy',
    deploymentId: `${app}-${version}`,
    application: { name: app, version, image: `${d.inventory.registry.pull}/busybox:1` },
    nodes: [d.inventory.nodes[0]!.id],
    container: { command: ['sh', '-c', `trap 'exit 0' TERM; httpd -f -p ${port} -h / & wait`], ...container },
    healthCheck: { tcp: { port }, intervalMs: 200 },
  };
}

beforeAll(async () => {
  d = await startDeployer('encrypted');
  const keys = loadPayloadKeys(d.config.payloadEncryption.keysPath);
  server = createCodecServer({ codec: new EncryptionCodec(keys), token: new Secret(token), origins: [ui], log: createLogger('codec-server', 'warn') });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  codecUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.close();
  if (d) {
    await removeApplication(d, app);
    await d.stop();
  }
});

describe('workflow history of a deployment', () => {
  it('holds every workflow and activity payload encrypted with the current key, the application unreadable', async () => {
    const node = d.inventory.nodes[0]!;
    request = requestOf('1');
    await d.send(request);
    expect((await d.terminal(deploymentId)).at(-1)!.phase).toBe('Succeeded');

    const { current } = loadPayloadKeys(d.config.payloadEncryption.keysPath);
    const found = [deploymentId, `${deploymentId}/${node.id}`].flatMap((id) => payloadsIn(exportHistory(d.config.temporal.address, id).json));
    const payloads = found.filter((p) => !isSearchAttribute(p));
    // The kinds of payload a deployment writes are all there, so that "every" below means something.
    for (const kind of [
      /workflowExecutionStartedEventAttributes\.input\./,
      // Local activities: their results are recorded in markers (their inputs are not recorded at all).
      /markerRecordedEventAttributes\.details\.result\./,
      /startChildWorkflowExecutionInitiatedEventAttributes\.input\./,
      /childWorkflowExecutionCompletedEventAttributes\.result\./,
      /workflowExecutionCompletedEventAttributes\.result\./,
    ]) {
      expect({ kind: kind.source, found: payloads.some((p) => kind.test(p.path)) }).toEqual({ kind: kind.source, found: true });
    }

    const notEncrypted = payloads.filter((p) => p.payload.metadata?.encoding !== b64(ENCRYPTED_ENCODING) || p.payload.metadata?.[KEY_ID_METADATA] !== b64(current));
    // Temporal's core writes two kinds of marker data itself, past the data converter: a patch
    // marker's, which holds only the Deployer's own patch id (workflows/patches.ts), and a local
    // activity marker's bookkeeping (its sequence number, type, attempt and times), nothing of the request.
    const decoded = (p: { payload: { data?: string | null } }) => JSON.parse(Buffer.from(p.payload.data ?? '', 'base64').toString('utf8')) as Record<string, unknown>;
    const patchMarkers = notEncrypted.filter((p) => /markerRecordedEventAttributes\.details\.patch-data\./.test(p.path));
    const patchIds: unknown[] = Object.values(PATCHES);
    expect(patchMarkers.length).toBeGreaterThan(0);
    expect(patchMarkers.map((p) => decoded(p).id).filter((id) => !patchIds.includes(id))).toEqual([]);
    const activityMarkers = notEncrypted.filter((p) => /markerRecordedEventAttributes\.details\.data\./.test(p.path));
    expect(activityMarkers.length).toBeGreaterThan(0);
    for (const m of activityMarkers) expect(Object.keys(decoded(m)).sort()).toEqual(['activity_id', 'activity_type', 'attempt', 'backoff', 'complete_time', 'original_schedule_time', 'seq']);
    expect(notEncrypted.filter((p) => !patchMarkers.includes(p) && !activityMarkers.includes(p))).toEqual([]);
    const stored = payloads.map((p) => Buffer.from(p.payload.data ?? '', 'base64').toString('latin1')).join('\n');
    expect({ application: stored.includes(app), deploymentId: stored.includes(deploymentId) }).toEqual({ application: false, deploymentId: false });

    workflowInput = found.find((p) => p.path === 'events.0.workflowExecutionStartedEventAttributes.input.payloads.0')!.payload;
  });

  it('is decrypted by the codec server for a caller with the token, giving back the request sent', async () => {
    const res = await fetch(`${codecUrl}/decode`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'X-Namespace': d.config.temporal.namespace },
      body: JSON.stringify({ payloads: [workflowInput] }),
    });
    expect(res.status).toBe(200);
    const { payloads } = (await res.json()) as { payloads: JsonPayload[] };
    expect(payloads).toHaveLength(1);
    expect(Buffer.from(payloads[0]!.metadata!.encoding!, 'base64').toString()).toBe('json/plain');
    const decoded = JSON.parse(Buffer.from(payloads[0]!.data!, 'base64').toString('utf8'));
    expect(decoded).toMatchObject(request);
    expect(decoded.application.name).toBe(app);
    expect(decoded.nodes).toEqual([d.inventory.nodes[0]!.id]);
  });

  it('is not decrypted by the codec server for a caller without the token or with a wrong one', async () => {
    const body = JSON.stringify({ payloads: [workflowInput] });
    const without = await fetch(`${codecUrl}/decode`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    expect(without.status).toBe(401);
    expect(without.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await without.text()).not.toContain(app);
    const wrong = await fetch(`${codecUrl}/decode`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}x` }, body });
    expect(wrong.status).toBe(401);
  });

  it('answers the Temporal UI’s CORS preflight, and no other origin’s', async () => {
    const preflight = (origin: string) =>
      fetch(`${codecUrl}/decode`, {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,authorization,x-namespace' },
      });
    const res = await preflight(ui);
    expect(res.status).toBe(204);
    expect({
      origin: res.headers.get('access-control-allow-origin'),
      credentials: res.headers.get('access-control-allow-credentials'),
      methods: res.headers.get('access-control-allow-methods'),
      headers: res.headers.get('access-control-allow-headers'),
    }).toEqual({ origin: ui, credentials: 'true', methods: 'POST, OPTIONS', headers: 'Content-Type, Authorization, X-Namespace' });
    const other = await preflight('http://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('failure messages of deployments that failed', () => {
  // Each reason holds a marker that is not in any payload's plain text. The check's shell puts
  // its marker together as it runs: the check's output, which the workflow quotes, holds it.
  // A secret that does not exist fails an activity, whose error the worker converts.
  const failing = [
    {
      deploymentId: `${app}-2`,
      container: { configCheck: { command: ['sh', '-c', `printf 'config %s-%s at line 3\\n' unreadable ${stamp}; exit 3`], timeoutMs: 10_000 } },
      marker: `unreadable-${stamp}`,
      reason: `output: config unreadable-${stamp} at line 3`,
    },
    { deploymentId: `${app}-3`, container: { secrets: [{ name: 'DB', ref: `missing-${stamp}` }] }, marker: `missing-${stamp}`, reason: `secret '${app}/missing-${stamp}' not found` },
  ];
  const idsOf = (deploymentId: string) => [deploymentId, `${deploymentId}/${d.inventory.nodes[0]!.id}`];
  const failures: FoundFailure[] = [];

  it('are stored encrypted with the current key, "Encoded failure" in their place and the reasons nowhere in the histories', async () => {
    for (const f of failing) {
      await d.send(requestOf(f.deploymentId.slice(app.length + 1), f.container));
      expect((await d.terminal(f.deploymentId)).at(-1)!.phase).toBe('RolledBack');
    }
    const { current } = loadPayloadKeys(d.config.payloadEncryption.keysPath);
    const ids = failing.flatMap((f) => idsOf(f.deploymentId));
    failures.push(...ids.flatMap((id) => failuresIn(exportHistory(d.config.temporal.address, id).json).map((f) => ({ ...f, path: `${id}: ${f.path}` }))));
    // The kinds of failure are all there: an activity's, a node workflow's, a deployment's.
    for (const kind of [/(activityTaskFailedEventAttributes|markerRecordedEventAttributes)\.failure$/, /childWorkflowExecutionFailedEventAttributes\.failure$/, /\.workflowExecutionFailedEventAttributes\.failure$/]) {
      expect({ kind: kind.source, found: failures.some((f) => kind.test(f.path)) }).toEqual({ kind: kind.source, found: true });
    }
    const readable = failures.filter(
      ({ failure: f }) => f.message !== 'Encoded failure' || (f.stackTrace ?? '') !== '' || f.encodedAttributes?.metadata?.encoding !== b64(ENCRYPTED_ENCODING) || f.encodedAttributes.metadata[KEY_ID_METADATA] !== b64(current),
    );
    expect(readable).toEqual([]);
    for (const f of failing) {
      const histories = await Promise.all(idsOf(f.deploymentId).map((id) => historyText(d, id)));
      // Decrypted, the histories hold the reason: not finding it stored means something.
      expect({ marker: f.marker, stored: histories.some((h) => h.stored.includes(f.marker)), decrypted: histories.every((h) => h.decrypted.includes(f.marker)) }).toEqual({ marker: f.marker, stored: false, decrypted: true });
    }
  });

  it('are read back in full by a client with the codec, and by the codec server for a caller with the token', async () => {
    for (const f of failing) {
      const reason = await d.client.workflow.getHandle(f.deploymentId).result().then(
        () => 'succeeded',
        (err: Error) => (err.cause as Error | undefined)?.message ?? err.message,
      );
      expect(reason).toMatch(/^rolled back: /);
      expect(reason).toContain(f.reason);
    }

    // What the Temporal UI sends the codec server for a failure: its encoded attributes.
    const failed = failures.find((f) => f.path.startsWith(`${failing[0]!.deploymentId}: `) && /\.workflowExecutionFailedEventAttributes\.failure$/.test(f.path))!;
    const decode = (headers: Record<string, string>) => fetch(`${codecUrl}/decode`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify({ payloads: [failed.failure.encodedAttributes] }) });
    const res = await decode({ Authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
    const { payloads } = (await res.json()) as { payloads: JsonPayload[] };
    expect(JSON.parse(Buffer.from(payloads[0]!.data!, 'base64').toString('utf8'))).toEqual({ message: expect.stringContaining(failing[0]!.reason), stack_trace: expect.any(String) });
    const without = await decode({});
    expect({ status: without.status, reason: (await without.text()).includes(failing[0]!.marker) }).toEqual({ status: 401, reason: false });
  });

  it('still give the reasons in the events, the records and `deployer status`', async () => {
    for (const f of failing) {
      expect(d.events.filter((e) => e.deploymentId === f.deploymentId).at(-1)!.message).toContain(f.reason);
      const record = await waitFor(`the record of ${f.deploymentId}`, () => d.records.filter((r) => r.deploymentId === f.deploymentId).at(-1), 30_000);
      expect(record.reason).toContain(f.reason);
      // Exit 1: the deployment did not succeed.
      const status = await runCli(['status', f.deploymentId], d.env);
      expect({ code: status.code, stderr: status.stderr }).toEqual({ code: 1, stderr: expect.any(String) });
      expect(status.stdout).toContain(f.reason);
    }
  });
});
