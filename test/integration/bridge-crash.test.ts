// The bridge process is killed (SIGKILL) after it started workflows for requests whose
// offsets Kafka had not committed yet (the bridge commits a batch once it has acted on
// it): its successor receives those requests again, recognises each one as started, and
// every request is deployed exactly once.
import { type ChildProcess } from 'node:child_process';
import { isTerminal } from '../../src/core/schemas/event';
import { IDLE, containersOf, removeApplication, runsOf, spawnBridge, startDeployer, waitFor, type TestDeployer } from '../support/deployer';

jest.setTimeout(240_000);

const app = `it-bcrash-${Date.now().toString(36)}`;
const COUNT = 6;
let d: TestDeployer;
let bridge: ChildProcess | undefined;

beforeAll(async () => {
  d = await startDeployer('bridge-crash', { bridge: false });
});

afterAll(async () => {
  bridge?.kill('SIGKILL');
  if (d) {
    await removeApplication(d, app);
    await d.stop();
  }
});

const outcomes = (log: string[], outcome: string) => log.filter((l) => l.includes(`"Deploy request: ${outcome}"`)).length;

describe('a bridge crash between starting a workflow and committing its request', () => {
  it('is harmless: the redelivered requests are recognised and each deployment runs once', async () => {
    const ids = Array.from({ length: COUNT }, (_, i) => `${app}-${i + 1}`);
    // Sent before any bridge runs, so that they reach it as one batch of one partition.
    for (const id of ids) {
      await d.send({
        kind: 'Deploy',
        deploymentId: id,
        application: { name: app, version: id, image: `${d.inventory.registry.pull}/busybox:1` },
        nodes: [d.inventory.nodes[0]!.id],
        container: { command: IDLE },
      });
    }

    const first: string[] = [];
    bridge = spawnBridge(d, first);
    await waitFor('the first bridge to start a deployment', () => outcomes(first, 'started') > 0, 60_000, 20);
    bridge.kill('SIGKILL');
    await new Promise((r) => bridge!.once('exit', r));
    const startedByFirst = outcomes(first, 'started');
    const committedAtCrash = await d.committed();
    // The crash hit the window: requests acted on but not committed.
    expect(committedAtCrash).toBeLessThan(startedByFirst);

    const second: string[] = [];
    bridge = spawnBridge(d, second);
    await waitFor('every deployment to end', () => ids.every((id) => d.events.some((e) => e.deploymentId === id && isTerminal(e.phase))), 180_000);
    await waitFor('every request committed', async () => (await d.committed()) === COUNT, 30_000);

    // Every request not committed came again; each the first bridge had started (it may have
    // been killed before logging one) was recognised, the others started now.
    expect(outcomes(second, 'duplicate')).toBeGreaterThanOrEqual(startedByFirst - committedAtCrash);
    expect(outcomes(second, 'duplicate') + outcomes(second, 'started')).toBe(COUNT - committedAtCrash);
    for (const id of ids) {
      expect([id, (await runsOf(d, id)).length]).toEqual([id, 1]);
      const terminal = new Set(d.events.filter((e) => e.deploymentId === id && isTerminal(e.phase)).map((e) => `${e.seq}:${e.phase}`));
      expect([id, [...terminal]]).toEqual([id, [expect.stringMatching(/:Succeeded$/)]]);
    }
    const containers = await containersOf(d, app);
    expect(containers[d.inventory.nodes[0]!.id]!.filter((c) => c.state === 'running').map((c) => c.deploymentId)).toEqual([ids.at(-1)]);
  });
});
