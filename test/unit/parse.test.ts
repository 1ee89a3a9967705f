import { parseRequest } from '../../src/bridge/parse';
import { formatPath } from '../../src/core/issues';
import { inventorySchema } from '../../src/core/schemas/inventory';
import { contractExample } from '../fixtures/requests';

const node = (id: string, allow?: unknown) => ({ id, docker: { host: id, port: 2375, insecure: true }, address: id, ...(allow ? { allow } : {}) });
const inventory = inventorySchema.parse({
  registry: { push: '127.0.0.1:5000', pull: '10.77.0.1:5000' },
  buildHost: { docker: { socketPath: '/run/docker.sock' } },
  nodes: [node('fog-1', { capabilities: ['NET_ADMIN'], hostPaths: ['/data'] }), node('fog-2'), node('fog-3')],
});
const ctx = { inventory, gitPrefixes: ['https://git.example.org/team/'], maxBytes: 4096 };
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
    const parsed = parseRequest(buf({ ...withoutUnsupported, container: { capAdd: ['SYS_ADMIN'] } }), ctx);
    expect(parsed).toMatchObject({ ok: false, reason: 'container: unknown field "capAdd": not part of the contract' });
  });

  it('rejects an option a node of the request does not allow, naming the node, and keeps the deploymentId for the Rejected event', () => {
    const parsed = parseRequest(buf({ ...withoutUnsupported, container: { privileged: true } }), ctx);
    expect(parsed).toMatchObject({
      ok: false,
      reason: "container.privileged: privileged mode is not allowed on node 'fog-1' (inventory: nodes[fog-1].allow.privileged) (and 2 more problems)",
      deploymentId: 'd-20261123-0001',
      application: 'temp-sensor',
    });
    if (!parsed.ok) expect(parsed.issues.map((i) => i.message.match(/node '([^']+)'/)![1])).toEqual(['fog-1', 'fog-2', 'fog-3']);
  });

  it('accepts the options the inventory allows on every node of the request, and only there', () => {
    const container = { capabilities: ['NET_ADMIN'], mounts: [{ source: '/data', target: '/mnt/data' }] };
    expect(parseRequest(buf({ ...withoutUnsupported, nodes: ['fog-1'], container }), ctx).ok).toBe(true);
    expect(parseRequest(buf({ ...withoutUnsupported, nodes: ['fog-1'], container: { ...container, mounts: [{ source: '/database', target: '/mnt/data' }] } }), ctx)).toMatchObject({
      ok: false,
      reason: "container.mounts[0].source: a bind mount of host path /database is not allowed on node 'fog-1' (inventory: nodes[fog-1].allow.hostPaths)",
    });
    expect(parseRequest(buf({ ...withoutUnsupported, nodes: ['fog-1', 'fog-2'], container }), ctx)).toMatchObject({
      ok: false,
      reason: "container.capabilities[0]: capability NET_ADMIN is not allowed on node 'fog-2' (inventory: nodes[fog-2].allow.capabilities) (and 1 more problem)",
    });
  });

  it('reports an unknown node before any policy question', () => {
    const parsed = parseRequest(buf({ ...withoutUnsupported, nodes: ['fog-9'], container: { privileged: true } }), ctx);
    expect(parsed).toMatchObject({ ok: false, reason: "nodes[0]: unknown node 'fog-9'" });
  });

  it('rejects a git source outside the configured prefixes, naming the setting, and takes one inside', () => {
    const from = (context: string) => buf({ ...withoutUnsupported, application: { ...withoutUnsupported.application, source: { context } } });
    expect(parseRequest(from('https://169.254.169.254/latest/meta-data.git'), ctx)).toMatchObject({
      ok: false,
      reason:
        "application.source.context: the git source is not under a prefix this Deployer may fetch (DEPLOYER_GIT_PREFIXES: https://git.example.org/team/); ask its operator to add the repository's",
      deploymentId: 'd-20261123-0001',
    });
    expect(parseRequest(from('https://git.example.org/team/app.git#main'), ctx)).toMatchObject({ ok: true });
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

describe('parsing a TOSCA service template message', () => {
  const template = (hosts: string[], container = '') => `tosca_definitions_version: tosca_simple_yaml_1_3
metadata:
  deploymentId: stack-1
topology_template:
  node_templates:
${hosts.map((h) => `    ${h}:\n      type: deployer.nodes.Node\n`).join('')}    broker:
      type: deployer.nodes.Application
      properties:
        application: { version: "2", image: "reg:5000/broker:2" }
      requirements:
${hosts.map((h) => `        - host: ${h}\n`).join('')}    web:
      type: deployer.nodes.Application
      properties:
        application: { version: "1", image: "reg:5000/web:1" }${container}
      requirements:
        - dependency: broker
${hosts.map((h) => `        - host: ${h}\n`).join('')}`;

  it('accepts a template as one Deploy request per application, dependencies first', () => {
    const parsed = parseRequest(buf(template(['fog-1', 'fog-2'])), ctx);
    expect(parsed.ok && parsed.requests.map((r) => r.kind === 'Deploy' && [r.deploymentId, r.nodes, r.dependsOn])).toEqual([
      ['stack-1.broker', ['fog-1', 'fog-2'], []],
      ['stack-1.web', ['fog-1', 'fog-2'], ['broker']],
    ]);
  });

  it('rejects the whole template for a node the inventory does not know, naming the host requirement, its line and column', () => {
    const parsed = parseRequest(buf(template(['fog-1', 'fog-9'])), ctx);
    expect(parsed).toMatchObject({
      ok: false,
      reason: "topology_template.node_templates.broker.requirements[1].host (line 16, column 17): unknown node 'fog-9' (and 1 more problem)",
      issues: [
        { path: ['topology_template', 'node_templates', 'broker', 'requirements', 1, 'host'], message: "unknown node 'fog-9'", line: 16, column: 17 },
        { path: ['topology_template', 'node_templates', 'web', 'requirements', 2, 'host'], message: "unknown node 'fog-9'", line: 24, column: 17 },
      ],
    });
    // A template names no single deployment: no Rejected event.
    expect(parsed).not.toHaveProperty('deploymentId');
  });

  it('rejects an option a node does not allow, at the property that asks for it', () => {
    const parsed = parseRequest(buf(template(['fog-1'], '\n        container: { privileged: true }')), ctx);
    expect(parsed).toMatchObject({
      ok: false,
      reason: "topology_template.node_templates.web.properties.container.privileged (line 18, column 34): privileged mode is not allowed on node 'fog-1' (inventory: nodes[fog-1].allow.privileged)",
    });
  });

  it('rejects a template that is not valid YAML with the line and column of the fault', () => {
    const parsed = parseRequest(buf('tosca_definitions_version: tosca_2_0\nmetadata: [\n'), ctx);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(/^line \d+, column \d+: the template is not valid YAML: /);
  });
});
