// The verb engine's shared parts, driven by a fake driver (scripted observations and probes,
// no node): the verify loop every target runs (streak, a run that changed, an end, the
// deadline, the node going away), the pre-flight checks before apply, apply's idempotency
// rule, the order of a restore, and the configuration check and tests over a driver's runs.
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { EngineUnreachableError, HealthCheckFailedError, NodeDecommissionedError, NodePlatformError, NodePolicyViolationError, PortInUseError } from '../../src/core/errors';
import type { ContainerTest, ExecTest } from '../../src/core/deployment-tests';
import { nodeIntent, type NodeIntent } from '../../src/core/intent';
import { deployRequestSchema } from '../../src/core/schemas/request';
import { alreadyApplied, applyIntent, type Placed } from '../../activities/targets/engine/apply';
import { oneShotVerbs } from '../../activities/targets/engine/one-shots';
import { preflight } from '../../activities/targets/engine/preflight';
import { restoreNode, type RestoreDriver } from '../../activities/targets/engine/restore';
import type { VerifyOutcome } from '../../activities/targets/target';
import { verifyNode, waitHealthy, type Observation, type Run } from '../../activities/targets/engine/verify';
import { minimal } from '../fixtures/requests';

const intent = (health: object = {}, extra: object = {}): NodeIntent =>
  nodeIntent(deployRequestSchema.parse({ ...minimal, healthCheck: { exec: { command: ['true'] }, intervalMs: 10, timeoutMs: 100, healthyAfter: 2, deadlineMs: 5000, ...health }, ...extra }), minimal.application.image!);

/** An activity context that keeps quiet about the failures the tests expect. */
const activity = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

const run = (id: string, over: Partial<Run> = {}): Run => ({ id, running: true, startedAt: 't0', restartCount: 0, ...over });

/** A node that stays in the fleet. */
const stays = () => undefined;

/**
 * Runs the loop in an activity context with a fake driver: each probe takes the next scripted
 * observation and inside-probe answer (the last repeats). `goneAfter`: the rounds after which
 * the node is decommissioned.
 */
async function verify(script: { seen: Observation[]; inside?: (string | undefined)[]; node?: (string | undefined)[]; health?: object; goneAfter?: number }): Promise<number> {
  let i = 0;
  let j = 0;
  let k = 0;
  let rounds = 0;
  const next = <T>(xs: T[], n: number) => xs[Math.min(n, xs.length - 1)]!;
  const stillThere = () => {
    if (script.goneAfter !== undefined && rounds++ >= script.goneAfter) throw new NodeDecommissionedError('fog-1');
  };
  return activity().run(() =>
    waitHealthy(
      { node: { id: 'fog-1', address: '127.0.0.1' }, instance: 'web-1', intent: intent(script.health), started: Date.now(), stillThere },
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
      return waitHealthy({ node: { id: 'fog-1', address: '127.0.0.1' }, instance: 'web-1', intent: intent(), started: Date.now(), stillThere: stays }, { observe: async () => seen[Math.min(i++, 1)]!, inside: async () => (probed++, undefined) });
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
      [true, "node 'fog-1' is unreachable: swarm node s-2 is down"],
      [true, "node 'fog-1' is unreachable: its kubelet has not renewed its lease for 41 s"],
    ]);
  });

  it('fails at once, long before its deadline, when the node is decommissioned while it waits', async () => {
    const started = Date.now();
    const err = await verify({ seen: [{ runs: [run('a')] }], inside: ['connection refused'], health: { intervalMs: 10, deadlineMs: 60_000 }, goneAfter: 3 }).catch((e) => e);
    expect([err instanceof NodeDecommissionedError, err.message]).toEqual([true, "node 'fog-1' was decommissioned by the Node Manager (a tombstone on its topic): it is no longer part of the fleet"]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('does not declare healthy a node decommissioned during its last probe', async () => {
    // healthyAfter 2: rounds 1 and 2 pass; the node is gone by the check before it is declared healthy.
    const err = await verify({ seen: [{ runs: [run('a')] }], goneAfter: 2 }).catch((e) => e);
    expect(err).toBeInstanceOf(NodeDecommissionedError);
  });
});

describe('the verify verb, with a fake driver', () => {
  it('says what it waits for, verifies every instance, and counts their probes together', async () => {
    const steps: string[] = [];
    const up = { observe: async () => ({ runs: [run('a')] }), inside: async () => undefined };
    const outcome: VerifyOutcome = await activity().run(() => verifyNode({ node: { id: 'fog-1', address: '127.0.0.1' }, intent: intent(), stillThere: stays, before: 'the pods to be ready' }, async () => [['web-r0', up], ['web-r1', up]], (_p, m) => steps.push(m)));
    expect([outcome.probes, steps]).toEqual([4, ['waiting for the pods to be ready and for exec health check (2 in a row within 5000 ms)', 'healthy']]);
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

  it('refuses what the node\'s own policy would not admit, in its words, asking it with the image chosen for the node', async () => {
    const images = { 'linux/amd64': 'r/web:1-amd64' };
    const asked: string[] = [];
    const refusal = async (i: NodeIntent) => {
      asked.push(i.image);
      return 'namespace deployer does not admit it: privileged';
    };
    const err = await preflight('kube-1', { ...intent(), images }, node({ refusal })).catch((e) => e);
    expect([err instanceof NodePolicyViolationError, err.message, err.violations, asked]).toEqual([true, 'namespace deployer does not admit it: privileged', [{ path: ['container'], message: 'namespace deployer does not admit it: privileged' }], ['r/web:1-amd64']]);
    await expect(preflight('kube-1', intent(), node({ refusal: async () => undefined }))).resolves.toMatchObject({ intent: { image: minimal.application.image } });
  });
});

describe('apply’s one idempotency rule, with a fake driver', () => {
  const amd64 = { os: 'linux', architecture: 'amd64' };
  const placed = (over: Partial<Placed> = {}): Placed => ({ name: 'web--fog-1', deploymentId: minimal.deploymentId, mark: 'run-1', running: true, replaced: ['web--old'], ...over });

  /** Applies with a driver that finds `found` and records whether it was asked to converge. */
  async function apply(found: Placed[], names = ['web--fog-1']) {
    const steps: string[] = [];
    let converged = false;
    const outcome = await applyIntent('fog-1', intent(), {
      platform: async () => amd64,
      imagePlatforms: async () => [amd64],
      portHolders: async () => [],
      names: () => names,
      placed: async () => found,
      converge: async (_intent, { mark }) => ((converged = true), { instances: names, replaced: [`converged with ${mark}`] }),
    }, (_phase, message) => steps.push(message), 'run-1');
    return { outcome, converged, steps };
  }

  it('returns an instance of this deployment, marked by this run and running, unchanged', async () => {
    expect(await apply([placed()])).toEqual({
      outcome: { instances: ['web--fog-1'], replaced: ['web--old'] },
      converged: false,
      steps: ['web--fog-1 already at this deployment: left as it is'],
    });
  });

  it('converges when an instance is missing, of another deployment, of an earlier run, or not running', async () => {
    const cases = [[], [placed({ deploymentId: 'd-other' })], [placed({ mark: 'run-0' })], [placed({ running: false })], [placed({ mark: undefined as unknown as string })]];
    const results = await Promise.all(cases.map(async (found) => (await apply(found)).converged));
    expect(results).toEqual([true, true, true, true, true]);
  });

  it('is done only when every instance the intent makes is', async () => {
    const { converged } = await apply([placed({ name: 'web--r0' })], ['web--r0', 'web--r1']);
    expect(alreadyApplied(minimal.deploymentId, 'run-1', ['web--r0', 'web--r1'], [placed({ name: 'web--r0' }), placed({ name: 'web--r1', replaced: ['web--old', 'web--older'] })])).toEqual({ instances: ['web--r0', 'web--r1'], replaced: ['web--old', 'web--older'] });
    expect(converged).toBe(true);
  });

  it('runs pre-flight before it looks: a refused node is never converged', async () => {
    let looked = false;
    const err = await applyIntent('fog-1', intent(), {
      platform: async () => ({ os: 'linux', architecture: 'unknown' }),
      imagePlatforms: async () => [],
      portHolders: async () => [],
      names: () => [],
      placed: async () => ((looked = true), []),
      converge: async () => ({ instances: [], replaced: [] }),
    }, () => undefined, 'run-1').catch((e) => e);
    expect([err instanceof NodePlatformError, looked]).toEqual([true, false]);
  });
});

describe('restore’s order, with a fake driver', () => {
  /** A node of instances; the fake's operations change it and record what they did, in order. */
  function node(instances: Placed[], stopped: string[] = []) {
    let now = instances.map((p) => ({ ...p }));
    const did: string[] = [];
    const driver: RestoreDriver<Placed> = {
      placed: async () => now.map((p) => ({ ...p })),
      async withdraw(p) {
        did.push(`withdraw ${p.name}`);
        now = p.replaced.includes(p.name) ? now.map((q) => (q.name === p.name ? { ...q, deploymentId: 'd-before', replaced: [] } : q)) : now.map((q) => (q.name === p.name ? { ...q, running: false } : q));
      },
      async restart(p) {
        if (p.running && !stopped.includes(p.name)) return false;
        did.push(`restart ${p.name}`);
        now = now.map((q) => (q.name === p.name ? { ...q, running: true } : q));
        return true;
      },
      async finish(_ref, { withdrawn }) {
        did.push(`finish ${withdrawn.map((p) => p.name).join(',')}`);
        now = now.filter((q) => !withdrawn.some((w) => w.name === q.name && q.deploymentId === 'd-2'));
      },
    };
    return { driver, did };
  }
  const at = (name: string, deploymentId: string, over: Partial<Placed> = {}): Placed => ({ name, deploymentId, running: true, replaced: [], ...over });

  it('takes this deployment’s instances out first, then starts what they replaced, then finishes', async () => {
    const { driver, did } = node([at('web-1', 'd-1', { running: false }), at('web-2', 'd-2', { replaced: ['web-1'] })]);
    expect(await restoreNode({ application: 'web', deploymentId: 'd-2', restart: [] }, driver)).toEqual({ removed: ['web-2'], restarted: ['web-1'], missing: [] });
    expect(did).toEqual(['withdraw web-2', 'restart web-1', 'finish web-2']);
  });

  it('counts an instance put back in place to the version it replaced as restarted', async () => {
    const { driver, did } = node([at('web--fog-1', 'd-2', { replaced: ['web--fog-1'] })]);
    expect(await restoreNode({ application: 'web', deploymentId: 'd-2', restart: [] }, driver)).toEqual({ removed: [], restarted: ['web--fog-1'], missing: [] });
    expect(did).toEqual(['withdraw web--fog-1', 'finish web--fog-1']);
  });

  it('starts again what `stop` stopped, and reports missing what is gone or does not run', async () => {
    const { driver } = node([at('web-1', 'd-1', { running: false }), at('web-2', 'd-2', { replaced: ['web-0'] })], ['web-1']);
    const stillDown: RestoreDriver<Placed> = { ...driver, restart: async () => false };
    expect(await restoreNode({ application: 'web', deploymentId: 'd-3', restart: ['web-1', 'web-9'] }, driver)).toEqual({ removed: [], restarted: ['web-1'], missing: ['web-9'] });
    expect(await restoreNode({ application: 'web', deploymentId: 'd-2', restart: [] }, stillDown)).toEqual({ removed: ['web-2'], restarted: [], missing: ['web-0'] });
  });

  it('touches nothing of other deployments when this one left nothing on the node', async () => {
    const { driver, did } = node([at('web-1', 'd-1')]);
    expect(await restoreNode({ application: 'web', deploymentId: 'd-2', restart: [] }, driver)).toEqual({ removed: [], restarted: [], missing: [] });
    expect(did).toEqual(['finish ']);
  });
});

describe('the configuration check and the deployment tests, with a fake driver', () => {
  const arm64 = { os: 'linux', architecture: 'arm64' };
  const secrets = { resolve: async () => Buffer.from('s3cret') };
  const images = { 'linux/arm64': 'r/web:1-arm64', 'linux/amd64': 'r/web:1-amd64' };
  const checked = (): NodeIntent =>
    nodeIntent(
      deployRequestSchema.parse({
        ...minimal,
        container: { configCheck: { command: ['web', '--check'] }, secrets: [{ name: 'TOKEN', ref: 'api/token' }] },
        verify: { tests: [{ name: 'inside', exec: { command: ['true'] } }, { name: 'e2e', container: { image: 'r/e2e:1' } }] },
      }),
      minimal.application.image!,
    );

  /** The verbs over a driver that records each run: which kind, with which image; its runs print the secret. */
  function verbs() {
    const runs: string[] = [];
    const driver = {
      platform: async () => arm64,
      runOnce: async (i: NodeIntent, test?: ContainerTest) => (runs.push(`${test?.name ?? 'config check'} with ${i.image}`), { exitCode: 0, output: 'token s3cret' }),
      exec: async (i: NodeIntent, test: ExecTest) => (runs.push(`exec ${test.name} with ${i.image}`), { exitCode: 1, output: 'no s3cret here' }),
    };
    return { runs, verbs: oneShotVerbs({ id: 'fog-1', address: '127.0.0.1' }, driver, secrets) };
  }

  it('runs the check once, with the image for the node’s platform, its output redacted', async () => {
    const { runs, verbs: v } = verbs();
    const { result } = await v.checkConfig({ ...checked(), images }, () => undefined);
    expect([runs, result.passed, result.detail.includes('s3cret')]).toEqual([['config check with r/web:1-arm64'], true, false]);
  });

  it('runs the tests in order, an exec test in an instance and a container test as a one-shot, each judged', async () => {
    const { runs, verbs: v } = verbs();
    const { results } = await v.test({ ...checked(), images }, () => undefined, stays);
    expect(runs).toEqual(['exec inside with r/web:1-arm64', 'e2e with r/web:1-arm64']);
    expect(results.map((r) => [r.name, r.passed])).toEqual([['inside', false], ['e2e', true]]);
  });

  it('runs no further test once the node is decommissioned', async () => {
    const { runs, verbs: v } = verbs();
    let asked = 0;
    const goneAfterFirst = () => {
      if (asked++ >= 1) throw new NodeDecommissionedError('fog-1');
    };
    await expect(v.test({ ...checked(), images }, () => undefined, goneAfterFirst)).rejects.toBeInstanceOf(NodeDecommissionedError);
    expect(runs).toEqual(['exec inside with r/web:1-arm64']);
  });
});
