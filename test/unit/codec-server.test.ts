import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultPayloadConverter } from '@temporalio/common';
import { createCodecServer } from '../../src/codec/codec-server';
import { EncryptionCodec } from '../../src/codec/encryption-codec';
import { payloadFromJson, payloadToJson, type JsonPayload } from '../../src/codec/payload-json';
import { Secret } from '../../src/config';
import { createLogger } from '../../src/log';

const token = 'codec-token-for-unit-tests';
const ui = 'http://127.0.0.1:8233';
const codec = new EncryptionCodec({ current: 'k1', keys: new Map([['k1', randomBytes(32)]]) });
let server: Server;
let url: string;

beforeAll(async () => {
  server = createCodecServer({ codec, token: new Secret(token), origins: [ui], log: createLogger('codec-server', 'error') });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.close();
});

const bearer = { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` };
const post = (path: string, payloads: unknown, headers: Record<string, string> = bearer) =>
  fetch(`${url}${path}`, { method: 'POST', headers, body: JSON.stringify({ payloads }) });

describe('the codec server', () => {
  it('decodes what it encodes, under any path whose last segment is encode or decode', async () => {
    const plain = payloadToJson(defaultPayloadConverter.toPayload({ application: 'hello' })!);
    const encoded = await post('/default/encode', [plain]);
    expect(encoded.status).toBe(200);
    const { payloads } = (await encoded.json()) as { payloads: JsonPayload[] };
    expect(Buffer.from(payloads[0]!.metadata!.encoding!, 'base64').toString()).toBe('binary/encrypted');
    const decoded = await post('/default/decode', payloads);
    expect(await decoded.json()).toEqual({ payloads: [plain] });
  });

  it('lets a browser that signed in with the token decode from the UI origin, and from no other', async () => {
    const encrypted = (await codec.encode([defaultPayloadConverter.toPayload('x')!])).map(payloadToJson);
    const signIn = (t: string) =>
      fetch(`${url}/session`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: t }) });
    const refused = await signIn('not-the-token');
    expect({ status: refused.status, cookie: refused.headers.get('set-cookie') }).toEqual({ status: 401, cookie: null });

    const accepted = await signIn(token);
    expect(accepted.status).toBe(200);
    const setCookie = accepted.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/HttpOnly; SameSite=Strict; Path=\/; Max-Age=43200$/);
    const cookie = setCookie.split(';')[0]!;
    const fromUi = await post('/decode', encrypted, { 'Content-Type': 'application/json', Cookie: cookie, Origin: ui });
    expect({ status: fromUi.status, origin: fromUi.headers.get('access-control-allow-origin') }).toEqual({ status: 200, origin: ui });
    expect(defaultPayloadConverter.fromPayload(payloadFromJson(((await fromUi.json()) as { payloads: JsonPayload[] }).payloads[0]!))).toBe('x');
    expect((await post('/decode', encrypted, { 'Content-Type': 'application/json', Cookie: cookie, Origin: 'http://127.0.0.1:9999' })).status).toBe(401);
    expect((await post('/decode', encrypted, { 'Content-Type': 'application/json', Cookie: 'deployer-codec-session=forged', Origin: ui })).status).toBe(401);
    // A UI behind its own login also sends that login's token as a bearer: the session still counts, the foreign token alone does not.
    expect((await post('/decode', encrypted, { 'Content-Type': 'application/json', Cookie: cookie, Origin: ui, Authorization: 'Bearer ui-login-token' })).status).toBe(200);
    expect((await post('/decode', encrypted, { 'Content-Type': 'application/json', Origin: ui, Authorization: 'Bearer ui-login-token' })).status).toBe(401);
  });

  it('answers 422, naming the key, for a payload it cannot decrypt', async () => {
    const other = new EncryptionCodec({ current: 'k9', keys: new Map([['k9', randomBytes(32)]]) });
    const foreign = (await other.encode([defaultPayloadConverter.toPayload('x')!])).map(payloadToJson);
    const res = await post('/decode', foreign);
    expect({ status: res.status, body: await res.json() }).toEqual({ status: 422, body: { message: "payload encrypted with unknown key 'k9'" } });
  });

  it('answers 400 to a body that is not payloads, 405 to a GET of decode and 404 elsewhere', async () => {
    expect((await post('/decode', [{ metadata: { encoding: 'not base64!' } }])).status).toBe(400);
    expect((await fetch(`${url}/decode`, { method: 'POST', headers: bearer, body: '{' })).status).toBe(400);
    expect((await fetch(`${url}/decode`, { headers: bearer })).status).toBe(405);
    expect((await fetch(`${url}/keys`, { headers: bearer })).status).toBe(404);
  });
});
