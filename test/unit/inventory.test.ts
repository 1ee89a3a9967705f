import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerClient } from '../../activities/targets/docker-engine/engines';
import { InvalidInventoryError, UnknownNodeError } from '../../src/core/errors';
import type { DockerEndpoint } from '../../src/core/schemas/inventory';
import { inventoryReader, loadInventory, resolveNodes, unknownNodes } from '../../src/inventory';

const dir = mkdtempSync(join(tmpdir(), 'inventory-'));
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const yaml = `
registry: { push: "127.0.0.1:5000", pull: "10.77.0.1:5000" }
buildHost: { docker: { socketPath: /run/build/docker.sock } }
nodes:
  - { id: fog-1, docker: { host: 10.77.0.11, port: 2375, insecure: true }, address: 10.77.0.11 }
  - id: fog-2
    docker: { host: fog-2.example, port: 2376, tls: { ca: /tls/ca.pem, cert: /tls/cert.pem, key: /tls/key.pem } }
    address: 10.77.0.12
    taskQueue: site-b
    registry: "10.88.0.1:5000"
    labels: { zone: b }
`;

describe('node inventory', () => {
  it('reads YAML with unix, plain TCP and TLS endpoints, `docker:` as the short form of a Docker Engine target', () => {
    const inv = loadInventory(write('ok.yaml', yaml));
    expect(inv.nodes.map((n) => n.id)).toEqual(['fog-1', 'fog-2']);
    expect(inv.nodes[1]!.target).toEqual({ kind: 'docker-engine', docker: { host: 'fog-2.example', port: 2376, tls: { ca: '/tls/ca.pem', cert: '/tls/cert.pem', key: '/tls/key.pem' } } });
  });

  it('reads the target of a node in its long form, and names the kinds a target may be', () => {
    const long = yaml.replace('docker: { host: 10.77.0.11, port: 2375, insecure: true }', 'target: { kind: docker-engine, docker: { host: 10.77.0.11, port: 2375, insecure: true } }');
    expect(loadInventory(write('long.yaml', long)).nodes[0]!.target).toEqual({ kind: 'docker-engine', docker: { host: '10.77.0.11', port: 2375, insecure: true } });
    const unknown = yaml.replace('docker: { host: 10.77.0.11, port: 2375, insecure: true }', 'target: { kind: mainframe }');
    expect(() => loadInventory(write('unknown.yaml', unknown))).toThrow(/must be a target such as[\s\S]*nodes\[0\]\.target/);
  });

  it('resolves nodes with their task queue and registry, defaulting to the main ones', () => {
    const inv = loadInventory(write('ok2.yaml', yaml));
    expect(resolveNodes(inv, ['fog-2', 'fog-1'], 'deployer')).toEqual([
      { id: 'fog-2', address: '10.77.0.12', taskQueue: 'site-b', registry: '10.88.0.1:5000', local: false },
      { id: 'fog-1', address: '10.77.0.11', taskQueue: 'deployer', registry: '10.77.0.1:5000', local: true },
    ]);
    expect(() => resolveNodes(inv, ['fog-7'], 'deployer')).toThrow(UnknownNodeError);
    expect(unknownNodes(inv, ['fog-1', 'fog-7'])).toEqual([{ index: 1, id: 'fog-7' }]);
  });

  it('explains what is wrong with an invalid inventory', () => {
    const path = write('bad.yaml', yaml.replace('port: 2375', 'port: "x"').replace('fog-2', 'fog-1'));
    expect(() => loadInventory(path)).toThrow(InvalidInventoryError);
    expect(() => loadInventory(path)).toThrow(/nodes/);
    expect(() => loadInventory(join(dir, 'missing.yaml'))).toThrow(/cannot read the node inventory/);
  });
});

describe('engines on plain TCP in the node inventory', () => {
  const tls = 'tls: { ca: /tls/ca.pem, cert: /tls/cert.pem, key: /tls/key.pem }';
  const inventory = (parts: { buildHost?: string; manager?: string; fog?: string; engine?: string }) => `
registry: { push: "127.0.0.1:5000", pull: "10.77.0.1:5000" }
buildHost: { docker: ${parts.buildHost ?? '{ socketPath: /run/build/docker.sock }'} }
swarms:
  - { id: edge, managers: [${parts.manager ?? `{ host: 10.77.0.201, port: 2376, ${tls} }`}] }
nodes:
  - { id: fog-1, docker: ${parts.fog ?? `{ host: 10.77.0.11, port: 2376, ${tls} }`}, address: 10.77.0.11 }
  - { id: s-1, target: { kind: swarm, swarm: edge, hostname: swarm-1${parts.engine === undefined ? '' : `, engine: ${parts.engine}`} }, address: 10.77.0.201 }
`;
  const load = (name: string, parts: Parameters<typeof inventory>[0]) => () => loadInventory(write(`plain-${name}.yaml`, inventory(parts)));
  const refusal = (hostPort: string, path: string) =>
    new RegExp(`the engine at ${hostPort.replace(/\./g, '\\.')} would be reached over plain TCP: give "tls" \\(ca, cert, key\\), or set "insecure": true if this network is trusted \\(anyone who can reach it can run containers as root on the engine\\)\n.*at ${path.replace(/[.[\]]/g, '\\$&')}$`);

  it('needs nothing of an engine reached by its unix socket or with TLS', () => {
    const inv = loadInventory(write('plain-none.yaml', inventory({ engine: `{ host: 10.77.0.201, port: 2376, ${tls} }` })));
    expect(inv.buildHost.docker).toEqual({ socketPath: '/run/build/docker.sock' });
    expect(inv.nodes.map((n) => n.target)).toEqual([
      { kind: 'docker-engine', docker: { host: '10.77.0.11', port: 2376, tls: { ca: '/tls/ca.pem', cert: '/tls/cert.pem', key: '/tls/key.pem' } } },
      { kind: 'swarm', swarm: 'edge', hostname: 'swarm-1', engine: { host: '10.77.0.201', port: 2376, tls: { ca: '/tls/ca.pem', cert: '/tls/cert.pem', key: '/tls/key.pem' } } },
    ]);
  });

  it('refuses a node\'s engine on plain TCP the inventory does not call insecure, saying which and what to write', () => {
    expect(load('fog', { fog: '{ host: 10.77.0.11, port: 2375 }' })).toThrow(InvalidInventoryError);
    expect(load('fog', { fog: '{ host: 10.77.0.11, port: 2375 }' })).toThrow(refusal('10.77.0.11:2375', 'nodes[0].target.docker'));
    expect(load('fog-false', { fog: '{ host: 10.77.0.11, port: 2375, insecure: false }' })).toThrow(refusal('10.77.0.11:2375', 'nodes[0].target.docker'));
  });

  it('refuses the build host\'s engine, a swarm manager and a swarm node\'s engine on plain TCP likewise', () => {
    expect(load('build', { buildHost: '{ host: 10.77.0.1, port: 2375 }' })).toThrow(refusal('10.77.0.1:2375', 'buildHost.docker'));
    expect(load('manager', { manager: '{ host: 10.77.0.201, port: 2375 }' })).toThrow(refusal('10.77.0.201:2375', 'swarms[0].managers[0]'));
    expect(load('engine', { engine: '{ host: 10.77.0.201, port: 2375 }' })).toThrow(refusal('10.77.0.201:2375', 'nodes[1].target.engine'));
  });

  it('accepts each of them on plain TCP where the inventory says "insecure": true', () => {
    const inv = loadInventory(write('plain-insecure.yaml', inventory({
      buildHost: '{ host: 10.77.0.1, port: 2375, insecure: true }',
      manager: '{ host: 10.77.0.201, port: 2375, insecure: true }',
      fog: '{ host: 10.77.0.11, port: 2375, insecure: true }',
      engine: '{ host: 10.77.0.201, port: 2375, insecure: true }',
    })));
    expect(inv.buildHost.docker).toEqual({ host: '10.77.0.1', port: 2375, insecure: true });
    expect(inv.swarms[0]!.managers).toEqual([{ host: '10.77.0.201', port: 2375, insecure: true }]);
    expect(inv.nodes.map((n) => n.target)).toEqual([
      { kind: 'docker-engine', docker: { host: '10.77.0.11', port: 2375, insecure: true } },
      { kind: 'swarm', swarm: 'edge', hostname: 'swarm-1', engine: { host: '10.77.0.201', port: 2375, insecure: true } },
    ]);
  });

  it('refuses "insecure" beside "tls", and names the forms of an endpoint when it is none of them', () => {
    expect(load('both', { fog: `{ host: 10.77.0.11, port: 2376, insecure: true, ${tls} }` })).toThrow(/must be left out when "tls" is given: the engine is reached over TLS\n.*at nodes\[0\]\.target\.docker\.insecure/);
    expect(load('form', { fog: '{ host: 10.77.0.11, port: "2375", insecure: true }' })).toThrow(
      /must be \{ "socketPath": PATH \}, \{ "host": H, "port": N, "tls": \{ "ca": FILE, "cert": FILE, "key": FILE \} \} or, on a trusted network, \{ "host": H, "port": N, "insecure": true \}\n.*at nodes\[0\]\.target\.docker/,
    );
  });

  it('gives no client for plain TCP to an endpoint made in code without "insecure"', () => {
    const plain = { host: '10.77.0.11', port: 2375 } as DockerEndpoint;
    expect(() => dockerClient(plain)).toThrow(InvalidInventoryError);
    expect(() => dockerClient(plain)).toThrow('the engine at 10.77.0.11:2375 would be reached over plain TCP');
    expect(dockerClient({ host: '10.77.0.11', port: 2375, insecure: true }).modem).toMatchObject({ host: '10.77.0.11', port: 2375, protocol: 'http' });
  });
});

describe('the inventory as workers read it', () => {
  it('is parsed once, and again only when its file changes', async () => {
    const path = write('cached.yaml', yaml);
    const read = inventoryReader(path);
    const first = read();
    expect(read()).toBe(first);
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(path, yaml.replace('labels: { zone: b }', 'labels: { zone: c }'));
    const changed = read();
    expect(changed).not.toBe(first);
    expect(changed.nodes[1]!.labels).toEqual({ zone: 'c' });
  });
});

describe('the example inventory of docker-compose.yml', () => {
  it('is valid, in the long form of its targets, with a node of a site of its own', () => {
    const inv = loadInventory(join(__dirname, '../../deploy/inventory.example.yaml'));
    expect(inv.nodes.map((n) => [n.id, n.target.kind, n.taskQueue])).toEqual([
      ['fog-1', 'docker-engine', undefined],
      ['fog-2', 'docker-engine', 'site-b'],
    ]);
  });
});

describe('swarms in the node inventory', () => {
  const swarmYaml = `
registry: { push: "127.0.0.1:5000", pull: "10.77.0.1:5000" }
buildHost: { docker: { socketPath: /run/build/docker.sock } }
swarms:
  - id: edge
    managers: [{ host: 10.77.0.201, port: 2375, insecure: true }, { host: 10.77.0.202, port: 2376, tls: { ca: /tls/ca.pem, cert: /tls/cert.pem, key: /tls/key.pem } }]
nodes:
  - { id: fog-1, docker: { host: 10.77.0.11, port: 2375, insecure: true }, address: 10.77.0.11 }
  - { id: s-1, target: { kind: swarm, swarm: edge, hostname: swarm-1 }, address: 10.77.0.201 }
  - { id: s-2, target: { kind: swarm, swarm: edge, hostname: swarm-2 }, address: 10.77.0.202 }
`;

  it('reads swarms by their managers (plain TCP or TLS), and swarm nodes by their hostname in the swarm', () => {
    const inv = loadInventory(write('swarm.yaml', swarmYaml));
    expect(inv.swarms).toEqual([{ id: 'edge', managers: [{ host: '10.77.0.201', port: 2375, insecure: true }, { host: '10.77.0.202', port: 2376, tls: { ca: '/tls/ca.pem', cert: '/tls/cert.pem', key: '/tls/key.pem' } }] }]);
    expect(inv.nodes.map((n) => [n.id, n.target])).toEqual([
      ['fog-1', { kind: 'docker-engine', docker: { host: '10.77.0.11', port: 2375, insecure: true } }],
      ['s-1', { kind: 'swarm', swarm: 'edge', hostname: 'swarm-1' }],
      ['s-2', { kind: 'swarm', swarm: 'edge', hostname: 'swarm-2' }],
    ]);
    // An inventory without swarms has none.
    expect(loadInventory(write('no-swarm.yaml', yaml)).swarms).toEqual([]);
  });

  it('reads a swarm node\'s own engine (for exec tests), and refuses one that is not an endpoint', () => {
    const withEngine = swarmYaml.replace('hostname: swarm-2 }', 'hostname: swarm-2, engine: { host: 10.77.0.202, port: 2375, insecure: true } }');
    expect(loadInventory(write('swarm-engine.yaml', withEngine)).nodes[2]!.target).toEqual({ kind: 'swarm', swarm: 'edge', hostname: 'swarm-2', engine: { host: '10.77.0.202', port: 2375, insecure: true } });
    const bad = swarmYaml.replace('hostname: swarm-2 }', 'hostname: swarm-2, engine: "10.77.0.202" }');
    expect(() => loadInventory(write('swarm-engine-bad.yaml', bad))).toThrow(/at nodes\[2\]\.target\.engine/);
  });

  it('refuses a swarm node of a swarm it lacks, two nodes for one swarm node, a swarm without managers, and says where', () => {
    const unknown = swarmYaml.replace('swarm: edge, hostname: swarm-2', 'swarm: core, hostname: swarm-2');
    expect(() => loadInventory(write('swarm-unknown.yaml', unknown))).toThrow(/names swarm 'core', which is not in "swarms" \(there: edge\)\n.*at nodes\[2\]\.target\.swarm/);
    const twice = swarmYaml.replace('hostname: swarm-2', 'hostname: swarm-1');
    expect(() => loadInventory(write('swarm-twice.yaml', twice))).toThrow(/is also node s-1's: one swarm node is one inventory node\n.*at nodes\[2\]\.target\.hostname/);
    const none = swarmYaml.replace(/managers: \[.*\]/, 'managers: []');
    expect(() => loadInventory(write('swarm-none.yaml', none))).toThrow(/must name at least one manager endpoint\n.*at swarms\[0\]\.managers/);
    const badHost = swarmYaml.replace('hostname: swarm-2', 'hostname: "swarm 2"');
    expect(() => loadInventory(write('swarm-host.yaml', badHost))).toThrow(/must be a host name \(letters, digits, dots and dashes\)\n.*at nodes\[2\]\.target\.hostname/);
  });
});

describe('Kubernetes clusters in the node inventory', () => {
  const kubeYaml = `
registry: { push: "127.0.0.1:5000", pull: "10.77.0.1:5000" }
buildHost: { docker: { socketPath: /run/build/docker.sock } }
clusters:
  - { id: lab, server: "https://10.77.0.1:6443", ca: /kube/ca.pem, auth: { cert: /kube/deployer.pem, key: /kube/deployer-key.pem }, namespace: deployer }
  - { id: edge, server: "https://edge.example:6443", ca: /kube/edge-ca.pem, auth: { tokenFile: /kube/edge.token } }
nodes:
  - { id: fog-1, docker: { host: 10.77.0.11, port: 2375, insecure: true }, address: 10.77.0.11 }
  - { id: k-1, target: { kind: kubernetes, cluster: lab, nodeName: kube-1 }, address: 10.77.0.221 }
  - { id: k-2, target: { kind: kubernetes, cluster: lab, nodeName: kube-2 }, address: 10.77.0.222 }
  - { id: e-1, target: { kind: kubernetes, cluster: edge, nodeName: kube-1 }, address: 10.88.0.221 }
`;
  const load = (name: string, text: string) => () => loadInventory(write(`kube-${name}.yaml`, text));

  it('reads clusters with a client certificate or a token file, their namespace defaulting to "default", and nodes by their name in the cluster', () => {
    const inv = loadInventory(write('kube.yaml', kubeYaml));
    expect(inv.clusters).toEqual([
      { id: 'lab', server: 'https://10.77.0.1:6443', ca: '/kube/ca.pem', auth: { cert: '/kube/deployer.pem', key: '/kube/deployer-key.pem' }, namespace: 'deployer' },
      { id: 'edge', server: 'https://edge.example:6443', ca: '/kube/edge-ca.pem', auth: { tokenFile: '/kube/edge.token' }, namespace: 'default' },
    ]);
    // One node name in two clusters is two nodes.
    expect(inv.nodes.map((n) => [n.id, n.target])).toEqual([
      ['fog-1', { kind: 'docker-engine', docker: { host: '10.77.0.11', port: 2375, insecure: true } }],
      ['k-1', { kind: 'kubernetes', cluster: 'lab', nodeName: 'kube-1' }],
      ['k-2', { kind: 'kubernetes', cluster: 'lab', nodeName: 'kube-2' }],
      ['e-1', { kind: 'kubernetes', cluster: 'edge', nodeName: 'kube-1' }],
    ]);
    // An inventory without clusters has none.
    expect(loadInventory(write('no-cluster.yaml', yaml)).clusters).toEqual([]);
  });

  it('refuses a node of a cluster it lacks, naming the ones it has, and two inventory nodes for one cluster node', () => {
    const unknown = kubeYaml.replace('cluster: lab, nodeName: kube-2', 'cluster: core, nodeName: kube-2');
    expect(load('unknown', unknown)).toThrow(InvalidInventoryError);
    expect(load('unknown', unknown)).toThrow(/names cluster 'core', which is not in "clusters" \(there: lab, edge\)\n.*at nodes\[2\]\.target\.cluster/);
    const none = yaml.replace('nodes:\n', 'nodes:\n  - { id: k-1, target: { kind: kubernetes, cluster: lab, nodeName: kube-1 }, address: 10.77.0.221 }\n');
    expect(load('none', none)).toThrow(/names cluster 'lab', which is not in "clusters"\n.*at nodes\[0\]\.target\.cluster/);
    const twice = kubeYaml.replace('nodeName: kube-2', 'nodeName: kube-1');
    expect(load('twice', twice)).toThrow(/is also node k-1's: one Kubernetes node is one inventory node\n.*at nodes\[2\]\.target\.nodeName/);
    const badName = kubeYaml.replace('nodeName: kube-2', 'nodeName: Kube_2');
    expect(load('node-name', badName)).toThrow(/must be a Kubernetes node name \(lower-case letters, digits, dots and dashes\)\n.*at nodes\[2\]\.target\.nodeName/);
  });

  it('refuses an API server not on https, a relative credential path, and auth of neither form, and says where', () => {
    for (const [name, text] of [
      ['http', kubeYaml.replace('https://10.77.0.1:6443', 'http://10.77.0.1:6443')],
      ['no-scheme', kubeYaml.replace('"https://10.77.0.1:6443"', '"10.77.0.1:6443"')],
    ] as const) {
      expect(load(name, text)).toThrow(/must be the API server's https:\/\/ URL\n.*at clusters\[0\]\.server/);
    }
    expect(load('ca', kubeYaml.replace('ca: /kube/ca.pem', 'ca: kube/ca.pem'))).toThrow(/must be an absolute file path\n.*at clusters\[0\]\.ca/);
    expect(load('token', kubeYaml.replace('tokenFile: /kube/edge.token', 'tokenFile: edge.token'))).toThrow(/must be an absolute file path\n.*at clusters\[1\]\.auth\.tokenFile/);
    const form = /must be \{ "cert": FILE, "key": FILE \} \(a client certificate\) or \{ "tokenFile": FILE \} \(a bearer token\)\n.*at clusters\[1\]\.auth/;
    for (const [name, auth] of [
      ['empty', 'auth: {}'],
      ['cert-only', 'auth: { cert: /kube/edge.pem }'],
      ['both', 'auth: { tokenFile: /kube/edge.token, cert: /kube/edge.pem, key: /kube/edge-key.pem }'],
    ] as const) {
      expect(load(`auth-${name}`, kubeYaml.replace('auth: { tokenFile: /kube/edge.token }', auth))).toThrow(form);
    }
    expect(load('auth-missing', kubeYaml.replace(', auth: { tokenFile: /kube/edge.token }', ''))).toThrow(form);
  });

  it('refuses two clusters of one id and a namespace Kubernetes would not take', () => {
    const dup = kubeYaml.replace('id: edge', 'id: lab').replace('cluster: edge, nodeName: kube-1', 'cluster: lab, nodeName: kube-3');
    expect(load('dup', dup)).toThrow(/cluster ids must be unique\n.*at clusters/);
    expect(load('ns', kubeYaml.replace('namespace: deployer', 'namespace: Deployer_NS'))).toThrow(/must be a Kubernetes namespace name \(lower-case letters, digits and dashes\)\n.*at clusters\[0\]\.namespace/);
    expect(load('ns-dash', kubeYaml.replace('namespace: deployer', 'namespace: deployer-'))).toThrow(/must be a Kubernetes namespace name[^\n]*\n.*at clusters\[0\]\.namespace/);
    expect(load('ns-long', kubeYaml.replace('namespace: deployer', `namespace: ${'n'.repeat(64)}`))).toThrow(/at clusters\[0\]\.namespace/);
  });
});
