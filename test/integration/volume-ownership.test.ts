// Named volumes belong to their application, on real fog-node engines: the Deployer creates
// a volume with the application's labels before a container mounts it, and another
// application that names it, for its containers or its configuration check, is refused
// before anything of it runs, the owner's data untouched. A volume without labels (made by
// the engine for a container before volumes were owned) stays its application's while only
// that application's containers mount it; an unused one is nobody's.
import { randomBytes } from 'node:crypto';
import { LABELS } from '../../src/core/labels';
import { containersOf, readVolume, removeApplication, startDeployer, type TestDeployer } from '../support/deployer';

jest.setTimeout(180_000);

const stamp = Date.now().toString(36);
const apps: string[] = [];
const volumes: string[] = [];
const data = `data-of-a-${randomBytes(12).toString('hex')}`;
let d: TestDeployer;

beforeAll(async () => {
  d = await startDeployer('volume-ownership');
});

afterAll(async () => {
  if (!d) return;
  for (const app of apps) await removeApplication(d, app);
  for (const v of volumes) await engine().getVolume(v).remove().catch(() => undefined);
  await d.stop();
});

const node = () => d.inventory.nodes[0]!;
const engine = () => d.engines.node(node().id);
const busybox = () => `${d.inventory.registry.pull}/busybox:1`;
const fast = { intervalMs: 200, timeoutMs: 1000, healthyAfter: 2, deadlineMs: 10_000 };

function appName(point: string): string {
  const app = `it-vol-${stamp}-${point}`;
  apps.push(app);
  return app;
}

/** A deployment of `app` to the first fog node mounting `volume` at /data and running `script` (then idling); `container` adds options. */
async function deploy(app: string, n: number, volume: string, script: string, container: Record<string, unknown> = {}) {
  const deploymentId = `${app}-${n}`;
  await d.send({
    kind: 'Deploy',
    deploymentId,
    application: { name: app, version: `v${n}`, image: busybox() },
    nodes: [node().id],
    container: { command: ['sh', '-c', `${script}; trap 'exit 0' TERM; sleep 600 & wait`], volumes: [{ name: volume, target: '/data' }], restartPolicy: 'no', ...container },
    healthCheck: { exec: { command: ['test', '-f', '/tmp/ready'] }, ...fast },
  });
  return d.terminal(deploymentId);
}

const volumeHolds = (volume: string, file: string) => readVolume(engine(), busybox(), volume, file);

const labelsOf = async (volume: string) => ((await engine().getVolume(volume).inspect()) as { Labels: Record<string, string> | null }).Labels;

describe("another application's volume", () => {
  const owner = () => apps[0]!;
  const volume = () => `${owner()}-data`;

  beforeAll(async () => {
    const a = appName('owner');
    volumes.push(`${a}-data`);
    const events = await deploy(a, 1, `${a}-data`, `echo -n ${data} > /data/secret; touch /tmp/ready`);
    expect(events.at(-1)!.phase).toBe('Succeeded');
  });

  it('is created by the Deployer before its first container, labelled as its application\'s', async () => {
    expect(await labelsOf(volume())).toEqual({ [LABELS.managed]: 'true', [LABELS.application]: owner() });
  });

  it('cannot be mounted by another application: refused before anything of it runs, naming the owner, the data untouched', async () => {
    const b = appName('taker');
    const events = await deploy(b, 1, volume(), `cp /data/secret /tmp/stolen; echo taken > /data/secret; touch /tmp/ready`);
    expect(events.at(-1)).toMatchObject({
      phase: 'RolledBack',
      message: expect.stringContaining(`volume '${volume()}' on ${node().id} belongs to application ${owner()} (label ${LABELS.application}=${owner()}), not to ${b}: choose another volume name`),
    });
    expect((await containersOf(d, b))[node().id]).toEqual([]);
    expect(await volumeHolds(volume(), 'secret')).toBe(data);
    expect(await labelsOf(volume())).toEqual({ [LABELS.managed]: 'true', [LABELS.application]: owner() });
    // The owner's container runs on, as it was.
    expect((await containersOf(d, owner()))[node().id]!.map((c) => [c.deploymentId, c.state])).toEqual([[`${owner()}-1`, 'running']]);
  });

  it('cannot be read by another application\'s configuration check either: refused before the check runs, its output nowhere', async () => {
    const b = appName('checker');
    const events = await deploy(b, 1, volume(), 'touch /tmp/ready', { configCheck: { command: ['sh', '-c', 'cat /data/secret; exit 1'] } });
    expect(events.at(-1)).toMatchObject({ phase: 'RolledBack', message: expect.stringContaining(`volume '${volume()}' on ${node().id} belongs to application ${owner()}`) });
    expect(JSON.stringify(d.events)).not.toContain(data);
    expect(await volumeHolds(volume(), 'secret')).toBe(data);
  });
});

describe('a volume without labels', () => {
  it('stays the application\'s while only its own containers mount it, as after an upgrade of the Deployer', async () => {
    const app = appName('legacy');
    const volume = `${app}-data`;
    volumes.push(volume);
    // As an earlier Deployer left it: the engine made the volume for the application's container, unlabelled.
    await engine().createVolume({ Name: volume });
    const legacy = await engine().createContainer({
      name: `${app}--legacy`,
      Image: busybox(),
      Cmd: ['sh', '-c', 'echo -n kept > /data/note'],
      Labels: { [LABELS.managed]: 'true', [LABELS.application]: app, [LABELS.deployment]: `${app}-0`, [LABELS.version]: 'v0' },
      HostConfig: { NetworkMode: 'none', Mounts: [{ Type: 'volume', Source: volume, Target: '/data' }] },
    });
    await legacy.start();
    await legacy.wait();

    const events = await deploy(app, 1, volume, 'grep -q kept /data/note && touch /tmp/ready');
    expect(events.at(-1)!.phase).toBe('Succeeded');
    // Labels never change: it is still unlabelled, and still the application's data.
    expect(await labelsOf(volume)).toBeNull();
    expect(await volumeHolds(volume, 'note')).toBe('kept');
  });

  it('is nobody\'s when no container of the application mounts it: refused, saying what an operator can do', async () => {
    const app = appName('stray');
    const volume = `${app}-found`;
    volumes.push(volume);
    await engine().createVolume({ Name: volume });
    const events = await deploy(app, 1, volume, 'touch /tmp/ready');
    expect(events.at(-1)).toMatchObject({
      phase: 'RolledBack',
      message: expect.stringContaining(
        `volume '${volume}' on ${node().id} was not created for application ${app} (it has no ${LABELS.application} label) and no container of ${app} mounts it: choose another volume name, or have an operator give ${app} its data in a volume created with the label ${LABELS.application}=${app}`,
      ),
    });
    expect((await containersOf(d, app))[node().id]).toEqual([]);
  });
});
