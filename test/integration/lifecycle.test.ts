// How containers stop when a new version replaces them, on a real fog-node engine, as the
// engine's own event stream records it: a PID-1 program that ignores SIGTERM (busybox
// `sleep`: the kernel delivers no signal to PID 1 without a handler) is killed after the
// version's stopGracePeriodMs, not Docker's 10 s; with `init: true` Docker's tini is PID 1 and
// passes the signal on, so it stops at once; `stopSignal` is the signal the engine sends.
import { LABELS } from '../../src/core/labels';
import { engineEvents, removeApplication, startDeployer, type EngineEvent, type TestDeployer } from '../support/deployer';

jest.setTimeout(180_000);

const stamp = Date.now().toString(36);
const apps: string[] = [];
let d: TestDeployer;

beforeAll(async () => {
  d = await startDeployer('lifecycle');
});

afterAll(async () => {
  if (!d) return;
  for (const app of apps) await removeApplication(d, app);
  await d.stop();
});

const node = () => d.inventory.nodes[0]!;

/** Deploys v1 then v2 of `app` with `container`, and returns what the engine did to v1's container while v2 replaced it. */
async function replace(name: string, container: Record<string, unknown>): Promise<{ signals: string[]; graceMs: number; exitCode: string; v1: string }> {
  const app = `it-life-${stamp}-${name}`;
  apps.push(app);
  for (const v of ['1', '2']) {
    if (v === '2') await new Promise((r) => setTimeout(r, 1000));
    await d.send({ kind: 'Deploy', deploymentId: `${app}-${v}`, application: { name: app, version: v, image: `${d.inventory.registry.pull}/busybox:1` }, nodes: [node().id], container });
    expect((await d.terminal(`${app}-${v}`)).at(-1)!.phase).toBe('Succeeded');
  }
  const since = Math.floor(Date.now() / 1000) - 120;
  const events = await engineEvents(d, node().id, `${LABELS.deployment}=${app}-1`, since, Math.ceil(Date.now() / 1000) + 1);
  const kills = events.filter((e) => e.Action === 'kill');
  const die = events.find((e) => e.Action === 'die') as EngineEvent;
  expect(die).toBeDefined();
  const v1 = (await d.engines.node(node().id).listContainers({ all: true, filters: JSON.stringify({ label: [`${LABELS.deployment}=${app}-1`] }) }))[0]!;
  return {
    signals: kills.map((e) => e.Actor.Attributes.signal!),
    graceMs: (die.timeNano - kills[0]!.timeNano) / 1e6,
    exitCode: die.Actor.Attributes.exitCode!,
    v1: v1.Id,
  };
}

describe('replacing a version on a real engine', () => {
  it('kills a PID-1 program that ignores SIGTERM after stopGracePeriodMs (1000), not after Docker\'s 10 s', async () => {
    const stop = await replace('grace', { command: ['sleep', '600'], stopGracePeriodMs: 1000 });
    // SIGTERM, unanswered; SIGKILL once the grace period is over.
    expect(stop.signals).toEqual(['15', '9']);
    expect(stop.exitCode).toBe('137');
    expect(stop.graceMs).toBeGreaterThanOrEqual(900);
    expect(stop.graceMs).toBeLessThan(9000);
    expect(((await d.engines.node(node().id).getContainer(stop.v1).inspect()).Config as { StopTimeout?: number }).StopTimeout).toBe(1);
  });

  it('with init: true, the same program stops on SIGTERM at once (tini as PID 1 passes it on)', async () => {
    const stop = await replace('init', { command: ['sleep', '600'], init: true });
    expect(stop.signals).toEqual(['15']);
    expect(stop.exitCode).toBe('143');
    expect((await d.engines.node(node().id).getContainer(stop.v1).inspect()).HostConfig.Init).toBe(true);
  });

  it('asks with the stopSignal the request names', async () => {
    const stop = await replace('signal', { command: ['sh', '-c', "trap 'exit 0' INT; sleep 600 & wait"], stopSignal: 'SIGINT' });
    expect(stop.signals).toEqual(['2']);
    expect(stop.exitCode).toBe('0');
  });
});
