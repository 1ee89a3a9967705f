import { DEFAULT_HEALTH_POLICY, healthPolicy, healthProbe, nodeIntent } from '../../src/core/intent';
import { deployRequestSchema } from '../../src/core/schemas/request';
import { contractExample, minimal } from '../fixtures/requests';

const image = '10.77.0.1:5000/temp-sensor@sha256:abc';

describe('the neutral intent of a request on a node', () => {
  it('says everything the contract example asks for, secrets by reference only', () => {
    const request = deployRequestSchema.parse(contractExample);
    expect(nodeIntent(request, image)).toEqual({
      deploymentId: 'd-20261123-0001',
      application: 'temp-sensor',
      version: '1.4.0',
      image,
      replicas: 1,
      command: ['/bin/httpd', '-f', '-p', '8080', '-h', '/www'],
      env: { LOG_LEVEL: 'info' },
      files: [{ path: '/etc/temp-sensor/config.json', content: '{"intervalSeconds": 5}', mode: 0o644 }],
      secrets: [{ name: 'MQTT_PASSWORD', ref: 'temp-sensor/mqtt/password', path: '/run/secrets/MQTT_PASSWORD' }],
      ports: [{ container: 8080, host: 8080, protocol: 'tcp' }],
      volumes: [{ name: 'temp-sensor-data', target: '/data', readOnly: false }],
      network: 'host',
      restartPolicy: 'unless-stopped',
      resources: { memoryMb: 64, cpus: 0.5 },
      stop: { gracePeriodMs: 10_000 },
      init: false,
      access: { privileged: false, capabilities: [], devices: [], pid: 'private', ipc: 'private', mounts: [] },
      health: { probe: { kind: 'http', port: 8080, path: '/' }, policy: { intervalMs: 250, timeoutMs: 1000, healthyAfter: 2, deadlineMs: 30000 } },
    });
  });

  it('carries the stop grace period, the stop signal and the init process of the request', () => {
    const request = deployRequestSchema.parse({ ...minimal, container: { stopGracePeriodMs: 1000, stopSignal: 'SIGINT', init: true } });
    expect(nodeIntent(request, image)).toMatchObject({ stop: { signal: 'SIGINT', gracePeriodMs: 1000 }, init: true });
    expect(deployRequestSchema.safeParse({ ...minimal, container: { stopSignal: 'SIGSEGV' } }).error?.issues[0]?.message).toMatch(/must be one of SIGTERM/);
  });

  it('names the images per platform of a request that gives one for each', () => {
    const images = { 'linux/amd64': 'reg:5000/web:1-amd64', 'linux/arm64': 'reg:5000/web:1-arm64' };
    const request = deployRequestSchema.parse({ ...minimal, application: { name: 'web', version: '1', images } });
    expect(nodeIntent(request, images['linux/amd64']).images).toEqual(images);
    expect(deployRequestSchema.safeParse({ ...minimal, application: { name: 'web', version: '1', images, image: 'x' } }).success).toBe(false);
    expect(JSON.stringify(deployRequestSchema.safeParse({ ...minimal, application: { name: 'web', version: '1', images: { amd64: 'x' } } }).error?.issues)).toContain('must be a platform such as linux/amd64');
  });

  it('publishes a port on its own number unless the request names a host port', () => {
    const request = deployRequestSchema.parse({ ...minimal, container: { network: 'bridge', ports: [{ container: 80 }, { container: 53, host: 5353, protocol: 'udp' }] } });
    expect(nodeIntent(request, image).ports).toEqual([
      { container: 80, host: 80, protocol: 'tcp' },
      { container: 53, host: 5353, protocol: 'udp' },
    ]);
  });

  it('reads the access options of requests recorded before they existed as the defaults', () => {
    const request = deployRequestSchema.parse(minimal);
    const old = { ...request, container: { ...request.container, privileged: undefined, capabilities: undefined, devices: undefined, pid: undefined, ipc: undefined, mounts: undefined } };
    expect(nodeIntent(old as never, image).access).toEqual({ privileged: false, capabilities: [], devices: [], pid: 'private', ipc: 'private', mounts: [] });
  });

  it('turns each kind of health check into its probe, with the policy of the request or the defaults', () => {
    const check = (healthCheck: object) => deployRequestSchema.parse({ ...minimal, healthCheck }).healthCheck;
    expect(healthProbe(check({ http: { port: 8080, path: '/health' } }))).toEqual({ kind: 'http', port: 8080, path: '/health' });
    expect(healthProbe(check({ tcp: { port: 80 } }))).toEqual({ kind: 'tcp', port: 80 });
    expect(healthProbe(check({ exec: { command: ['test', '-f', '/tmp/ready'] } }))).toEqual({ kind: 'exec', command: ['test', '-f', '/tmp/ready'] });
    expect(healthProbe(check({ docker: {} }))).toEqual({ kind: 'image' });
    expect(healthProbe(undefined)).toEqual({ kind: 'running' });
    expect(healthPolicy(check({ docker: {}, intervalMs: 250 }))).toEqual({ intervalMs: 250, timeoutMs: 2000, healthyAfter: 1, deadlineMs: 60000 });
    expect(healthPolicy(undefined)).toEqual(DEFAULT_HEALTH_POLICY);
  });
});
