import { deployRequestSchema, requestSchema } from '../../src/core/schemas/request';
import { contractExample, minimal } from '../fixtures/requests';

/** Defaults of the options that reach past the container's sandbox: none of them. */
const sandboxDefaults = { privileged: false, capabilities: [], devices: [], pid: 'private', ipc: 'private', mounts: [] };
/** Docker's own defaults for stopping a container. */
const lifecycleDefaults = { stopGracePeriodMs: 10000, init: false };

describe('request schema', () => {
  it('accepts the contract example unchanged', () => {
    const parsed = deployRequestSchema.parse(contractExample);
    expect(parsed).toEqual({
      ...contractExample,
      strategy: { ...contractExample.strategy, pauseTimeoutMs: 3600000, dependencyTimeoutMs: 300000 },
      container: {
        ...contractExample.container,
        ports: [{ container: 8080, host: 8080, protocol: 'tcp' }],
        volumes: [{ name: 'temp-sensor-data', target: '/data', readOnly: false }],
        files: [{ path: '/etc/temp-sensor/config.json', content: '{"intervalSeconds": 5}' }],
        ...sandboxDefaults,
        ...lifecycleDefaults,
      },
    });
  });

  it('fills the contract defaults of a minimal request', () => {
    expect(deployRequestSchema.parse(minimal)).toEqual({
      ...minimal,
      replicasPerNode: 1,
      container: {
        env: {},
        secrets: [],
        files: [],
        ports: [],
        volumes: [],
        network: 'host',
        restartPolicy: 'unless-stopped',
        ...sandboxDefaults,
        ...lifecycleDefaults,
      },
      strategy: { maxParallel: 1, onFailure: 'rollback', pauseTimeoutMs: 3600000, dependencyTimeoutMs: 300000 },
      dependsOn: [],
    });
  });

  it('fills the health check defaults of the contract', () => {
    const parsed = deployRequestSchema.parse({ ...minimal, healthCheck: { tcp: { port: 80 } } });
    expect(parsed.healthCheck).toEqual({ tcp: { port: 80 }, intervalMs: 1000, timeoutMs: 2000, healthyAfter: 1, deadlineMs: 60000 });
  });

  it.each([
    ['both source and image', { application: { ...contractExample.application, image: 'x:1' } }, 'exactly one of "source"'],
    ['neither source nor image', { application: { name: 'a', version: '1' } }, 'exactly one of "source"'],
    ['two health probes', { healthCheck: { http: { port: 1 }, tcp: { port: 1 } } }, 'exactly one of "http"'],
    ['an upper-case application name', { application: { ...contractExample.application, name: 'Temp' } }, 'lowercase'],
    ['a node named twice', { nodes: ['fog-1', 'fog-1'] }, 'must not name a node twice'],
    ['no nodes', { nodes: [] }, 'at least one node'],
    ['a file path with ..', { container: { files: [{ path: '/etc/../root/x', content: '' }] } }, '".."'],
    ['a relative file path', { container: { files: [{ path: 'etc/x', content: '' }] } }, 'absolute path'],
    ['a build context with ..', { application: { ...contractExample.application, source: { context: '/srv/../etc' } } }, 'absolute directory'],
    ['a git source with credentials', { application: { ...contractExample.application, source: { context: 'https://ci:hunter2@git.example.org/team/app.git' } } }, 'a git URL must not carry credentials'],
    ['a git source written two ways', { application: { ...contractExample.application, source: { context: 'https://git.example.org/team/../app.git' } } }, 'a git URL must be written as https://git.example.org/app.git'],
    ['privileged mode as a string', { container: { privileged: 'true' } }, 'privileged'],
    ['a Docker HostConfig field', { container: { capAdd: ['SYS_ADMIN'] } }, 'capAdd'],
    ['a capability with the CAP_ prefix', { container: { capabilities: ['CAP_NET_ADMIN'] } }, 'without the CAP_ prefix'],
    ['every capability at once', { container: { capabilities: ['ALL'] } }, 'Linux capability name'],
    ['a capability named twice', { container: { capabilities: ['NET_ADMIN', 'NET_ADMIN'] } }, 'twice'],
    ['more than 64 capabilities', { container: { capabilities: Array.from({ length: 65 }, () => 'NET_ADMIN') } }, 'capabilities'],
    ['a device outside /dev', { container: { devices: [{ host: '/etc/shadow' }] } }, 'below /dev/'],
    ['a device path that climbs out of /dev', { container: { devices: [{ host: '/dev/../etc/shadow' }] } }, '".."'],
    ['a device given as a string', { container: { devices: ['/dev/sda'] } }, 'devices.0'],
    ['a device permission Docker does not know', { container: { devices: [{ host: '/dev/sda', permissions: 'x' }] } }, 'permissions'],
    ['a pid mode other than host', { container: { pid: 'container:other' } }, 'pid'],
    ['an ipc mode other than host', { container: { ipc: 'shareable' } }, 'ipc'],
    ['a relative mount source', { container: { mounts: [{ source: 'data', target: '/data' }] } }, 'absolute path'],
    ['a mount source with ..', { container: { mounts: [{ source: '/data/../etc', target: '/data' }] } }, '".."'],
    ['a mount source with a trailing slash', { container: { mounts: [{ source: '/data/', target: '/data' }] } }, 'empty segments'],
    ['a mount source with a control character', { container: { mounts: [{ source: '/data\n/x', target: '/data' }] } }, 'control characters'],
    ['a mount source with a colon', { container: { mounts: [{ source: '/data:/etc', target: '/data' }] } }, '":" or ","'],
    ['a mount onto the container root', { container: { mounts: [{ source: '/data', target: '/' }] } }, 'not "/"'],
    ['a mount with a Docker mount type', { container: { mounts: [{ type: 'bind', source: '/', target: '/host' }] } }, 'type'],
    ['more than 32 mounts', { container: { mounts: Array.from({ length: 33 }, (_, i) => ({ source: '/data', target: `/m${i}` })) } }, 'mounts'],
    ['an unknown top-level field', { hostPid: true }, 'hostPid'],
    ['a deploymentId with a space', { deploymentId: 'a b' }, 'letters, digits'],
    ['a secret reference that climbs out', { container: { secrets: [{ name: 'S', ref: 'a/../../etc/shadow' }] } }, '".." segments'],
    ['a build context with a NUL', { application: { ...contractExample.application, source: { context: '/srv/app\u0000/x' } } }, 'control characters'],
  ])('rejects %s', (_what, patch, message) => {
    const result = deployRequestSchema.safeParse({ ...contractExample, ...patch });
    expect(result.success).toBe(false);
    const text = result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message} ${'keys' in i ? i.keys.join(',') : ''}`).join('\n');
    expect(text).toContain(message);
  });

  it('accepts the options that reach past the sandbox, with safe defaults, leaving the nodes to the node policy', () => {
    const parsed = deployRequestSchema.parse({
      ...minimal,
      container: {
        privileged: true,
        capabilities: ['NET_ADMIN', 'SYS_TIME'],
        devices: [{ host: '/dev/ttyUSB0' }, { host: '/dev/i2c-1', container: '/dev/i2c', permissions: 'r' }],
        pid: 'host',
        ipc: 'host',
        mounts: [{ source: '/data/sensor', target: '/mnt/data' }, { source: '/', target: '/host', readOnly: false }],
      },
    });
    expect(parsed.container).toMatchObject({
      privileged: true,
      capabilities: ['NET_ADMIN', 'SYS_TIME'],
      devices: [
        { host: '/dev/ttyUSB0', permissions: 'rwm' },
        { host: '/dev/i2c-1', container: '/dev/i2c', permissions: 'r' },
      ],
      pid: 'host',
      ipc: 'host',
      mounts: [
        { source: '/data/sensor', target: '/mnt/data', readOnly: true },
        { source: '/', target: '/host', readOnly: false },
      ],
    });
  });

  it('tells the request kinds apart by "kind"', () => {
    expect(requestSchema.parse({ kind: 'Cancel', deploymentId: 'd-1' })).toEqual({ kind: 'Cancel', deploymentId: 'd-1' });
    expect(requestSchema.parse({ kind: 'Undeploy', deploymentId: 'd-4', application: 'temp-sensor', nodes: ['fog-2'] }).kind).toBe('Undeploy');
    expect(requestSchema.safeParse({ kind: 'Explode', deploymentId: 'd-1' }).success).toBe(false);
  });
});

describe('port mappings a node could not honour', () => {
  const withPorts = (container: Record<string, unknown>, healthCheck?: Record<string, unknown>) =>
    deployRequestSchema.safeParse({ ...minimal, container, ...(healthCheck ? { healthCheck } : {}) });
  const messages = (r: ReturnType<typeof withPorts>) => (r.success ? [] : r.error.issues.map((i) => [i.path.join('.'), i.message]));

  it('refuses a host port that differs from the container port on the host network, where it would be ignored', () => {
    expect(messages(withPorts({ network: 'host', ports: [{ container: 8080, host: 9090 }] }))).toEqual([
      ['container.ports.0.host', `with network "host" the container's port 8080 is the node's port 8080; omit "host" or use network "bridge" to publish it as 9090`],
    ]);
    expect(withPorts({ network: 'host', ports: [{ container: 8080, host: 8080 }] }).success).toBe(true);
    expect(withPorts({ network: 'bridge', ports: [{ container: 8080, host: 9090 }] }).success).toBe(true);
  });

  it('refuses ports on a container without a network', () => {
    expect(messages(withPorts({ network: 'none', ports: [{ container: 8080 }] }))).toEqual([
      ['container.ports.0', 'a container with network "none" has no ports to publish: use network "bridge" or "host"'],
    ]);
  });

  it('refuses a health check on a bridge port that is not published, which no probe could reach', () => {
    expect(messages(withPorts({ network: 'bridge', ports: [] }, { http: { port: 8080 } }))).toEqual([
      ['healthCheck.http.port', 'port 8080 is not published: with network "bridge" add { "container": 8080 } to container.ports'],
    ]);
    expect(withPorts({ network: 'bridge', ports: [{ container: 8080, host: 18080 }] }, { tcp: { port: 8080 } }).success).toBe(true);
  });
});
