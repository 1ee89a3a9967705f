import { createHash } from 'node:crypto';
import { InvalidContainerError } from '../../src/core/errors';
import { nodeIntent, type NodeIntent } from '../../src/core/intent';
import { LABELS } from '../../src/core/labels';
import { fingerprint } from '../../src/core/renderers/docker-engine';
import { configName, oneShotServiceName, renderService, renderSwarmConfigCheck, renderSwarmTestService, secretName, serviceName, SWARM_LABELS, testSecretName } from '../../src/core/renderers/swarm';
import { deployRequestSchema } from '../../src/core/schemas/request';
import { contractExample, minimal } from '../fixtures/requests';

const image = '10.77.0.1:5000/temp-sensor@sha256:abc';
const intentOf = (request: object): NodeIntent => nodeIntent(deployRequestSchema.parse(request), image);
const MS = 1_000_000;
/** A config's or secret's name as the renderer should make it, by Node's own SHA-256. */
const objectName = (kind: string, app: string, ...parts: string[]) => `${app.slice(0, 26)}--${kind}${createHash('sha256').update(JSON.stringify([kind, app, ...parts])).digest('hex').slice(0, 32)}`;

describe('the Swarm renderer', () => {
  it('renders the contract example into one service on exactly the node, with its configs and secret references', () => {
    const id = 'd-20261123-0001';
    const owned = { [LABELS.managed]: 'true', [LABELS.application]: 'temp-sensor', [LABELS.deployment]: id };
    const config = objectName('f', 'temp-sensor', id, '/etc/temp-sensor/config.json');
    const secret = objectName('s', 'temp-sensor', id, 'MQTT_PASSWORD');
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
      secrets: [{ Name: secret, Labels: owned, ref: 'temp-sensor/mqtt/password' }],
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

  it('names configs and secrets by 128 bits of SHA-256, so that what a 32-bit fingerprint or a cut name confused stays apart', () => {
    // Two deployment ids of one 32-bit fingerprint: their configs were one config, the second deployment's file the first's.
    expect(fingerprint('d-486889')).toBe(fingerprint('d-1477804'));
    expect(configName('web', 'd-1477804', { path: '/a' })).toBe(objectName('f', 'web', 'd-1477804', '/a'));
    expect(configName('web', 'd-486889', { path: '/a' })).not.toBe(configName('web', 'd-1477804', { path: '/a' }));
    expect(secretName('web', 'd-486889', 'S')).not.toBe(secretName('web', 'd-1477804', 'S'));
    // Applications whose names begin alike are told apart by the hash, which covers the whole name.
    const [a, b] = [`${'a'.repeat(40)}-one`, `${'a'.repeat(40)}-two`];
    expect(configName(a, 'd-1', { path: '/a' })).toBe(objectName('f', a, 'd-1', '/a'));
    expect(configName(a, 'd-1', { path: '/a' })).not.toBe(configName(b, 'd-1', { path: '/a' }));
    // A file, a secret and a test's secret of the same name never share one.
    expect(new Set([configName('web', 'd-1', { path: 'X' }), secretName('web', 'd-1', 'X'), testSecretName('web', 'd-1', 'X', '')]).size).toBe(3);
  });
});

describe('the Swarm renderer\'s one-shot services', () => {
  const id = 'd-20261123-0001';
  const check = intentOf({
    ...contractExample,
    container: { ...contractExample.container, configCheck: { command: ['/bin/httpd', '-t'], timeoutMs: 5000 } },
    healthCheck: { exec: { command: ['true'] } },
  });
  const job = { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } };
  const labels = (role: string, intent: NodeIntent = check) => ({
    [LABELS.role]: role,
    [LABELS.application]: intent.application,
    [LABELS.version]: intent.version,
    [LABELS.deployment]: intent.deploymentId,
    [SWARM_LABELS.node]: 'swarm-2',
  });

  it('checks the configuration as a job of the application\'s service with its command replaced: same files, secrets, mounts and limits, no port, no health check, never restarted, not an instance', () => {
    const service = renderService(check, 'swarm-2');
    const name = `temp-sensor--swarm-2--${fingerprint(id)}--config-check`;
    expect(renderSwarmConfigCheck(check, 'swarm-2')).toEqual({
      name,
      spec: {
        Name: name,
        Labels: labels('config-check'),
        TaskTemplate: {
          ContainerSpec: {
            Image: image,
            Args: ['/bin/httpd', '-t'],
            Env: ['LOG_LEVEL=info', 'MQTT_PASSWORD_FILE=/run/secrets/MQTT_PASSWORD'],
            Labels: labels('config-check'),
            Mounts: [{ Type: 'volume', Source: 'temp-sensor-data', Target: '/data', ReadOnly: false }],
            Configs: [{ File: { Name: '/etc/temp-sensor/config.json', UID: '0', GID: '0', Mode: 0o644 }, ConfigName: configName('temp-sensor', id, { path: '/etc/temp-sensor/config.json' }) }],
            Secrets: [{ File: { Name: 'MQTT_PASSWORD', UID: '0', GID: '0', Mode: 0o400 }, SecretName: secretName('temp-sensor', id, 'MQTT_PASSWORD') }],
          },
          Resources: { Limits: { MemoryBytes: 64 * 1024 * 1024, NanoCPUs: 500_000_000 } },
          RestartPolicy: { Condition: 'none', Delay: 0 },
          Placement: { Constraints: ['node.hostname==swarm-2'] },
          Networks: [{ Target: 'host' }],
        },
        Mode: job,
        EndpointSpec: { Mode: 'dnsrr' },
      },
      // The application's own configs and secrets, by the same names: made once, used by the check and then the service.
      configs: service.configs,
      secrets: service.secrets,
    });
  });

  it('publishes no port for a check of a bridged application, so that it runs beside the version it may replace', () => {
    const bridged = intentOf({ ...minimal, container: { network: 'bridge', ports: [{ container: 80, host: 18080 }], configCheck: { command: ['nginx', '-t'] } } });
    const { spec } = renderSwarmConfigCheck(bridged, 'swarm-2');
    expect([spec.EndpointSpec, spec.TaskTemplate.Networks, spec.TaskTemplate.ContainerSpec.Args]).toEqual([{ Mode: 'dnsrr' }, undefined, ['nginx', '-t']]);
  });

  const tested = intentOf({
    ...minimal,
    container: { network: 'bridge', ports: [{ container: 8080, host: 9090 }], secrets: [{ name: 'TOKEN', ref: 'app/token' }] },
    verify: { tests: [{ name: 'e2e', container: { image: 'reg:5000/e2e:1', command: ['run'], env: { N: '1' } }, secrets: [{ name: 'TOKEN', ref: 'api/token' }] }] },
  });

  it('runs a test container as a job on the node, on the engine\'s bridge against the node\'s address, told what it tests, its secrets as Swarm secrets of its own', () => {
    const name = `web--swarm-2--${fingerprint('d-min')}--test-e2e`;
    const secret = testSecretName('web', 'd-min', 'e2e', 'TOKEN');
    expect(renderSwarmTestService(tested, tested.tests![0] as never, 'swarm-2', '10.77.0.202')).toEqual({
      name,
      spec: {
        Name: name,
        Labels: labels('test', tested),
        TaskTemplate: {
          ContainerSpec: {
            Image: 'reg:5000/e2e:1',
            Args: ['run'],
            Env: ['N=1', 'DEPLOYER_TARGET_HOST=10.77.0.202', 'DEPLOYER_APPLICATION=web', 'DEPLOYER_VERSION=1', 'DEPLOYER_DEPLOYMENT_ID=d-min', 'TOKEN_FILE=/run/secrets/TOKEN'],
            Labels: labels('test', tested),
            Secrets: [{ File: { Name: 'TOKEN', UID: '0', GID: '0', Mode: 0o400 }, SecretName: secret }],
          },
          RestartPolicy: { Condition: 'none', Delay: 0 },
          Placement: { Constraints: ['node.hostname==swarm-2'] },
        },
        Mode: job,
        EndpointSpec: { Mode: 'dnsrr' },
      },
      configs: [],
      // Labelled as the application's secrets are: pruned once no service references it.
      secrets: [{ Name: secret, Labels: { [LABELS.managed]: 'true', [LABELS.application]: 'web', [SWARM_LABELS.deployment]: 'd-min' }, ref: 'web/api/token' }],
    });
    // Not the application's secret of the same name, which holds another value.
    expect(secret).not.toBe(renderService(tested, 'swarm-2').secrets[0]!.Name);
  });

  it('runs a test container on the node\'s network when the application is, reaching it at 127.0.0.1', () => {
    const hosted = intentOf({ ...minimal, verify: { tests: [{ name: 'e2e', container: { image: 'x' } }] } });
    const { spec } = renderSwarmTestService(hosted, hosted.tests![0] as never, 'swarm-1', '10.77.0.201');
    expect([spec.TaskTemplate.Networks, spec.TaskTemplate.ContainerSpec.Args, spec.TaskTemplate.ContainerSpec.Secrets]).toEqual([[{ Target: 'host' }], undefined, undefined]);
    expect(spec.TaskTemplate.ContainerSpec.Env).toContain('DEPLOYER_TARGET_HOST=127.0.0.1');
  });

  it('names one-shot services per node and deployment within 63 characters', () => {
    expect(oneShotServiceName('web', 'swarm-1', 'd-1', 'config-check')).not.toBe(oneShotServiceName('web', 'swarm-2', 'd-1', 'config-check'));
    expect(oneShotServiceName('web', 'swarm-1', 'd-1', 'config-check')).not.toBe(oneShotServiceName('web', 'swarm-1', 'd-2', 'config-check'));
    expect(oneShotServiceName('a'.repeat(63), 'swarm-1', 'd-1', `test-${'t'.repeat(63)}`).length).toBeLessThanOrEqual(63);
    expect(testSecretName('web', 'd-1', 'a', 'S')).not.toBe(testSecretName('web', 'd-1', 'b', 'S'));
    expect(testSecretName('web', 'd-1', 'a', 'S')).toBe(objectName('t', 'web', 'd-1', 'a', 'S'));
  });
});
