import { deployRequestSchema, requestSchema } from '../../src/schemas/request';
import { contractExample, minimal } from '../fixtures/requests';

describe('request schema', () => {
  it('accepts the contract example unchanged', () => {
    const parsed = deployRequestSchema.parse(contractExample);
    expect(parsed).toEqual({ ...contractExample, strategy: { ...contractExample.strategy, pauseTimeoutMs: 3600000 }, container: { ...contractExample.container, ports: [{ container: 8080, host: 8080, protocol: 'tcp' }], volumes: [{ name: 'temp-sensor-data', target: '/data', readOnly: false }], files: [{ path: '/etc/temp-sensor/config.json', content: '{"intervalSeconds": 5}' }] } });
  });

  it('fills the contract defaults of a minimal request', () => {
    expect(deployRequestSchema.parse(minimal)).toEqual({
      ...minimal,
      replicasPerNode: 1,
      container: { env: {}, secrets: [], files: [], ports: [], volumes: [], network: 'host', restartPolicy: 'unless-stopped' },
      strategy: { maxParallel: 1, onFailure: 'rollback', pauseTimeoutMs: 3600000 },
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
    ['privileged mode', { container: { privileged: true } }, 'privileged'],
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

  it('tells the request kinds apart by "kind"', () => {
    expect(requestSchema.parse({ kind: 'Cancel', deploymentId: 'd-1' })).toEqual({ kind: 'Cancel', deploymentId: 'd-1' });
    expect(requestSchema.parse({ kind: 'Undeploy', deploymentId: 'd-4', application: 'temp-sensor', nodes: ['fog-2'] }).kind).toBe('Undeploy');
    expect(requestSchema.safeParse({ kind: 'Explode', deploymentId: 'd-1' }).success).toBe(false);
  });
});
