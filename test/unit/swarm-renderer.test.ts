import { InvalidContainerError } from '../../src/core/errors';
import { nodeIntent, type NodeIntent } from '../../src/core/intent';
import { LABELS } from '../../src/core/labels';
import { fingerprint } from '../../src/core/renderers/docker-engine';
import { configName, renderService, secretName, serviceName, SWARM_LABELS } from '../../src/core/renderers/swarm';
import { deployRequestSchema } from '../../src/core/schemas/request';
import { contractExample, minimal } from '../fixtures/requests';

const image = '10.77.0.1:5000/temp-sensor@sha256:abc';
const intentOf = (request: object): NodeIntent => nodeIntent(deployRequestSchema.parse(request), image);
const MS = 1_000_000;

describe('the Swarm renderer', () => {
  it('renders the contract example into one service on exactly the node, with its configs and secret references', () => {
    const id = 'd-20261123-0001';
    const owned = { [LABELS.managed]: 'true', [LABELS.application]: 'temp-sensor', [LABELS.deployment]: id };
    const config = `temp-sensor--${fingerprint(id)}--f${fingerprint('/etc/temp-sensor/config.json')}`;
    const secret = `temp-sensor--${fingerprint(id)}--s${fingerprint('MQTT_PASSWORD')}`;
    expect(renderService(intentOf(contractExample), 'swarm-2')).toEqual({
      name: 'temp-sensor--swarm-2',
      spec: {
        Name: 'temp-sensor--swarm-2',
        Labels: {
          [LABELS.managed]: 'true',
          [LABELS.application]: 'temp-sensor',
          [LABELS.version]: '1.4.0',
          [LABELS.deployment]: id,
          [LABELS.restartPolicy]: 'unless-stopped',
          [SWARM_LABELS.node]: 'swarm-2',
          [LABELS.ports]: '8080/tcp',
        },
        TaskTemplate: {
          ContainerSpec: {
            Image: image,
            Args: ['/bin/httpd', '-f', '-p', '8080', '-h', '/www'],
            Env: ['LOG_LEVEL=info', 'MQTT_PASSWORD_FILE=/run/secrets/MQTT_PASSWORD'],
            Labels: { [LABELS.managed]: 'true', [LABELS.application]: 'temp-sensor', [LABELS.version]: '1.4.0', [LABELS.deployment]: id },
            StopGracePeriod: 10_000 * MS,
            Mounts: [{ Type: 'volume', Source: 'temp-sensor-data', Target: '/data', ReadOnly: false }],
            Configs: [{ File: { Name: '/etc/temp-sensor/config.json', UID: '0', GID: '0', Mode: 0o644 }, ConfigName: config }],
            Secrets: [{ File: { Name: 'MQTT_PASSWORD', UID: '0', GID: '0', Mode: 0o400 }, SecretName: secret }],
          },
          Resources: { Limits: { MemoryBytes: 64 * 1024 * 1024, NanoCPUs: 500_000_000 } },
          RestartPolicy: { Condition: 'any', Delay: 0 },
          Placement: { Constraints: ['node.hostname==swarm-2'] },
          Networks: [{ Target: 'host' }],
        },
        Mode: { Replicated: { Replicas: 1 } },
        UpdateConfig: { Parallelism: 0, Order: 'stop-first', FailureAction: 'continue', Monitor: MS },
        EndpointSpec: { Mode: 'dnsrr' },
      },
      configs: [{ Name: config, Labels: owned, content: '{"intervalSeconds": 5}' }],
      // The reference only: the value is read by the target when it creates the secret.
      secrets: [{ Name: secret, Labels: owned, ref: 'mqtt/password' }],
    });
  });

  it('publishes bridge ports in host mode, and carries stop signal, grace, init, replicas and restart policy', () => {
    const intent = {
      ...intentOf({ ...minimal, replicasPerNode: 2, container: { network: 'bridge', ports: [{ container: 80, host: 18080 }, { container: 53, protocol: 'udp' }], restartPolicy: 'on-failure' } }),
      stop: { signal: 'SIGINT', gracePeriodMs: 1500 },
      init: true,
    };
    const { spec } = renderService(intent, 'swarm-1');
    expect([spec.Mode, spec.TaskTemplate.RestartPolicy, spec.TaskTemplate.Networks, spec.EndpointSpec, spec.Labels[LABELS.ports]]).toEqual([
      { Replicated: { Replicas: 2 } },
      { Condition: 'on-failure', Delay: 0 },
      undefined,
      { Mode: 'dnsrr', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 18080, PublishMode: 'host' }, { Protocol: 'udp', TargetPort: 53, PublishedPort: 53, PublishMode: 'host' }] },
      '18080/tcp,53/udp',
    ]);
    expect([spec.TaskTemplate.ContainerSpec.StopSignal, spec.TaskTemplate.ContainerSpec.StopGracePeriod, spec.TaskTemplate.ContainerSpec.Init]).toEqual(['SIGINT', 1500 * MS, true]);
  });

  it('turns an exec health check into the task\'s own, so that Swarm holds the task in "starting" until it passes', () => {
    const intent = intentOf({ ...minimal, healthCheck: { exec: { command: ['test', '-f', '/ready'] }, intervalMs: 300, timeoutMs: 700, healthyAfter: 3, deadlineMs: 9000 } });
    expect(renderService(intent, 'swarm-1').spec.TaskTemplate.ContainerSpec.Healthcheck).toEqual({ Test: ['CMD', 'test', '-f', '/ready'], Interval: 300 * MS, Timeout: 700 * MS, Retries: 30 });
    expect(renderService(intentOf(minimal), 'swarm-1').spec.TaskTemplate.ContainerSpec.Healthcheck).toBeUndefined();
  });

  it('refuses what a Swarm service cannot do, naming each', () => {
    const base = intentOf(minimal);
    const intent = { ...base, access: { ...base.access, privileged: true, devices: [{ host: '/dev/ttyUSB0', permissions: 'rwm' as const }], pid: 'host' as const } };
    expect(() => renderService(intent, 'swarm-1')).toThrow(InvalidContainerError);
    expect(() => renderService(intent, 'swarm-1')).toThrow('on a Swarm node: privileged: Swarm services cannot run privileged; devices: Swarm services cannot be given host devices; pid "host": Swarm services cannot share the host PID namespace');
  });

  it('names services, configs and secrets within Swarm\'s 63 characters, distinct for distinct inputs', () => {
    expect(serviceName('web', 'swarm-1')).toBe('web--swarm-1');
    const long = serviceName('a'.repeat(63), 'swarm-1');
    expect(long).toHaveLength(63);
    expect(long).not.toBe(serviceName('a'.repeat(63), 'swarm-2'));
    for (const n of [configName('a'.repeat(63), 'd'.repeat(128), { path: '/x' }), secretName('a'.repeat(63), 'd'.repeat(128), 'S')]) expect(n.length).toBeLessThanOrEqual(63);
    expect(configName('web', 'd-1', { path: '/a' })).not.toBe(configName('web', 'd-2', { path: '/a' }));
  });
});
