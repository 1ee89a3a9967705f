// Bearer tokens of the HTTP API with a fake platform: 401 without a valid token (with the
// challenge), 403 for a viewer's write, and the tokens file re-read when it changes.
import { utimesSync, writeFileSync } from 'node:fs';
import { parseTokens, TokensFileError } from '../../src/http/auth';
import { fakeApi } from '../support/fake-http-deps';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('the HTTP API with a fake platform: bearer tokens', () => {
  it('refuses a request without a token with 401, a problem document and WWW-Authenticate', async () => {
    const { app } = fakeApi();
    const res = await app.request('/v1/deployments');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ type: 'about:blank', title: 'Unauthorized', status: 401 });
  });

  it('refuses an unknown token with 401 and never echoes it', async () => {
    const api = fakeApi();
    api.token('operator');
    const res = await api.app.request('/v1/deployments', { headers: bearer('not-a-real-token') });
    expect(res.status).toBe(401);
    expect(await res.text()).not.toContain('not-a-real-token');
  });

  it('lets a viewer read and answers its write with 403', async () => {
    const api = fakeApi();
    const viewer = api.token('viewer');
    expect((await api.app.request('/v1/deployments', { headers: bearer(viewer) })).status).toBe(200);
    const res = await api.app.request('/v1/deployments/d-1/cancel', { method: 'POST', headers: bearer(viewer) });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ status: 403, title: 'Forbidden' });
    expect(api.sent).toEqual([]);
  });

  it('takes a token added to the file without a restart, and refuses one removed from it', async () => {
    const api = fakeApi();
    const first = api.token('operator', 'first');
    expect((await api.app.request('/v1/nodes', { headers: bearer(first) })).status).toBe(200);
    const second = api.token('viewer', 'second');
    expect((await api.app.request('/v1/nodes', { headers: bearer(second) })).status).toBe(200);
    // Revoked: its line is gone (same size would still differ in mtime; set one in the past to be sure).
    api.writeTokens(api.entries.filter((e) => e.name !== 'first'));
    utimesSync(api.tokensFile, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    expect((await api.app.request('/v1/nodes', { headers: bearer(first) })).status).toBe(401);
    expect((await api.app.request('/v1/nodes', { headers: bearer(second) })).status).toBe(200);
  });

  it('lets nobody in while the tokens file is unreadable', async () => {
    const api = fakeApi();
    const token = api.token('operator');
    writeFileSync(api.tokensFile, '{not json\n');
    expect((await api.app.request('/v1/nodes', { headers: bearer(token) })).status).toBe(401);
  });

  it('reads a JSON array as well as JSON lines, and names a bad entry', () => {
    const entry = { name: 'a', role: 'viewer', salt: 'ab'.repeat(16), hash: 'cd'.repeat(32) };
    expect(parseTokens('/t', JSON.stringify([entry]))).toEqual([entry]);
    expect(() => parseTokens('/t', JSON.stringify({ ...entry, role: 'admin' }))).toThrow(TokensFileError);
  });

  it('answers /healthz and /openapi.json without a token', async () => {
    const { app } = fakeApi();
    expect((await app.request('/healthz')).status).toBe(200);
    expect((await app.request('/openapi.json')).status).toBe(200);
  });
});
