// The verb engine's shared parts, driven by a fake driver (scripted observations and probes,
// no node): the verify loop every target runs (streak, a run that changed, an end, the
// deadline, the node going away) and the pre-flight checks before apply.
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { EngineUnreachableError, HealthCheckFailedError, NodePlatformError, PortInUseError } from '../../src/core/errors';
import { nodeIntent, type NodeIntent } from '../../src/core/intent';
import { deployRequestSchema } from '../../src/core/schemas/request';
import { preflight } from '../../activities/targets/engine/preflight';
import { waitHealthy, type Observation, type Run } from '../../activities/targets/engine/verify';
import { minimal } from '../fixtures/requests';

const intent = (health: object = {}, extra: object = {}): NodeIntent =>
  nodeIntent(deployRequestSchema.parse({ ...minimal, healthCheck: { exec: { command: ['true'] }, intervalMs: 10, timeoutMs: 100, healthyAfter: 2, deadlineMs: 5000, ...health }, ...extra }), minimal.application.image!);

/** An activity context that keeps quiet about the failures the tests expect. */
const activity = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

const run = (id: string, over: Partial<Run> = {}): Run => ({ id, running: true, startedAt: 't0', restartCount: 0, ...over });

/** Runs the loop in an activity context with a fake driver: each probe takes the next scripted observation and inside-probe answer (the last repeats). */
async function verify(script: { seen: Observation[]; inside?: (string | undefined)[]; node?: (string | undefined)[]; health?: object }): Promise<number> {
  let i = 0;
  let j = 0;
  let k = 0;
  const next = <T>(xs: T[], n: number) => xs[Math.min(n, xs.length - 1)]!;
  return activity().run(() =>
    waitHealthy(
      { node: { id: 'fog-1', address: '127.0.0.1' }, instance: 'web-1', intent: intent(script.health), started: Date.now() },
      {
        observe: async () => next(script.seen, i++),
        inside: async () => (script.inside ? next(script.inside, j++) : undefined),
        ...(script.node ? { nodeProblem: async () => next(script.node!, k++) } : {}),
      },
    ),
  );
}

describe('the verify loop, with a fake driver', () => {
  it('is healthy after `healthyAfter` passes in a row, a failed probe starting the streak again', async () => {
    expect(await verify({ seen: [{ runs: [run('a')] }], inside: [undefined, 'refused', undefined, undefined] })).toBe(4);
  });

  it('waits while the driver says what it waits for, without probing', async () => {
    let probed = 0;
    const seen = [{ runs: [], waiting: 'no task yet' }, { runs: [run('a')] }];
    const probes = await activity().run(() => {
      let i = 0;
      return waitHealthy({ node: { id: 'fog-1', address: '127.0.0.1' }, instance: 'web-1', intent: intent(), started: Date.now() }, { observe: async () => seen[Math.min(i++, 1)]!, inside: async () => (probed++, undefined) });
    });
    expect({ probes, probed }).toEqual({ probes: 3, probed: 2 });
  });

  it('fails a run that restarted after it was first up, even when the probe passed in between', async () => {
    const err = await verify({ seen: [{ runs: [run('a')] }, { runs: [run('a', { startedAt: 't1', restartCount: 1, exitCode: 1 })] }], health: { healthyAfter: 5 } }).catch((e) => e);
    expect(err).toBeInstanceOf(HealthCheckFailedError);
    expect(err.message).toBe('container web-1 on fog-1 did not become healthy: restarted during verification (1 time(s); it had exited with 1)');
  });

  it('fails a run that stopped, one that is gone, and a new one that replaced it', async () => {
    const stopped = await verify({ seen: [{ runs: [run('a')] }, { runs: [run('a', { running: false, status: 'exited', exitCode: 137 })] }], health: { healthyAfter: 5 } }).catch((e) => e.message);
    const gone = await verify({ seen: [{ runs: [run('a')] }, { runs: [] }], health: { healthyAfter: 5 } }).catch((e) => e.message);
    const replaced = await verify({ seen: [{ runs: [run('a')] }, { runs: [run('a'), run('b')] }], health: { healthyAfter: 5 } }).catch((e) => e.message);
    expect([stopped, gone, replaced].map((m: string) => m.replace(/^.*healthy: /, ''))).toEqual([
      'stopped during verification: exited (exit code 137)',
      'stopped during verification: a is gone',
      'replaced during verification: b started after the instance was up',
    ]);
  });

  it('checks the runs once more before it declares them healthy', async () => {
    const err = await verify({ seen: [{ runs: [run('a')] }, { runs: [run('a')] }, { runs: [run('a', { startedAt: 't1', restartCount: 1 })] }] }).catch((e) => e.message);
    expect(err).toContain('restarted during verification');
  });

  it('fails at once on what the driver says can never become healthy', async () => {
    const err = await verify({ seen: [{ runs: [run('a', { running: false })], ended: 'container is exited (exit code 3) and will not be restarted' }] }).catch((e) => e);
    expect([err.constructor.name, err.message]).toEqual(['HealthCheckFailedError', 'container web-1 on fog-1 did not become healthy: container is exited (exit code 3) and will not be restarted']);
  });

  it('fails at the deadline with the last problem and how many probes it made', async () => {
    const err = await verify({ seen: [{ runs: [run('a')] }], inside: ['GET / answered 503'], health: { intervalMs: 20, deadlineMs: 100 } }).catch((e) => e.message);
    expect(err).toMatch(/did not become healthy: GET \/ answered 503 \(after \d+ probes in \d+ ms\)$/);
  });

  it('names the node unreachable when it cannot run the instance, while waiting and before healthy', async () => {
    const waiting = await verify({ seen: [{ runs: [], waiting: '0 of 1 task(s) running' }], node: ['swarm node s-2 is down'] }).catch((e) => e);
    const atTheEnd = await verify({ seen: [{ runs: [run('a')] }], node: ['its kubelet has not renewed its lease for 41 s'] }).catch((e) => e);
    expect([waiting, atTheEnd].map((e) => [e instanceof EngineUnreachableError, e.message])).toEqual([
      [true, "Docker Engine of 'fog-1' is unreachable: swarm node s-2 is down"],
      [true, "Docker Engine of 'fog-1' is unreachable: its kubelet has not renewed its lease for 41 s"],
    ]);
  });
});

describe('pre-flight, with a fake driver', () => {
  const amd64 = { os: 'linux', architecture: 'amd64' };
  const node = (over: object = {}) => ({ platform: async () => amd64, imagePlatforms: async () => [amd64], portHolders: async () => [], ...over });

  it('gives the intent the image for the node’s platform', async () => {
    const images = { 'linux/arm64': 'r/web:1-arm64', 'linux/amd64': 'r/web:1-amd64' };
    const { intent: got, platform } = await preflight('fog-1', { ...intent(), images }, node());
    expect([got.image, platform]).toEqual(['r/web:1-amd64', amd64]);
  });

  it('refuses a node that does not report its platform, one the image is not built for, and one with no image of the request', async () => {
    const refused = await Promise.all([
      preflight('fog-1', intent(), node({ platform: async () => ({ os: 'linux', architecture: 'unknown' }) })).catch((e) => e),
      preflight('fog-1', intent(), node({ imagePlatforms: async () => [{ os: 'linux', architecture: 'arm64' }] })).catch((e) => e),
      preflight('fog-1', { ...intent(), images: { 'linux/arm64': 'r/web:1-arm64' } }, node()).catch((e) => e),
    ]);
    expect(refused.map((e) => [e instanceof NodePlatformError, e.message])).toEqual([
      [true, 'node fog-1 runs linux/unknown: the node does not report its platform, so no image can be chosen for it'],
      [true, `node fog-1 runs linux/amd64: image ${minimal.application.image} is built for linux/arm64 only`],
      [true, 'node fog-1 runs linux/amd64: the request names images for linux/arm64 only'],
    ]);
  });

  it('refuses a host port another application holds, naming the holder, and not one the application holds itself', async () => {
    const withPort = intent({}, { container: { ports: [{ container: 8080 }], network: 'host' } });
    const holders = [{ application: 'billing', deploymentId: 'b-7', ports: ['8080/tcp'] }];
    const err = await preflight('fog-1', withPort, node({ portHolders: async () => holders })).catch((e) => e);
    expect([err instanceof PortInUseError, err.message]).toEqual([true, 'host port 8080/tcp on fog-1 is held by application billing (deployment b-7)']);
    await expect(preflight('fog-1', withPort, node({ portHolders: async () => [{ ...holders[0], application: 'web' }] }))).resolves.toMatchObject({ intent: { image: minimal.application.image } });
  });
});
