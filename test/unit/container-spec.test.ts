import { containerName, containerSpec, containerSpecs, healthPolicy, healthTarget, LABELS } from '../../src/container-spec';
import type { PlannedNode } from '../../src/plan';
import { deployRequestSchema } from '../../src/schemas/request';
import { contractExample, minimal } from '../fixtures/requests';

const node: PlannedNode = { id: 'fog-2', address: '10.77.0.12', taskQueue: 'deployer', registry: '10.77.0.1:5000' };
const image = '10.77.0.1:5000/temp-sensor@sha256:abc';

describe('container spec', () => {
  it('turns the contract example into the engine create body, labels and files', () => {
    const request = deployRequestSchema.parse(contractExample);
    expect(containerSpec({ request, node, image, replica: 0, previous: ['temp-sensor--d-0--00000000--r0'] })).toEqual({
      name: 'temp-sensor--d-20261123-0001--' + containerName('temp-sensor', 'd-20261123-0001', 0).split('--')[2] + '--r0',
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
        },
        HostConfig: {
          NetworkMode: 'host',
          RestartPolicy: { Name: 'unless-stopped' },
          Mounts: [{ Type: 'volume', Source: 'temp-sensor-data', Target: '/data', ReadOnly: false }],
          Memory: 64 * 1024 * 1024,
          NanoCpus: 500_000_000,
        },
      },
      files: [{ path: '/etc/temp-sensor/config.json', content: '{"intervalSeconds": 5}', mode: 0o644 }],
      secrets: [{ ref: 'mqtt/password', path: '/run/secrets/MQTT_PASSWORD' }],
    });
  });

  it('binds ports only on a bridge network', () => {
    const request = deployRequestSchema.parse({ ...minimal, container: { network: 'bridge', ports: [{ container: 80, host: 8081 }] } });
    const { create } = containerSpec({ request, node, image, replica: 0, previous: [] });
    expect(create.ExposedPorts).toEqual({ '80/tcp': {} });
    expect(create.HostConfig?.PortBindings).toEqual({ '80/tcp': [{ HostPort: '8081' }] });
  });

  it('publishes one container port on every host port it is bound to, udp apart from tcp', () => {
    const request = deployRequestSchema.parse({
      ...minimal,
      container: {
        network: 'bridge',
        ports: [
          { container: 80, host: 8081 },
          { container: 80, host: 8082 },
          { container: 53, protocol: 'udp' },
        ],
      },
    });
    const { create } = containerSpec({ request, node, image, replica: 0, previous: [] });
    expect(create.ExposedPorts).toEqual({ '80/tcp': {}, '53/udp': {} });
    expect(create.HostConfig?.PortBindings).toEqual({ '80/tcp': [{ HostPort: '8081' }, { HostPort: '8082' }], '53/udp': [{ HostPort: '53' }] });
  });

  it('runs on the host network with restart policy unless-stopped, no limits and no mounts by default', () => {
    const request = deployRequestSchema.parse({ ...minimal, container: { ports: [{ container: 80 }] } });
    const { create, files } = containerSpec({ request, node, image, replica: 0, previous: [] });
    expect(create.HostConfig).toEqual({ NetworkMode: 'host', RestartPolicy: { Name: 'unless-stopped' } });
    expect(create.ExposedPorts).toBeUndefined();
    expect(create.Cmd).toBeUndefined();
    expect(files).toEqual([]);
  });

  it('carries the network mode, restart policy, read-only volumes and file modes of the request', () => {
    const request = deployRequestSchema.parse({
      ...minimal,
      container: {
        network: 'none',
        restartPolicy: 'on-failure',
        volumes: [{ name: 'web-data', target: '/data', readOnly: true }],
        files: [{ path: '/usr/local/bin/start', content: '#!/bin/sh\n', mode: 0o755 }],
        resources: { memoryMb: 6 },
      },
    });
    const { create, files } = containerSpec({ request, node, image, replica: 0, previous: [] });
    expect(create.HostConfig).toEqual({
      NetworkMode: 'none',
      RestartPolicy: { Name: 'on-failure' },
      Mounts: [{ Type: 'volume', Source: 'web-data', Target: '/data', ReadOnly: true }],
      Memory: 6 * 1024 * 1024,
    });
    expect(create.Labels?.[LABELS.restartPolicy]).toBe('on-failure');
    expect(files).toEqual([{ path: '/usr/local/bin/start', content: '#!/bin/sh\n', mode: 0o755 }]);
  });

  it('accepts no memory limit below the 6 MB the engine allows', () => {
    expect(deployRequestSchema.safeParse({ ...minimal, container: { resources: { memoryMb: 5 } } }).success).toBe(false);
  });

  it('names containers deterministically, one per replica, and keeps ids that differ only in ":" apart', () => {
    expect(containerName('web', 'd-1', 0)).toBe(containerName('web', 'd-1', 0));
    expect(containerName('web', 'a:b', 0)).not.toBe(containerName('web', 'a_b', 0));
    expect(containerName('web', 'a:b', 0)).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/);
    const request = deployRequestSchema.parse({ ...minimal, replicasPerNode: 3 });
    expect(containerSpecs(request, node, image, []).map((s) => s.name.slice(-3))).toEqual(['-r0', '-r1', '-r2']);
  });

  it('aims http and tcp probes at the node address, through the host binding on a bridge', () => {
    const host = deployRequestSchema.parse({ ...minimal, healthCheck: { http: { port: 8080, path: '/health' } } });
    expect(healthTarget(host, node, host.healthCheck)).toEqual({ kind: 'http', url: 'http://10.77.0.12:8080/health' });
    const bridged = deployRequestSchema.parse({
      ...minimal,
      container: { network: 'bridge', ports: [{ container: 80, host: 8081 }] },
      healthCheck: { tcp: { port: 80 } },
    });
    expect(healthTarget(bridged, node, bridged.healthCheck)).toEqual({ kind: 'tcp', host: '10.77.0.12', port: 8081 });
  });

  it('runs exec and docker checks through the engine, with the command as given', () => {
    const exec = deployRequestSchema.parse({ ...minimal, healthCheck: { exec: { command: ['test', '-f', '/tmp/ready'] } } });
    expect(healthTarget(exec, node, exec.healthCheck)).toEqual({ kind: 'exec', command: ['test', '-f', '/tmp/ready'] });
    const docker = deployRequestSchema.parse({ ...minimal, healthCheck: { docker: {}, intervalMs: 250 } });
    expect(healthTarget(docker, node, docker.healthCheck)).toEqual({ kind: 'docker' });
    expect(healthPolicy(docker.healthCheck)).toEqual({ intervalMs: 250, timeoutMs: 2000, healthyAfter: 1, deadlineMs: 60000 });
  });

  it('checks only that the container runs when the request has no health check', () => {
    const request = deployRequestSchema.parse(minimal);
    expect(healthTarget(request, node, undefined)).toEqual({ kind: 'running' });
    expect(healthPolicy(undefined)).toEqual({ intervalMs: 1000, timeoutMs: 2000, healthyAfter: 1, deadlineMs: 60000 });
  });
});
