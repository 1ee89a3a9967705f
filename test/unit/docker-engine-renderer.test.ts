import { nodeIntent, type NodeIntent } from '../../src/core/intent';
import { LABELS } from '../../src/core/labels';
import { reachablePort } from '../../src/core/ports';
import { containerName, fingerprint, renderContainers } from '../../src/core/renderers/docker-engine';
import { deployRequestSchema } from '../../src/core/schemas/request';
import { contractExample, minimal } from '../fixtures/requests';

const image = '10.77.0.1:5000/temp-sensor@sha256:abc';
const intentOf = (request: object): NodeIntent => nodeIntent(deployRequestSchema.parse(request), image);

describe('the Docker Engine renderer', () => {
  it('renders the contract example into the engine create body, labels, files and secret references', () => {
    expect(renderContainers(intentOf(contractExample), ['temp-sensor--d-0--00000000--r0'])).toEqual([
      {
        name: `temp-sensor--d-20261123-0001--${fingerprint('d-20261123-0001')}--r0`,
        create: {
          Image: image,
          Cmd: ['/bin/httpd', '-f', '-p', '8080', '-h', '/www'],
          Env: ['LOG_LEVEL=info', 'MQTT_PASSWORD_FILE=/run/secrets/MQTT_PASSWORD'],
          Labels: {
            [LABELS.managed]: 'true',
            [LABELS.application]: 'temp-sensor',
            [LABELS.version]: '1.4.0',
            [LABELS.deployment]: 'd-20261123-0001',
            [LABELS.replica]: '0',
            [LABELS.previous]: 'temp-sensor--d-0--00000000--r0',
            [LABELS.restartPolicy]: 'unless-stopped',
            [LABELS.ports]: '8080/tcp',
          },
          StopTimeout: 10,
          HostConfig: {
            NetworkMode: 'host',
            RestartPolicy: { Name: 'unless-stopped' },
            Mounts: [{ Type: 'volume', Source: 'temp-sensor-data', Target: '/data', ReadOnly: false }],
            Memory: 64 * 1024 * 1024,
            NanoCpus: 500_000_000,
          },
        },
        files: [{ path: '/etc/temp-sensor/config.json', content: '{"intervalSeconds": 5}', mode: 0o644 }],
        secrets: [{ ref: 'temp-sensor/mqtt/password', path: '/run/secrets/MQTT_PASSWORD' }],
      },
    ]);
  });

  it('binds ports only on a bridge network, one container port on every host port it is bound to, udp apart from tcp', () => {
    const [{ create }] = renderContainers(
      intentOf({ ...minimal, container: { network: 'bridge', ports: [{ container: 80, host: 8081 }, { container: 80, host: 8082 }, { container: 53, protocol: 'udp' }] } }),
      [],
    ) as [ReturnType<typeof renderContainers>[number]];
    expect(create.ExposedPorts).toEqual({ '80/tcp': {}, '53/udp': {} });
    expect(create.HostConfig?.PortBindings).toEqual({ '80/tcp': [{ HostPort: '8081' }, { HostPort: '8082' }], '53/udp': [{ HostPort: '53' }] });
  });

  it('runs on the host network with restart policy unless-stopped, no limits and no mounts by default', () => {
    const [{ create, files }] = renderContainers(intentOf({ ...minimal, container: { ports: [{ container: 80 }] } }), []) as [ReturnType<typeof renderContainers>[number]];
    expect(create.HostConfig).toEqual({ NetworkMode: 'host', RestartPolicy: { Name: 'unless-stopped' } });
    expect(create.ExposedPorts).toBeUndefined();
    expect(create.Cmd).toBeUndefined();
    expect(create.StopSignal).toBeUndefined();
    expect(files).toEqual([]);
  });

  it('carries the stop grace period in whole seconds, the stop signal and an init process', () => {
    const intent = { ...intentOf(minimal), stop: { signal: 'SIGINT', gracePeriodMs: 1500 }, init: true };
    const [{ create }] = renderContainers(intent, []) as [ReturnType<typeof renderContainers>[number]];
    expect([create.StopTimeout, create.StopSignal, create.HostConfig?.Init]).toEqual([2, 'SIGINT', true]);
  });

  it('carries the network mode, restart policy, read-only volumes, file modes and options past the sandbox', () => {
    const intent = intentOf({
      ...minimal,
      container: {
        network: 'none',
        restartPolicy: 'on-failure',
        volumes: [{ name: 'web-data', target: '/data', readOnly: true }],
        files: [{ path: '/usr/local/bin/start', content: '#!/bin/sh\n', mode: 0o755 }],
        resources: { memoryMb: 6 },
        capabilities: ['NET_ADMIN'],
        mounts: [{ source: '/srv/data', target: '/data2' }],
      },
    });
    const [{ create, files }] = renderContainers(intent, []) as [ReturnType<typeof renderContainers>[number]];
    expect(create.HostConfig).toEqual({
      NetworkMode: 'none',
      RestartPolicy: { Name: 'on-failure' },
      Mounts: [{ Type: 'volume', Source: 'web-data', Target: '/data', ReadOnly: true }],
      Memory: 6 * 1024 * 1024,
      CapAdd: ['NET_ADMIN'],
      Binds: ['/srv/data:/data2:ro'],
    });
    expect(create.Labels?.[LABELS.restartPolicy]).toBe('on-failure');
    expect(files).toEqual([{ path: '/usr/local/bin/start', content: '#!/bin/sh\n', mode: 0o755 }]);
  });

  it('names containers deterministically, one per replica, and keeps ids that differ only in ":" apart', () => {
    expect(containerName('web', 'd-1', 0)).toBe(containerName('web', 'd-1', 0));
    expect(containerName('web', 'a:b', 0)).not.toBe(containerName('web', 'a_b', 0));
    expect(containerName('web', 'a:b', 0)).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/);
    expect(renderContainers(intentOf({ ...minimal, replicasPerNode: 3 }), []).map((c) => c.name.slice(-3))).toEqual(['-r0', '-r1', '-r2']);
  });

  it('reaches a container port from outside at the port itself on the host network, at its host binding on a bridge', () => {
    expect(reachablePort(intentOf({ ...minimal, healthCheck: { http: { port: 8080 } } }), 8080)).toBe(8080);
    const bridged = intentOf({ ...minimal, container: { network: 'bridge', ports: [{ container: 80, host: 8081 }] }, healthCheck: { tcp: { port: 80 } } });
    expect(reachablePort(bridged, 80)).toBe(8081);
  });
});
