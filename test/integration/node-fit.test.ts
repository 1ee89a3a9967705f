// Whether a node can take a deployment, checked on real fog-node engines before anything on
// the node is touched: the image's platforms (from the registry: a manifest's config or a
// manifest list) against the node's own (from its engine), and the host ports another
// application already holds. And a node is healthy only if the new containers stayed
// running through the whole verification, whoever answered the probe.
import { LABELS } from '../../src/core/labels';
import { containersOf, httpGet, removeApplication, startDeployer, type TestDeployer } from '../support/deployer';
import { pushAsPlatform, pushManifestList } from '../support/registry';

jest.setTimeout(180_000);

const stamp = Date.now().toString(36);
const apps: string[] = [];
const strangers: string[] = [];
let d: TestDeployer;

beforeAll(async () => {
  d = await startDeployer('node-fit');
});

afterAll(async () => {
  if (!d) return;
  for (const app of apps) await removeApplication(d, app);
  for (const id of strangers) await d.engines.node(node().id).getContainer(id).remove({ force: true }).catch(() => undefined);
  await d.stop();
});

const node = () => d.inventory.nodes[0]!;
const busybox = () => `${d.inventory.registry.pull}/busybox:1`;

function appName(point: string): string {
  const app = `it-fit-${stamp}-${point}`;
  apps.push(app);
  return app;
}

/** A command serving a version file on `port`, stopping cleanly on SIGTERM. */
const serve = (port: number, text: string) => ['sh', '-c', `mkdir -p /www && echo ${text} > /www/v && trap 'exit 0' TERM; httpd -f -p ${port} -h /www & wait`];
const fast = { intervalMs: 200, timeoutMs: 1000, healthyAfter: 3, deadlineMs: 8000 };

async function deploy(app: string, version: string, application: Record<string, unknown>, fields: Record<string, unknown>) {
  const deploymentId = `${app}-${version}`;
  await d.send({ kind: 'Deploy', deploymentId, application: { name: app, version, ...application }, nodes: [node().id], ...fields });
  const events = await d.terminal(deploymentId);
  return { deploymentId, events, last: events.at(-1)! };
}

/** Every engine event of an application's containers on the node since `since` (s). */
async function touched(app: string, since: number) {
  const stream = await d.engines.node(node().id).getEvents({ since, until: Math.ceil(Date.now() / 1000) + 1, filters: JSON.stringify({ type: ['container', 'image'] }) });
  const text = await new Promise<string>((done) => {
    let s = '';
    stream.on('data', (c: Buffer) => (s += c.toString()));
    stream.on('end', () => done(s));
  });
  const events = text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { Type: string; Action: string; Actor: { ID: string; Attributes: Record<string, string> } });
  return events.filter((e) => e.Actor.Attributes[LABELS.application] === app || (e.Type === 'image' && e.Actor.ID.includes(app)));
}

describe('platforms on real engines', () => {
  it('refuses a node whose platform the image lacks (its config says linux/arm64), before anything on the node changed, naming both', async () => {
    const app = appName('arm');
    const since = Math.floor(Date.now() / 1000) - 1;
    await pushAsPlatform(d.inventory.registry.push, { name: 'busybox', tag: '1' }, { name: `${app}-img`, tag: '1' }, { os: 'linux', architecture: 'arm64' });
    const { last, events } = await deploy(app, 'v1', { image: `${d.inventory.registry.pull}/${app}-img:1` }, { container: { command: ['sleep', '600'] } });
    // Refused: the deployment ends rolled back (nothing to restore), with the reason.
    expect(last.phase).toBe('RolledBack');
    expect(last.message).toContain(`node ${node().id} runs linux/amd64: image ${d.inventory.registry.pull}/${app}-img:1 is built for linux/arm64 only`);
    expect(events.filter((e) => e.node === node().id).map((e) => e.phase)).not.toContain('Deploying');
    // Nothing of it reached the node: no pull, no container.
    expect(await touched(app, since)).toEqual([]);
    expect((await containersOf(d, app))[node().id]).toEqual([]);
  });

  it('refuses a manifest list without the node\'s platform, and takes one with it, pulling the node\'s own', async () => {
    const app = appName('list');
    const repo = `${app}-img`;
    const arm64 = await pushAsPlatform(d.inventory.registry.push, { name: 'busybox', tag: '1' }, { name: repo, tag: 'arm64' }, { os: 'linux', architecture: 'arm64' });
    const armv7 = await pushAsPlatform(d.inventory.registry.push, { name: 'busybox', tag: '1' }, { name: repo, tag: 'armv7' }, { os: 'linux', architecture: 'arm', variant: 'v7' });
    const amd64 = await pushAsPlatform(d.inventory.registry.push, { name: 'busybox', tag: '1' }, { name: repo, tag: 'amd64' }, { os: 'linux', architecture: 'amd64' });
    await pushManifestList(d.inventory.registry.push, repo, 'arm-only', [
      { ...arm64, platform: { os: 'linux', architecture: 'arm64' } },
      { ...armv7, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
    ]);
    await pushManifestList(d.inventory.registry.push, repo, 'multi', [
      { ...arm64, platform: { os: 'linux', architecture: 'arm64' } },
      { ...amd64, platform: { os: 'linux', architecture: 'amd64' } },
    ]);
    const refused = await deploy(app, 'v1', { image: `${d.inventory.registry.pull}/${repo}:arm-only` }, { container: { command: ['sleep', '600'] } });
    expect(refused.last.phase).toBe('RolledBack');
    expect(refused.last.message).toMatch(/linux\/arm64, linux\/arm\/v7/);
    const taken = await deploy(app, 'v2', { image: `${d.inventory.registry.pull}/${repo}:multi` }, { container: { command: ['sh', '-c', "trap 'exit 0' TERM; sleep 600 & wait"] } });
    expect(taken.last.phase).toBe('Succeeded');
    const [c] = (await containersOf(d, app))[node().id]!.filter((x) => x.deploymentId === taken.deploymentId);
    const image = await d.engines.node(node().id).getImage((await d.engines.node(node().id).getContainer(c!.name).inspect()).Image).inspect();
    expect(image.Architecture).toBe('amd64');
  });

  it('deploys, from a request naming an image per platform, the node\'s own', async () => {
    const app = appName('images');
    await pushAsPlatform(d.inventory.registry.push, { name: 'busybox', tag: '1' }, { name: `${app}-arm`, tag: '1' }, { os: 'linux', architecture: 'arm64' });
    const port = 18231;
    const { last, deploymentId } = await deploy(
      app,
      'v1',
      { images: { 'linux/arm64': `${d.inventory.registry.pull}/${app}-arm:1`, 'linux/amd64': busybox() } },
      { container: { command: serve(port, 'amd64-build') }, healthCheck: { http: { port, path: '/v' }, ...fast } },
    );
    expect(last.phase).toBe('Succeeded');
    expect(await httpGet(`http://${node().address}:${port}/v`)).toEqual({ status: 200, body: 'amd64-build\n' });
    const [c] = (await containersOf(d, app))[node().id]!.filter((x) => x.deploymentId === deploymentId);
    expect((await d.engines.node(node().id).getContainer(c!.name).inspect()).Config.Image).toBe(busybox());
  });
});

describe('host ports and honest verification on real engines', () => {
  it('refuses a second application asking for a host port another one serves, naming it, and leaves that one alone', async () => {
    const holder = appName('holder');
    const port = 18232;
    const first = await deploy(holder, 'v1', { image: busybox() }, { container: { command: serve(port, holder) }, healthCheck: { http: { port, path: '/v' }, ...fast } });
    expect(first.last.phase).toBe('Succeeded');
    const before = (await containersOf(d, holder))[node().id]!;
    const startedBefore = (await d.engines.node(node().id).getContainer(before[0]!.name).inspect()).State.StartedAt;

    const other = appName('other');
    const since = Math.floor(Date.now() / 1000) - 1;
    const second = await deploy(other, 'v1', { image: busybox() }, { container: { command: serve(port, other) }, healthCheck: { http: { port, path: '/v' }, ...fast } });
    expect(second.last.phase).toBe('RolledBack');
    expect(second.last.message).toContain(`host port ${port}/tcp on ${node().id} is held by application ${holder} (deployment ${first.deploymentId})`);
    expect(await touched(other, since)).toEqual([]);
    // The holder still serves, from the same container, never restarted.
    expect(await httpGet(`http://${node().address}:${port}/v`)).toEqual({ status: 200, body: `${holder}\n` });
    const after = (await containersOf(d, holder))[node().id]!;
    expect(after).toEqual(before);
    expect((await d.engines.node(node().id).getContainer(after[0]!.name).inspect()).State.StartedAt).toBe(startedBefore);
  });

  it('rolls back a container that crash-loops on "address already in use" while something else answers its health check', async () => {
    // Not a Deployer application, so no claim names it: only the stayed-running check can tell.
    const port = 18233;
    const docker = d.engines.node(node().id);
    const stranger = await docker.createContainer({ Image: busybox(), Cmd: serve(port, 'stranger'), HostConfig: { NetworkMode: 'host' } });
    strangers.push(stranger.id);
    await stranger.start();
    const app = appName('crashloop');
    const { last, events } = await deploy(app, 'v1', { image: busybox() }, { container: { command: ['httpd', '-f', '-p', String(port), '-h', '/'], restartPolicy: 'always' }, healthCheck: { http: { port, path: '/v' }, ...fast } });
    expect(last.phase).toBe('RolledBack');
    // The node's own event says why it failed (its phase is RollingBack: the saga takes over at once).
    // Its exit code when the probe caught it down; a container caught running again no longer tells it.
    expect(events.find((e) => e.node === node().id && e.message.startsWith('failed:'))?.message).toMatch(/restarted during verification \(\d+ time\(s\); it had exited( with 1)?\)/);
    expect(last.message).toContain('did not become healthy: restarted during verification');
    expect((await containersOf(d, app))[node().id]).toEqual([]);
    expect(await httpGet(`http://${node().address}:${port}/v`)).toEqual({ status: 200, body: 'stranger\n' });
  });
});
