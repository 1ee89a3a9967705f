import { formatPath, parseRequest } from '../../src/bridge/parse';
import { contractExample } from '../fixtures/requests';

const ctx = { knownNodes: new Set(['fog-1', 'fog-2', 'fog-3']), maxBytes: 4096 };
const buf = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const withoutUnsupported = { ...contractExample, container: { ...contractExample.container, secrets: [] }, dependsOn: [] };

describe('parsing a request message', () => {
  it('accepts a valid request', () => {
    const parsed = parseRequest(buf(withoutUnsupported), ctx);
    expect(parsed.ok).toBe(true);
  });

  it('names an unknown node by its position, as the contract shows', () => {
    const parsed = parseRequest(buf({ ...withoutUnsupported, nodes: ['fog-1', 'fog-9'] }), ctx);
    expect(parsed).toMatchObject({ ok: false, reason: "nodes[1]: unknown node 'fog-9'", deploymentId: 'd-20261123-0001', application: 'temp-sensor' });
  });

  it('rejects invalid JSON without a deploymentId', () => {
    const parsed = parseRequest(buf('{"kind": "Deploy",'), ctx);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.reason).toMatch(/^the request is not valid JSON/);
    expect(parsed.deploymentId).toBeUndefined();
  });

  it('rejects a message over the size limit before parsing it', () => {
    const parsed = parseRequest(Buffer.alloc(5000, 0x20), ctx);
    expect(parsed).toMatchObject({ ok: false, reason: 'the request is 5000 bytes; the limit is 4096 bytes' });
  });

  it('rejects bytes that are not UTF-8', () => {
    expect(parseRequest(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), ctx)).toMatchObject({ ok: false, reason: 'the request is not valid UTF-8 text' });
  });

  it('rejects an empty message', () => {
    expect(parseRequest(null, ctx)).toMatchObject({ ok: false });
  });

  it('says which field is wrong and keeps a readable deploymentId for the Rejected event', () => {
    const parsed = parseRequest(buf({ ...withoutUnsupported, replicasPerNode: 'two' }), ctx);
    expect(parsed).toMatchObject({ ok: false, deploymentId: 'd-20261123-0001' });
    if (!parsed.ok) expect(parsed.reason).toMatch(/^replicasPerNode: /);
  });

  it('names unknown fields as not part of the contract', () => {
    const parsed = parseRequest(buf({ ...withoutUnsupported, container: { privileged: true } }), ctx);
    expect(parsed).toMatchObject({ ok: false, reason: 'container: unknown field "privileged": not part of the contract' });
  });

  it('lists the valid kinds when the kind is unknown', () => {
    const parsed = parseRequest(buf({ kind: 'Nuke', deploymentId: 'x' }), ctx);
    expect(parsed).toMatchObject({ ok: false, reason: 'kind: must be one of Deploy, Cancel, Retry, Rollback, Scale, Undeploy', deploymentId: 'x' });
  });

  it('formats paths the way a person names a field', () => {
    expect(formatPath(['nodes', 1])).toBe('nodes[1]');
    expect(formatPath(['container', 'files', 0, 'path'])).toBe('container.files[0].path');
    expect(formatPath([])).toBe('');
  });
});
