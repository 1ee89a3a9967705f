import { NodePlatformError } from '../../src/core/errors';
import { nodeIntent } from '../../src/core/intent';
import { imageFor, normalizePlatform, platformName, platformProblem, runsOn } from '../../src/core/platforms';
import { describeClashes, hostPortClaims, portClashes } from '../../src/core/ports';
import { runChange } from '../../src/core/run-state';
import { deployRequestSchema } from '../../src/core/schemas/request';
import { minimal } from '../fixtures/requests';

describe('platforms', () => {
  it('reads an engine’s uname names and a registry’s OCI names alike', () => {
    expect([
      { os: 'linux', architecture: 'x86_64' },
      { os: 'Linux', architecture: 'aarch64' },
      { os: 'linux', architecture: 'armv7l' },
      { os: 'linux', architecture: 'arm', variant: 'v6' },
    ].map((p) => platformName(normalizePlatform(p)))).toEqual(['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/arm/v6']);
  });

  it('runs an image on a node of its os and architecture, of any variant unless both name one', () => {
    const amd64 = normalizePlatform({ os: 'linux', architecture: 'amd64' });
    const armv7 = normalizePlatform({ os: 'linux', architecture: 'armv7l' });
    expect([
      runsOn(amd64, { os: 'linux', architecture: 'amd64' }),
      runsOn(amd64, { os: 'linux', architecture: 'arm64' }),
      runsOn(armv7, { os: 'linux', architecture: 'arm' }),
      runsOn(armv7, { os: 'linux', architecture: 'arm', variant: 'v6' }),
      runsOn(amd64, { os: 'windows', architecture: 'amd64' }),
    ]).toEqual([true, false, true, false, false]);
  });

  it('names both platforms when an image is not for the node, and says nothing when it is or when the image says nothing', () => {
    const node = normalizePlatform({ os: 'linux', architecture: 'x86_64' });
    expect(platformProblem('reg:5000/web:1', node, [{ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'arm', variant: 'v7' }])).toBe(
      'image reg:5000/web:1 is built for linux/arm64, linux/arm/v7 only',
    );
    expect(platformProblem('reg:5000/web:1', node, [{ os: 'linux', architecture: 'amd64' }])).toBeUndefined();
    expect(platformProblem('reg:5000/web:1', node, [])).toBeUndefined();
  });

  it('picks the image for the node’s platform from a request that names one per platform, and refuses a node none is for', () => {
    const intent = { image: 'a', images: { 'linux/amd64': 'reg/web:amd64', 'linux/arm64': 'reg/web:arm64' } };
    expect(imageFor(intent, normalizePlatform({ os: 'linux', architecture: 'aarch64' }), 'pi-1')).toBe('reg/web:arm64');
    expect(imageFor({ image: 'reg/web:1' }, normalizePlatform({ os: 'linux', architecture: 'aarch64' }), 'pi-1')).toBe('reg/web:1');
    expect(() => imageFor(intent, normalizePlatform({ os: 'linux', architecture: 'armv7l' }), 'pi-2')).toThrow(
      new NodePlatformError('pi-2', 'linux/arm/v7', 'the request names images for linux/amd64, linux/arm64 only'),
    );
  });
});

describe('host ports', () => {
  const intentOf = (patch: object) => nodeIntent(deployRequestSchema.parse({ ...minimal, ...patch }), 'img');

  it('claims the container ports and the probed port on the host network, the published ports on a bridge, none without a network', () => {
    expect(hostPortClaims(intentOf({ container: { ports: [{ container: 53, protocol: 'udp' }] }, healthCheck: { http: { port: 8080 } } }))).toEqual(['53/udp', '8080/tcp']);
    expect(hostPortClaims(intentOf({ container: { network: 'bridge', ports: [{ container: 80, host: 8081 }] }, healthCheck: { tcp: { port: 80 } } }))).toEqual(['8081/tcp']);
    expect(hostPortClaims(intentOf({ container: { network: 'none' }, healthCheck: { exec: { command: ['true'] } } }))).toEqual([]);
  });

  it('finds a claimed port another application holds, naming it, and not the application’s own previous version', () => {
    const holders = [
      { application: 'web', deploymentId: 'web-1', ports: ['8080/tcp'] },
      { application: 'broker', deploymentId: 'broker-7', ports: ['1883/tcp', '8080/tcp'] },
    ];
    const clashes = portClashes('web', ['8080/tcp', '9090/tcp'], holders);
    expect(clashes).toEqual([{ port: '8080/tcp', holder: holders[1] }]);
    expect(describeClashes('fog-1', clashes)).toBe('host port 8080/tcp on fog-1 is held by application broker (deployment broker-7)');
    expect(portClashes('web', ['9090/tcp'], holders)).toEqual([]);
  });
});

describe('an instance that stayed running', () => {
  const first = { running: true, startedAt: '2026-12-01T10:00:00Z', restartCount: 0 };

  it('is the same run still running', () => {
    expect(runChange(first, { ...first })).toBeUndefined();
  });

  it('is not one that was restarted, nor one that stopped', () => {
    expect(runChange(first, { running: true, startedAt: '2026-12-01T10:00:03Z', restartCount: 2, exitCode: 1 })).toBe('restarted during verification (2 time(s); it had exited with 1)');
    expect(runChange(first, { running: false, startedAt: first.startedAt, restartCount: 0, status: 'exited', exitCode: 137 })).toBe('stopped during verification: exited (exit code 137)');
  });
});
