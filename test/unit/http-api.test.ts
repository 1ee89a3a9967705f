// The HTTP API's requests and answers with a fake platform: a request goes through the
// bridge's own parser and is produced keyed by application (202 + Location), a template as
// one Deploy per application, every issue listed in one 422 problem, Cancel and Retry checked
// like the CLI's, body limits and content types as problems, and /openapi.json a valid
// OpenAPI 3.1 document that declares the problem responses.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeApi, type FakeApi } from '../support/fake-http-deps';

const deploy = (id: string, overrides: Record<string, unknown> = {}) => ({
  kind: 'Deploy',
  deploymentId: id,
  application: { name: 'web', version: '1', image: '10.0.0.1:5000/web:1' },
  nodes: ['fog-1'],
  ...overrides,
});

const template = `tosca_definitions_version: tosca_simple_yaml_1_3
metadata:
  template_name: pair
  deploymentId: pair-1
topology_template:
  node_templates:
    api:
      type: deployer.nodes.Application
      properties:
        application: { name: api, version: "1", image: 10.0.0.1:5000/api:1 }
      requirements:
        - host: edge
        - dependency: db
    db:
      type: deployer.nodes.Application
      properties:
        application: { name: db, version: "2", image: 10.0.0.1:5000/db:2 }
      requirements:
        - host: edge
    edge:
      type: deployer.nodes.Node
      properties: { id: fog-2 }
`;

let api: FakeApi;
let operator: string;
const post = (path: string, body: string, type = 'application/json', token = operator) =>
  api.app.request(path, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body });

beforeEach(() => {
  api = fakeApi();
  operator = api.token('operator');
});

describe('the HTTP API with a fake platform: sending requests', () => {
  it('produces a valid request keyed by its application and answers 202 with its Location', async () => {
    const res = await post('/v1/deployments', JSON.stringify(deploy('web-1')));
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe('/v1/deployments/web-1');
    expect(await res.json()).toEqual({ kind: 'Deploy', deploymentId: 'web-1', application: 'web' });
    expect(api.sent).toMatchObject([{ key: 'web', request: { kind: 'Deploy', deploymentId: 'web-1' } }]);
  });

  it('lists every issue of a bad request in a 422 problem by path, the inventory\'s as the bridge finds them, and sends nothing', async () => {
    const res = await post('/v1/deployments', JSON.stringify(deploy('web-2', { nodes: [], application: { name: 'web', version: '1' } })));
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const body = (await res.json()) as { errors: { path: string; message: string }[] };
    expect(body).toMatchObject({ status: 422, title: 'Unprocessable Content' });
    expect(body.errors.map((e) => e.path).sort()).toEqual(['application', 'nodes']);
    expect(api.sent).toEqual([]);
    // The schema passes; only the inventory refuses: its issue is named by path.
    const unknownNode = await post('/v1/validate', JSON.stringify(deploy('web-3', { nodes: ['fog-1', 'fog-9'] })));
    expect(unknownNode.status).toBe(422);
    expect(await unknownNode.json()).toMatchObject({ errors: [{ path: 'nodes[1]', message: "unknown node 'fog-9'" }] });
  });

  it('validates without sending: 200 with the requests', async () => {
    const res = await post('/v1/validate', JSON.stringify(deploy('web-4')));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ valid: true, requests: [{ deploymentId: 'web-4' }] });
    expect(api.sent).toEqual([]);
  });

  it('takes a TOSCA template as application/yaml: one Deploy per application, dependencies first', async () => {
    const res = await post('/v1/deployments', template, 'application/yaml');
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as { application: string }[];
    expect(accepted.map((a) => a.application)).toEqual(['db', 'api']);
    expect(api.sent.map((s) => s.key)).toEqual(['db', 'api']);
    // The answer is a list and has no Location (it names several deployments): the document does not require one here.
    expect(res.headers.get('location')).toBeNull();
    const doc = (await (await api.app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, { responses: Record<string, { headers?: Record<string, { required?: boolean }> }> }>> };
    expect(doc.paths['/v1/deployments']!.post!.responses['202']!.headers!.Location!.required).not.toBe(true);
  });

  it('answers a body that is not JSON with 400, an unsupported content type with 415, a body over 1 MiB with 413', async () => {
    expect((await post('/v1/deployments', '{"kind":')).status).toBe(400);
    const latin1 = await api.app.request('/v1/validate', { method: 'POST', headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' }, body: Buffer.from([0x7b, 0xff, 0x7d]) });
    expect(await latin1.json()).toMatchObject({ status: 400, detail: 'the body is not valid UTF-8 text' });
    const unsupported = await post('/v1/deployments', 'kind=Deploy', 'application/x-www-form-urlencoded');
    expect(unsupported.status).toBe(415);
    expect(unsupported.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await post('/v1/applications/web/scale', 'nodes: [fog-1]', 'text/plain')).status).toBe(415);
    expect((await post('/v1/applications/web/scale', '{"nodes":')).status).toBe(400);
    const big = await post('/v1/deployments', JSON.stringify(deploy('web-5', { padding: 'x'.repeat(1024 * 1024) })));
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ status: 413, title: 'Content Too Large' });
    expect(api.sent).toEqual([]);
  });

  it('builds scale, rollback and undeploy requests from the path and a small body', async () => {
    expect((await post('/v1/applications/web/scale', JSON.stringify({ nodes: ['fog-1', 'fog-2'], replicasPerNode: 2, deploymentId: 'web-scale-1' }))).status).toBe(202);
    // Every field of a rollback's body has a default: no body at all is a rollback to the previous healthy version.
    expect((await api.app.request('/v1/applications/web/rollback', { method: 'POST', headers: { authorization: `Bearer ${operator}` } })).status).toBe(202);
    expect((await post('/v1/applications/web/undeploy', JSON.stringify({ nodes: ['fog-2'] }))).status).toBe(202);
    expect(api.sent.map((s) => [s.key, s.request.kind])).toEqual([
      ['web', 'Scale'],
      ['web', 'Rollback'],
      ['web', 'Undeploy'],
    ]);
    expect(api.sent[0]!.request).toEqual({ kind: 'Scale', deploymentId: 'web-scale-1', application: 'web', nodes: ['fog-1', 'fog-2'], replicasPerNode: 2 });
    const bad = await post('/v1/applications/web/scale', JSON.stringify({ nodes: [], extra: 1 }));
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { errors: { path: string }[] }).errors.map((e) => e.path).sort()).toEqual(['json', 'json.nodes']);
  });

  it('sends a Cancel only for a running deployment Temporal knows, keyed by its application', async () => {
    expect((await post('/v1/deployments/nobody/cancel', '')).status).toBe(404);
    api.deployments.set('web-6', { deploymentId: 'web-6', application: 'web', status: 'Succeeded', nodes: {}, source: 'temporal' });
    const ended = await post('/v1/deployments/web-6/cancel', '');
    expect(ended.status).toBe(409);
    expect(await ended.json()).toMatchObject({ detail: "deployment 'web-6' has already ended (Succeeded); a Cancel would change nothing" });
    api.deployments.set('web-7', { deploymentId: 'web-7', application: 'web', status: 'Running', phase: 'Deploying', nodes: {}, source: 'temporal' });
    expect((await post('/v1/deployments/web-7/cancel', '')).status).toBe(202);
    expect((await post('/v1/deployments/web-6/retry', '')).status).toBe(409);
    expect(api.sent).toEqual([{ key: 'web', request: { kind: 'Cancel', deploymentId: 'web-7' } }]);
  });

  it('answers an unknown deployment with 404 and bad query parameters with 422', async () => {
    const headers = { authorization: `Bearer ${operator}` };
    expect((await api.app.request('/v1/deployments/nobody', { headers })).status).toBe(404);
    const bad = await api.app.request('/v1/deployments?status=Bogus&limit=0&since=yesterday', { headers });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { errors: { path: string }[] }).errors.map((e) => e.path).sort()).toEqual(['query.limit', 'query.since', 'query.status']);
    // A duration that fits the pattern but reaches back before the year 0, which Temporal's visibility query cannot read (it answered 500).
    for (const path of ['/v1/deployments?since=999999d', '/v1/records?since=999999w']) expect([path, (await api.app.request(path, { headers })).status]).toEqual([path, 422]);
  });

  it('answers a method a path does not take with 405 and the methods it takes', async () => {
    const res = await api.app.request('/v1/nodes', { method: 'DELETE', headers: { authorization: `Bearer ${operator}` } });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
    expect((await api.app.request('/v1/nowhere', { headers: { authorization: `Bearer ${operator}` } })).status).toBe(404);
  });

  it('answers 503 when Temporal or Kafka cannot be reached, and 500 without details for anything else', async () => {
    const unreachable = Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:19092'), { name: 'KafkaJSConnectionError' });
    const down = fakeApi({ records: () => Promise.reject(unreachable), list: () => Promise.reject(new Error('a bug')) });
    const headers = { authorization: `Bearer ${down.token('viewer')}` };
    const records = await down.app.request('/v1/records', { headers });
    expect({ status: records.status, body: await records.json() }).toMatchObject({ status: 503, body: { type: 'urn:deployer:problem:platform-unreachable' } });
    const list = await down.app.request('/v1/deployments', { headers });
    expect({ status: list.status, body: await list.json() }).toEqual({ status: 500, body: { type: 'about:blank', title: 'Internal Server Error', status: 500, detail: "the request failed inside the Deployer; its log says why" } });
  });

  it('answers /readyz with 503 naming what it cannot reach', async () => {
    const down = fakeApi({ unreachable: async () => [{ service: 'Kafka', reason: 'cannot reach Kafka at 127.0.0.1:1: connection refused' }] });
    const res = await down.app.request('/readyz');
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 503, errors: [{ path: 'Kafka' }] });
  });
});

describe('the HTTP API with a fake platform: Server-Sent Events', () => {
  const event = (seq: number, phase: string) => ({ deploymentId: 'web-9', application: 'web', phase, message: phase, at: '2026-12-07T08:00:00.000Z', seq });

  it('streams the events with their seq as ids, and after Last-Event-ID only what the client missed', async () => {
    api.events.push(...([event(1, 'Accepted'), event(2, 'Deploying'), event(3, 'Succeeded')] as typeof api.events));
    const headers = { authorization: `Bearer ${api.token('viewer')}` };
    const all = await api.app.request('/v1/deployments/web-9/events', { headers });
    expect(all.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await all.text();
    expect([...text.matchAll(/^id: (\d+)$/gm)].map((m) => m[1])).toEqual(['1', '2', '3']);
    expect(text).toContain('event: status');
    const resumed = await (await api.app.request('/v1/deployments/web-9/events', { headers: { ...headers, 'last-event-id': '2' } })).text();
    expect([...resumed.matchAll(/^data: (.*)$/gm)].map((m) => (JSON.parse(m[1]!) as { phase: string }).phase)).toEqual(['Succeeded']);
    expect((await api.app.request('/v1/deployments/web-9/events', { headers: { ...headers, 'last-event-id': 'x' } })).status).toBe(422);
  });
});

describe('the HTTP API with a fake platform: its OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const doc = await (await api.app.request('/openapi.json')).json();
    const file = join(mkdtempSync(join(tmpdir(), 'deployer-openapi-')), 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    // The validator is an ES module: Node's own loader runs it.
    const script = `import { Validator } from '@seriousme/openapi-schema-validator'; const r = await new Validator().validate(process.argv[1]); console.log(JSON.stringify(r));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, file], { cwd: join(__dirname, '../..'), encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ valid: true });
    expect(doc).toMatchObject({ openapi: '3.1.0' });
  });

  it('declares the problem responses of every route, and the request schemas of the contract', async () => {
    const doc = (await (await api.app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>> };
    const declared = (path: string, method: string) => Object.keys(doc.paths[path]![method]!.responses);
    expect(declared('/v1/deployments', 'post')).toEqual(expect.arrayContaining(['202', '400', '401', '403', '404', '409', '413', '415', '422', '503']));
    expect(declared('/v1/deployments/{id}', 'get')).toEqual(expect.arrayContaining(['200', '401', '404', '422', '503']));
    expect(declared('/readyz', 'get')).toEqual(['200', '503']);
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        for (const [status, response] of Object.entries(op.responses)) {
          if (Number(status) >= 400) expect([path, method, status, Object.keys(response.content ?? {})]).toEqual([path, method, status, ['application/problem+json']]);
        }
      }
    }
    expect(JSON.stringify(doc.paths['/v1/deployments']!.post)).toContain('"Deploy"');
  });
});
