import { createInventoryActivities } from '../../activities/control/inventory';
import { NodePolicyViolationError } from '../../src/core/errors';
import { DEFAULT_NODE_ALLOW, policyViolations, privilegedHostConfig, samePath } from '../../src/core/node-policy';
import { inventorySchema, nodeAllowSchema, type Inventory } from '../../src/core/schemas/inventory';
import { deployRequestSchema, type DeployRequestInput } from '../../src/core/schemas/request';
import { minimal } from '../fixtures/requests';

const node = (id: string, allow?: unknown) => ({ id, docker: { host: `10.77.0.${id.slice(4)}`, port: 2375, insecure: true }, address: '10.77.0.1', ...(allow ? { allow } : {}) });
const inventoryWith = (...nodes: ReturnType<typeof node>[]): Inventory =>
  inventorySchema.parse({ registry: { push: '127.0.0.1:5000', pull: '10.77.0.1:5000' }, buildHost: { docker: { socketPath: '/run/docker.sock' } }, nodes });

const request = (container: DeployRequestInput['container'], nodes = ['fog-1']) => deployRequestSchema.parse({ ...minimal, nodes, container });

const locked = inventoryWith(node('fog-1'), node('fog-2'));
const open = inventoryWith(
  node('fog-1', {
    privileged: true,
    capabilities: ['NET_ADMIN', 'SYS_TIME'],
    devices: ['/dev/ttyUSB0', '/dev/bus/usb/001/002'],
    hostPid: true,
    hostIpc: true,
    hostPaths: ['/data', '/srv/apps/sensor'],
  }),
  node('fog-2'),
  node('fog-3', { hostNetwork: false }),
);

const everything: DeployRequestInput['container'] = {
  privileged: true,
  capabilities: ['NET_ADMIN'],
  devices: [{ host: '/dev/ttyUSB0' }],
  pid: 'host',
  ipc: 'host',
  mounts: [{ source: '/data', target: '/mnt/data' }],
};

describe('node policy', () => {
  it('finds nothing to refuse in a request that stays inside the sandbox, even on a node without an allow block', () => {
    expect(policyViolations(request({ command: ['sleep', '1'] }, ['fog-1', 'fog-2']), locked)).toEqual([]);
  });

  it('refuses every option that reaches past the sandbox on a node that allows nothing, naming the node and the inventory entry', () => {
    expect(policyViolations(request(everything, ['fog-2']), open)).toEqual([
      { path: ['container', 'privileged'], message: "privileged mode is not allowed on node 'fog-2' (inventory: nodes[fog-2].allow.privileged)" },
      { path: ['container', 'capabilities', 0], message: "capability NET_ADMIN is not allowed on node 'fog-2' (inventory: nodes[fog-2].allow.capabilities)" },
      { path: ['container', 'devices', 0, 'host'], message: "device /dev/ttyUSB0 is not allowed on node 'fog-2' (inventory: nodes[fog-2].allow.devices)" },
      { path: ['container', 'pid'], message: "the host's PID namespace is not allowed on node 'fog-2' (inventory: nodes[fog-2].allow.hostPid)" },
      { path: ['container', 'ipc'], message: "the host's IPC namespace is not allowed on node 'fog-2' (inventory: nodes[fog-2].allow.hostIpc)" },
      { path: ['container', 'mounts', 0, 'source'], message: "a bind mount of host path /data is not allowed on node 'fog-2' (inventory: nodes[fog-2].allow.hostPaths)" },
    ]);
  });

  it('allows each option on the node whose inventory entry allows it', () => {
    expect(policyViolations(request(everything, ['fog-1']), open)).toEqual([]);
  });

  it('reports one violation per option and node, in the order of the request nodes', () => {
    const violations = policyViolations(request({ privileged: true, capabilities: ['NET_ADMIN', 'SYS_ADMIN'] }, ['fog-2', 'fog-1', 'fog-3']), open);
    expect(violations.map((v) => [v.path.join('.'), v.message.match(/node '([^']+)'/)![1]])).toEqual([
      ['container.privileged', 'fog-2'],
      ['container.capabilities.0', 'fog-2'],
      ['container.capabilities.1', 'fog-2'],
      ['container.capabilities.1', 'fog-1'],
      ['container.privileged', 'fog-3'],
      ['container.capabilities.0', 'fog-3'],
      ['container.capabilities.1', 'fog-3'],
      // fog-3 forbids host networking, and host is the default network.
      ['container.network', 'fog-3'],
    ]);
  });

  it('allows host networking by default and refuses it only where the inventory sets hostNetwork to false', () => {
    expect(policyViolations(request({}, ['fog-1', 'fog-2']), open)).toEqual([]);
    expect(policyViolations(request({}, ['fog-3']), open)).toEqual([
      {
        path: ['container', 'network'],
        message: "the host network is not allowed on node 'fog-3' (inventory: nodes[fog-3].allow.hostNetwork); set container.network to \"bridge\" or \"none\"",
      },
    ]);
    expect(policyViolations(request({ network: 'bridge' }, ['fog-3']), open)).toEqual([]);
    expect(policyViolations(request({ network: 'none' }, ['fog-3']), open)).toEqual([]);
  });

  it.each([
    ['the allowed directory itself', '/data', true],
    ['a path below it, where a container may have planted a symlink', '/data/sensor/today', false],
    ['a sibling that shares its first letters', '/database', false],
    ['a sibling below a shared prefix', '/data2/x', false],
    ['a path that climbs out of it', '/data/../etc', false],
    ['a path with a "." segment', '/data/./x', false],
    ['a parent of it', '/', false],
    ['an unrelated path', '/etc', false],
    ['a deeper allowed directory', '/srv/apps/sensor', true],
    ['a path below a deeper allowed directory', '/srv/apps/sensor/cache', false],
    ['the parent of a deeper allowed directory', '/srv/apps', false],
  ])('decides a bind mount of %s', (_what, source, allowed) => {
    const violations = policyViolations({ nodes: ['fog-1'], container: { mounts: [{ source, target: '/mnt', readOnly: true }] } }, open);
    expect(violations.length === 0).toBe(allowed);
  });

  it('compares paths by segment, never by text, and only exactly', () => {
    expect(samePath('/data', '/data')).toBe(true);
    expect(samePath('/data//', '/data')).toBe(true);
    expect(samePath('/data/x', '/data')).toBe(false);
    expect(samePath('/database', '/data')).toBe(false);
    expect(samePath('/data/../data', '/data')).toBe(false);
    expect(samePath('data', '/data')).toBe(false);
  });

  it('allows a device only when it is listed itself', () => {
    const devices = (host: string) => policyViolations(request({ devices: [{ host }] }), open).length === 0;
    expect(devices('/dev/ttyUSB0')).toBe(true);
    expect(devices('/dev/bus/usb/001/002')).toBe(true);
    expect(devices('/dev/bus/usb/001/003')).toBe(false);
    expect(devices('/dev/ttyUSB1')).toBe(false);
    expect(devices('/dev/sda')).toBe(false);
  });

  it('leaves nodes the inventory does not know to the unknown-node check', () => {
    expect(policyViolations(request({ privileged: true }, ['fog-9']), open)).toEqual([]);
  });

  it("refuses a health check or an http test aimed at a port of the node's own services, naming the service, whatever the node allows", () => {
    const aimed = deployRequestSchema.parse({
      ...minimal,
      nodes: ['fog-1'],
      container: { ports: [{ container: 2375 }] },
      healthCheck: { tcp: { port: 10250 } },
      verify: { tests: [{ name: 'engine', http: { port: 2375, method: 'POST', path: '/containers/create' } }] },
    });
    expect(policyViolations(aimed, open)).toEqual([
      { path: ['healthCheck', 'tcp', 'port'], message: "port 10250 of node 'fog-1' is the kubelet API, not the application's: the health check may reach only the application's own ports" },
      { path: ['verify', 'tests', 0, 'http', 'port'], message: "port 2375 of node 'fog-1' is the node's Docker Engine API, not the application's: test \"engine\" may reach only the application's own ports" },
    ]);
  });

  it('refuses the port a bridge publishes a check at when the node serves its engine there, at whatever port the inventory says', () => {
    const engineAt = inventoryWith({ id: 'fog-1', docker: { host: '10.77.0.1', port: 12375, insecure: true }, address: '10.77.0.1' });
    const bridged = deployRequestSchema.parse({ ...minimal, nodes: ['fog-1'], container: { network: 'bridge', ports: [{ container: 80, host: 12375 }] }, healthCheck: { http: { port: 80 } } });
    expect(policyViolations(bridged, engineAt)).toEqual([
      { path: ['healthCheck', 'http', 'port'], message: "port 12375 of node 'fog-1' is the node's Docker Engine API, not the application's: the health check may reach only the application's own ports" },
    ]);
    expect(policyViolations({ ...bridged, container: { ...bridged.container, ports: [{ container: 80, host: 8080, protocol: 'tcp' }] } }, engineAt)).toEqual([]);
  });

  it('judges a request recorded before these options existed as asking for none of them', () => {
    expect(policyViolations({ nodes: ['fog-2'] }, open)).toEqual([]);
    expect(policyViolations({ nodes: ['fog-2'], container: {} }, open)).toEqual([]);
  });
});

describe('the allow block of the node inventory', () => {
  it('denies everything but host networking when a node has no allow block or an empty one', () => {
    const inv = inventoryWith(node('fog-1', {}));
    expect(inv.nodes[0]!.allow).toEqual({ privileged: false, capabilities: [], devices: [], hostPid: false, hostIpc: false, hostNetwork: true, hostPaths: [] });
    expect(locked.nodes[0]!.allow).toBeUndefined();
  });

  it.each([
    ['an unknown permission', { userns: true }],
    ['a relative host path', { hostPaths: ['data'] }],
    ['a host path that climbs out', { hostPaths: ['/data/../etc'] }],
    ['a host path with a trailing slash', { hostPaths: ['/data/'] }],
    ['a capability that is not one', { capabilities: ['ALL'] }],
    ['a device outside /dev', { devices: ['/etc/passwd'] }],
    ['a host path below another listed one', { hostPaths: ['/srv', '/data', '/srv/data'] }],
  ])('rejects %s', (_what, allow) => {
    expect(() => inventoryWith(node('fog-1', allow))).toThrow();
  });
});

describe('the Docker host configuration of the options', () => {
  it('is empty for a request that uses none of them, and for one recorded before they existed', () => {
    expect(privilegedHostConfig(request({}).container)).toEqual({});
    expect(privilegedHostConfig({})).toEqual({});
  });

  it('maps every option to its HostConfig field', () => {
    const container = request({
      ...everything,
      devices: [{ host: '/dev/ttyUSB0' }, { host: '/dev/i2c-1', container: '/dev/i2c', permissions: 'rw' }],
      mounts: [
        { source: '/data', target: '/mnt/data' },
        { source: '/srv/apps/sensor', target: '/srv', readOnly: false },
      ],
    }).container;
    expect(privilegedHostConfig(container)).toEqual({
      Privileged: true,
      CapAdd: ['NET_ADMIN'],
      Devices: [
        { PathOnHost: '/dev/ttyUSB0', PathInContainer: '/dev/ttyUSB0', CgroupPermissions: 'rwm' },
        { PathOnHost: '/dev/i2c-1', PathInContainer: '/dev/i2c', CgroupPermissions: 'rw' },
      ],
      PidMode: 'host',
      IpcMode: 'host',
      Binds: ['/data:/mnt/data:ro', '/srv/apps/sensor:/srv:rw'],
    });
  });
});

describe('resolving nodes in the worker', () => {
  it('refuses, with a non-retryable error, a request its nodes do not allow before any node is touched', async () => {
    const { resolveNodes } = createInventoryActivities(() => open, 'deployer');
    const container = request({ capabilities: ['NET_ADMIN'] }, ['fog-1', 'fog-2']).container;
    const refused = resolveNodes({ nodeIds: ['fog-1', 'fog-2'], container });
    await expect(refused).rejects.toThrow(NodePolicyViolationError);
    await expect(refused).rejects.toThrow("capability NET_ADMIN is not allowed on node 'fog-2' (inventory: nodes[fog-2].allow.capabilities)");
    expect((await resolveNodes({ nodeIds: ['fog-1'], container })).map((n) => n.id)).toEqual(['fog-1']);
  });

  it("refuses a request whose test the bridge would have let through to a node's engine (a workflow started without it)", async () => {
    const { checkNodes } = createInventoryActivities(() => open, 'deployer');
    const aimed = deployRequestSchema.parse({ ...minimal, nodes: ['fog-2'], container: { ports: [{ container: 2375 }] }, verify: { tests: [{ name: 'engine', http: { port: 2375 } }] } });
    await expect(checkNodes({ nodeIds: ['fog-2'], container: aimed.container, verify: aimed.verify })).rejects.toThrow("port 2375 of node 'fog-2' is the Docker Engine API");
  });
});

describe('the allow block of a node without one', () => {
  it('is the schema’s own defaults, said without zod for workflow code', () => {
    expect(DEFAULT_NODE_ALLOW).toEqual(nodeAllowSchema.parse({}));
  });
});
