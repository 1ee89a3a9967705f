// The fleet's pure rules (src/core/fleet.ts): which Node Manager records change anything, and
// how the topic's view merges with the inventory file. Tested by equality.
import { applyJudgement, emptyTopicView, fleetOfFile, judgeRecord, mergeFleet, siteOf } from '../../src/core/fleet';
import { configIssues } from '../../src/core/admission';
import { inventorySchema } from '../../src/core/schemas/inventory';
import type { Request } from '../../src/core/schemas/request';

const inventory = inventorySchema.parse({
  registry: { push: '127.0.0.1:5000', pull: '10.77.0.1:5000' },
  buildHost: { docker: { socketPath: '/run/build.sock' } },
  tls: { fleet: { ca: '/etc/fleet/ca.pem', cert: '/etc/fleet/cert.pem', key: '/etc/fleet/key.pem' } },
  sites: { 'greenhouse-2': { taskQueue: 'site-gh2' } },
  nodes: [
    { id: 'fog-1', target: { kind: 'docker-engine', docker: { host: '10.77.0.11', port: 2375, insecure: true } }, address: '10.77.0.11', labels: { zone: 'local' }, taskQueue: 'edge', allow: { privileged: true } },
  ],
});

const record = (over: Record<string, unknown> = {}) => ({
  nodeId: 'fog-7',
  generation: 42,
  observedAt: '2026-12-06T17:40:01.123Z',
  status: 'Online',
  site: 'greenhouse-2',
  address: '10.77.0.17',
  platform: 'linux/arm64',
  labels: { zone: 'north' },
  target: { kind: 'docker-engine', docker: { host: '10.77.0.17', port: 2376, tls: 'fleet' } },
  ...over,
});
const bytes = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

describe('judging a node record', () => {
  it('takes a valid record', () => {
    expect(judgeRecord('fog-7', bytes(record()), undefined, inventory)).toEqual({ kind: 'record', record: record() });
  });

  it('takes a null value as the node decommissioned', () => {
    expect(judgeRecord('fog-7', null, 42, inventory)).toEqual({ kind: 'tombstone', nodeId: 'fog-7' });
  });

  it('calls a generation not above the last applied stale, a higher one not', () => {
    expect(judgeRecord('fog-7', bytes(record()), 42, inventory)).toEqual({ kind: 'stale', nodeId: 'fog-7', reason: 'generation 42 is not above 42, the last applied' });
    expect(judgeRecord('fog-7', bytes(record({ generation: 41 })), 42, inventory)).toEqual({ kind: 'stale', nodeId: 'fog-7', reason: 'generation 41 is not above 42, the last applied' });
    expect(judgeRecord('fog-7', bytes(record({ generation: 43 })), 42, inventory).kind).toBe('record');
  });

  it.each([
    ['a nodeId other than its key', 'fog-7', record({ nodeId: 'fog-8' }), "nodeId 'fog-8' differs from the key 'fog-7'"],
    ['bad JSON', 'fog-7', '{"nodeId": ', 'the record is not JSON: Unexpected end of JSON input'],
    ['an unknown status', 'fog-7', record({ status: 'Up' }), 'status: Invalid option: expected one of "Online"|"Offline"|"Draining"'],
    ['a key that is not a node id', 'Fog_7', record(), `the key 'Fog_7' is not a node id: must be 1-63 lower-case letters, digits or "-"`],
    ['TLS files instead of a name', 'fog-7', record({ target: { kind: 'docker-engine', docker: { host: 'h', port: 2376, tls: { ca: '/a', cert: '/b', key: '/c' } } } }), 'target.docker: must name TLS material the Deployer holds ("tls": "fleet"): a record never carries key material or where it lies'],
    ['a PEM key inline', 'fog-7', record({ labels: { key: '-----BEGIN PRIVATE KEY-----\nMIIE' } }), `labels.key: carries key material inline; a record names it ("tls": "fleet") and the Deployer's inventory holds it`],
    ['TLS the inventory does not name', 'fog-7', record({ target: { kind: 'docker-engine', docker: { host: 'h', port: 2376, tls: 'other' } } }), `target.docker.tls names 'other', which the inventory's "tls" does not define (there: fleet)`],
    ['a cluster the inventory does not know', 'fog-7', record({ target: { kind: 'kubernetes', cluster: 'far', nodeName: 'k1' } }), `target.cluster names 'far', which the inventory's "clusters" does not define`],
  ])('refuses %s', (_what, key, value, reason) => {
    expect(judgeRecord(key, bytes(value), undefined, inventory)).toEqual(key === 'Fog_7' ? { kind: 'invalid', reason } : { kind: 'invalid', nodeId: key, reason });
  });

  it('refuses a record over 64 KiB', () => {
    expect(judgeRecord('fog-7', bytes(record({ labels: { big: 'x'.repeat(65 * 1024) } })), undefined, inventory)).toEqual({ kind: 'invalid', nodeId: 'fog-7', reason: `the record is ${65 * 1024 + JSON.stringify(record({ labels: { big: '' } })).length} bytes: at most 65536` });
  });
});

describe('the topic view', () => {
  it('changes for records and tombstones only, and keeps the generation past a tombstone', () => {
    const view = emptyTopicView();
    expect(applyJudgement(view, { kind: 'invalid', reason: 'x' })).toBe(false);
    expect(applyJudgement(view, { kind: 'record', record: judgeRecordOk() })).toBe(true);
    expect(applyJudgement(view, { kind: 'tombstone', nodeId: 'fog-7' })).toBe(true);
    expect(view).toEqual({ records: new Map(), decommissioned: new Set(['fog-7']), generations: new Map([['fog-7', 42]]) });
    // A late copy of the record before the tombstone is stale: the node stays out.
    expect(judgeRecord('fog-7', bytes(record()), view.generations.get('fog-7'), inventory).kind).toBe('stale');
  });
});

function judgeRecordOk() {
  const j = judgeRecord('fog-7', bytes(record()), undefined, inventory);
  if (j.kind !== 'record') throw new Error(j.kind);
  return j.record;
}

/** The topic's view after `records`, each judged as it arrives. */
function topicWith(...records: Record<string, unknown>[]) {
  const view = emptyTopicView();
  for (const r of records) applyJudgement(view, judgeRecord(r.nodeId as string, bytes(r), undefined, inventory));
  return view;
}

describe('merging the file and the topic', () => {
  it('shows the file alone as Online nodes from the file', () => {
    expect(mergeFleet(inventory, emptyTopicView()).fleet.nodes).toEqual([{ ...inventory.nodes[0], fleet: { status: 'Online', source: 'file' } }]);
    expect(fleetOfFile(inventory).nodes).toEqual(mergeFleet(inventory, emptyTopicView()).fleet.nodes);
  });

  it('adds a node only the topic knows, its TLS resolved by name and its site giving its queue', () => {
    const { fleet, problems } = mergeFleet(inventory, topicWith(record()));
    expect(problems).toEqual([]);
    expect(fleet.nodes[1]).toEqual({
      id: 'fog-7',
      target: { kind: 'docker-engine', docker: { host: '10.77.0.17', port: 2376, tls: { ca: '/etc/fleet/ca.pem', cert: '/etc/fleet/cert.pem', key: '/etc/fleet/key.pem' } } },
      address: '10.77.0.17',
      labels: { zone: 'north' },
      taskQueue: 'site-gh2',
      fleet: { status: 'Online', source: 'topic', generation: 42, observedAt: '2026-12-06T17:40:01.123Z', site: 'greenhouse-2', platform: 'linux/arm64' },
    });
  });

  it('lets the topic win for what it states on a node of the file, the file keeping its policy', () => {
    const r = record({ nodeId: 'fog-1', status: 'Draining', site: undefined, labels: undefined, address: '10.77.0.99', target: { kind: 'docker-engine', docker: { host: '10.77.0.99', port: 2375, insecure: true } } });
    expect(mergeFleet(inventory, topicWith(r)).fleet.nodes).toEqual([
      {
        id: 'fog-1',
        target: { kind: 'docker-engine', docker: { host: '10.77.0.99', port: 2375, insecure: true } },
        address: '10.77.0.99',
        labels: { zone: 'local' },
        allow: inventory.nodes[0]!.allow,
        fleet: { status: 'Draining', source: 'topic', generation: 42, observedAt: '2026-12-06T17:40:01.123Z', platform: 'linux/arm64' },
      },
    ]);
  });

  it('takes a tombstoned node out, file or not, and remembers it decommissioned', () => {
    const view = topicWith(record());
    applyJudgement(view, { kind: 'tombstone', nodeId: 'fog-7' });
    applyJudgement(view, { kind: 'tombstone', nodeId: 'fog-1' });
    const { fleet } = mergeFleet(inventory, view);
    expect(fleet.nodes).toEqual([]);
    expect(fleet.decommissioned).toEqual(new Set(['fog-7', 'fog-1']));
  });

  it('leaves a node as the file has it when its record names TLS the file no longer holds', () => {
    const view = topicWith(record({ nodeId: 'fog-1' }));
    const { fleet, problems } = mergeFleet({ ...inventory, tls: {} }, view);
    expect(fleet.nodes).toEqual([{ ...inventory.nodes[0], fleet: { status: 'Online', source: 'file' } }]);
    expect(problems).toEqual([`node 'fog-1': target.docker.tls names 'fleet', which the inventory's "tls" does not define`]);
  });
});

describe('the site of a node', () => {
  it("is the Node Manager's word, else the inventory's site whose queue serves the node, else none", () => {
    const { fleet } = mergeFleet(inventory, topicWith(record()));
    expect(siteOf(inventory, fleet.nodes[1]!)).toBe('greenhouse-2');
    expect(siteOf(inventory, { ...inventory.nodes[0]!, taskQueue: 'site-gh2' })).toBe('greenhouse-2');
    // fog-1's queue 'edge' is no site's; a node of the control queue has none either.
    expect(siteOf(inventory, inventory.nodes[0]!)).toBeUndefined();
    expect(siteOf(inventory, { ...inventory.nodes[0]!, taskQueue: undefined })).toBeUndefined();
  });
});

describe('admission against the fleet', () => {
  it('refuses a new request naming an Offline or Draining node, naming the node and its status', () => {
    const view = topicWith(record({ status: 'Offline' }));
    const { fleet } = mergeFleet(inventory, view);
    const deploy = { kind: 'Deploy', deploymentId: 'd-1', application: { name: 'a', version: '1', image: 'r/a:1' }, nodes: ['fog-1', 'fog-7'] } as unknown as Request;
    expect(configIssues(deploy, { inventory: fleet, gitPrefixes: [] })).toEqual([{ path: ['nodes', 1], message: "node 'fog-7' is Offline (Node Manager): no new step starts on it" }]);
    const undeploy = { kind: 'Undeploy', deploymentId: 'd-2', application: 'a', nodes: ['fog-7'] } as unknown as Request;
    expect(configIssues(undeploy, { inventory: fleet, gitPrefixes: [] })).toEqual([{ path: ['nodes', 0], message: "node 'fog-7' is Offline (Node Manager): no new step starts on it" }]);
  });

  it('lets an Undeploy name a Draining node, and still refuses one naming an Offline node', () => {
    const draining = mergeFleet(inventory, topicWith(record({ status: 'Draining' }))).fleet;
    const undeploy = { kind: 'Undeploy', deploymentId: 'd-2', application: 'a', nodes: ['fog-1', 'fog-7'] } as unknown as Request;
    expect(configIssues(undeploy, { inventory: draining, gitPrefixes: [] })).toEqual([]);
    const offline = mergeFleet(inventory, topicWith(record({ status: 'Offline' }))).fleet;
    expect(configIssues(undeploy, { inventory: offline, gitPrefixes: [] })).toEqual([{ path: ['nodes', 1], message: "node 'fog-7' is Offline (Node Manager): no new step starts on it" }]);
  });

  it('refuses a Deploy or a Scale naming a Draining node: a Scale applies again on every node it names, adding replicas', () => {
    const { fleet } = mergeFleet(inventory, topicWith(record({ status: 'Draining' })));
    const refused = [{ path: ['nodes', 0], message: "node 'fog-7' is Draining (Node Manager): no new step starts on it" }];
    const deploy = { kind: 'Deploy', deploymentId: 'd-1', application: { name: 'a', version: '1', image: 'r/a:1' }, nodes: ['fog-7'] } as unknown as Request;
    expect(configIssues(deploy, { inventory: fleet, gitPrefixes: [] })).toEqual(refused);
    const scale = { kind: 'Scale', deploymentId: 'd-3', application: 'a', nodes: ['fog-7'], replicasPerNode: 2 } as unknown as Request;
    expect(configIssues(scale, { inventory: fleet, gitPrefixes: [] })).toEqual(refused);
  });

  it('refuses a tombstoned node as unknown', () => {
    const view = emptyTopicView();
    applyJudgement(view, { kind: 'tombstone', nodeId: 'fog-1' });
    const deploy = { kind: 'Deploy', deploymentId: 'd-1', application: { name: 'a', version: '1', image: 'r/a:1' }, nodes: ['fog-1'] } as unknown as Request;
    expect(configIssues(deploy, { inventory: mergeFleet(inventory, view).fleet, gitPrefixes: [] })).toEqual([{ path: ['nodes', 0], message: "unknown node 'fog-1'" }]);
  });
});
