// Rollback, Scale, Undeploy and dependsOn through Kafka on the real stack: each is a
// workflow with the same saga as Deploy, and each starts from what the application ran
// after its last successful operation and from where the engines say its containers are.
// Images are really built and pushed; a rollback runs the earlier version's own image
// again, by digest.
import { resolve } from 'node:path';
import { LABELS } from '../../src/core/labels';
import { isTerminal, type StatusEvent } from '../../src/core/schemas/event';
import { IDLE, containersOf, httpGet, removeApplication, startDeployer, type TestDeployer } from '../support/deployer';

jest.setTimeout(300_000);

const stamp = Date.now().toString(36);
const web = `it-ops-web-${stamp}`;
const bg = `it-ops-bg-${stamp}`;
const port = 18120;
let d: TestDeployer;
let fog: string[];

beforeAll(async () => {
  d = await startDeployer('operations');
  fog = d.inventory.nodes.slice(0, 3).map((n) => n.id);
});

afterAll(async () => {
  if (d) {
    for (const app of [web, bg, `${web}-blocker`, `${bg}-dep`, `${bg}-orphan`, `${bg}-first`, `${bg}-later`]) await removeApplication(d, app);
    await d.stop();
  }
});

const address = (node: string) => d.inventory.nodes.find((n) => n.id === node)!.address;

/** A web app built from examples/hello: its page says which version built it, version.txt which request made it. */
function webDeploy(deploymentId: string, version: string, nodes: string[]) {
  return {
    kind: 'Deploy',
    deploymentId,
    application: { name: web, version, source: { context: resolve(__dirname, '../../examples/hello'), buildArgs: { GREETING: `built as ${version}` } } },
    nodes,
    container: { command: ['httpd', '-f', '-p', String(port), '-h', '/www'], restartPolicy: 'no', files: [{ path: '/www/version.txt', content: version }] },
    healthCheck: { http: { port, path: '/version.txt' }, intervalMs: 200, timeoutMs: 1000, healthyAfter: 1, deadlineMs: 5000 },
    strategy: { maxParallel: 3 },
  };
}

/** A background app without ports, so that several replicas can share a node. */
function bgDeploy(deploymentId: string, application: string, nodes: string[], extra: Record<string, unknown> = {}) {
  return {
    kind: 'Deploy',
    deploymentId,
    application: { name: application, version: '1', image: `${d.inventory.registry.pull}/busybox:1` },
    nodes,
    container: { command: IDLE },
    strategy: { maxParallel: 3 },
    ...extra,
  };
}

async function run(request: { deploymentId: string; [field: string]: unknown }, key: string): Promise<StatusEvent> {
  await d.send(request, key);
  const events = await d.terminal(request.deploymentId, 180_000);
  // One terminal event, told apart by seq as the contract's consumers do: a repeat of an
  // event (a workflow task timed out under load and ran again) carries the same seq.
  const terminal = [...new Map(events.filter((e) => isTerminal(e.phase)).map((e) => [e.seq, e])).values()];
  expect(terminal).toHaveLength(1);
  return terminal[0]!;
}

async function serving(node: string): Promise<{ version: string; page: string }> {
  const version = await httpGet(`http://${address(node)}:${port}/version.txt`);
  const page = await httpGet(`http://${address(node)}:${port}/`);
  return { version: 'body' in version ? version.body : version.error, page: 'body' in page ? page.body : page.error };
}

/** The image a deployment's container on a node was created from. */
async function imageOn(node: string, deploymentId: string): Promise<string> {
  const docker = d.engines.node(node);
  const [c] = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABELS.deployment}=${deploymentId}`] }) });
  return (await docker.getContainer(c!.Id).inspect()).Config.Image;
}

/** Running containers of an application per node, as "version" strings. */
async function runningVersions(application: string): Promise<Record<string, string[]>> {
  const all = await containersOf(d, application);
  return Object.fromEntries(fog.map((n) => [n, all[n]!.filter((c) => c.state === 'running').map((c) => c.version)]));
}

describe('Rollback', () => {
  it('rolls back by default to the version that was healthy before the current one, with that version\'s own image', async () => {
    expect(await run(webDeploy(`${web}-v1`, 'v1', fog.slice(0, 2)), web)).toMatchObject({ phase: 'Succeeded' });
    const v1Image = await imageOn(fog[0]!, `${web}-v1`);
    expect(v1Image).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect(await run(webDeploy(`${web}-v2`, 'v2', fog.slice(0, 2)), web)).toMatchObject({ phase: 'Succeeded' });
    expect(await serving(fog[0]!)).toEqual({ version: 'v2', page: expect.stringContaining('built as v2') });

    const end = await run({ kind: 'Rollback', deploymentId: `${web}-rb1`, application: web }, web);

    expect(end).toMatchObject({ phase: 'Succeeded', version: 'v1' });
    // v1's own image, by the digest pushed for it; nothing was built again.
    expect(await imageOn(fog[0]!, `${web}-rb1`)).toBe(v1Image);
    expect(d.events.filter((e) => e.deploymentId === `${web}-rb1` && (e.phase === 'Building' || e.phase === 'Pushing'))).toEqual([]);
    for (const node of fog.slice(0, 2)) {
      expect(await serving(node)).toEqual({ version: 'v1', page: expect.stringContaining('built as v1') });
    }
    expect(await runningVersions(web)).toEqual({ [fog[0]!]: ['v1'], [fog[1]!]: ['v1'], [fog[2]!]: [] });
    const described = await d.client.workflow.getHandle(`${web}-rb1`).describe();
    expect(described.type).toBe('rollbackWorkflow');
    expect(described.searchAttributes.DeployerVersion).toEqual(['v1']);
  });

  it('rolls back to a named version', async () => {
    expect(await run(webDeploy(`${web}-v3`, 'v3', fog.slice(0, 2)), web)).toMatchObject({ phase: 'Succeeded' });

    const end = await run({ kind: 'Rollback', deploymentId: `${web}-rb2`, application: web, toVersion: 'v2' }, web);

    expect(end).toMatchObject({ phase: 'Succeeded', version: 'v2' });
    for (const node of fog.slice(0, 2)) expect(await serving(node)).toEqual({ version: 'v2', page: expect.stringContaining('built as v2') });
  });

  it('ends RolledBack, touching no node, when the named version never ran', async () => {
    const before = await containersOf(d, web);

    const end = await run({ kind: 'Rollback', deploymentId: `${web}-rb3`, application: web, toVersion: 'v9' }, web);

    expect(end.phase).toBe('RolledBack');
    expect(end.message).toContain(`no successful deployment of ${web}:v9 is on record`);
    expect(await containersOf(d, web)).toEqual(before);
  });
});

describe('Scale', () => {
  it('scales out to more nodes and more replicas per node, then in to fewer', async () => {
    expect(await run(bgDeploy(`${bg}-d1`, bg, [fog[0]!]), bg)).toMatchObject({ phase: 'Succeeded' });

    const out = await run({ kind: 'Scale', deploymentId: `${bg}-s1`, application: bg, nodes: fog, replicasPerNode: 2 }, bg);
    expect(out.phase).toBe('Succeeded');
    expect(await runningVersions(bg)).toEqual({ [fog[0]!]: ['1', '1'], [fog[1]!]: ['1', '1'], [fog[2]!]: ['1', '1'] });

    const scaledIn = await run({ kind: 'Scale', deploymentId: `${bg}-s2`, application: bg, nodes: [fog[1]!], replicasPerNode: 1 }, bg);
    expect(scaledIn.phase).toBe('Succeeded');
    expect(scaledIn.message).toContain(`removed from ${fog[0]}, ${fog[2]}`);
    const all = await containersOf(d, bg);
    // Taken off a node means no container at all there, running or stopped.
    expect(all[fog[0]!]).toEqual([]);
    expect(all[fog[2]!]).toEqual([]);
    expect(all[fog[1]!]!.filter((c) => c.state === 'running').map((c) => c.deploymentId)).toEqual([`${bg}-s2`]);
  });

  it('rolls a scale-out that fails on the new node back, and the nodes it ran on keep serving', async () => {
    // A foreign web server holds the port on the third node, so the app cannot start there.
    const blocker = await d.engines.node(fog[2]!).createContainer({
      Image: `${d.inventory.registry.pull}/busybox:1`,
      name: `${web}-blocker`,
      Cmd: ['httpd', '-f', '-p', String(port), '-h', '/tmp'],
      Labels: { [LABELS.application]: `${web}-blocker` },
      HostConfig: { NetworkMode: 'host' },
    });
    await blocker.start();

    const end = await run({ kind: 'Scale', deploymentId: `${web}-s1`, application: web, nodes: fog, replicasPerNode: 1 }, web);

    expect(end.phase).toBe('RolledBack');
    expect(end.message).toContain(fog[2]);
    for (const node of fog.slice(0, 2)) expect(await serving(node)).toEqual({ version: 'v2', page: expect.stringContaining('built as v2') });
    expect((await containersOf(d, web))[fog[2]!]).toEqual([]);
    await blocker.remove({ force: true });
  });
});

describe('Undeploy', () => {
  it('takes the application off some nodes, then off every node it still runs on, including one the last request did not name', async () => {
    const orphan = `${bg}-orphan`;
    expect(await run(bgDeploy(`${bg}-u0`, orphan, fog), orphan)).toMatchObject({ phase: 'Succeeded' });
    // Version 2 goes to two nodes only: the third keeps running version 1.
    expect(await run({ ...bgDeploy(`${bg}-u0b`, orphan, fog.slice(0, 2)), application: { name: orphan, version: '2', image: `${d.inventory.registry.pull}/busybox:1` } }, orphan)).toMatchObject({ phase: 'Succeeded' });

    const some = await run({ kind: 'Undeploy', deploymentId: `${bg}-u1`, application: orphan, nodes: [fog[0]!] }, orphan);
    expect(some.phase).toBe('Succeeded');
    let all = await containersOf(d, orphan);
    expect(all[fog[0]!]).toEqual([]);
    expect([fog[1]!, fog[2]!].map((n) => all[n]!.filter((c) => c.state === 'running').map((c) => c.version))).toEqual([['2'], ['1']]);

    const rest = await run({ kind: 'Undeploy', deploymentId: `${bg}-u2`, application: orphan }, orphan);
    expect(rest.phase).toBe('Succeeded');
    expect(rest.message).toContain(`removed from ${fog[1]}, ${fog[2]}`);
    all = await containersOf(d, orphan);
    expect(fog.map((n) => all[n])).toEqual([[], [], []]);
  });
});

describe('dependsOn', () => {
  it('waits for a dependency that is deployed after it, then deploys', async () => {
    const dependent = bgDeploy(`${bg}-later-1`, `${bg}-later`, fog.slice(0, 2), { dependsOn: [`${bg}-first`] });
    await d.send(dependent, `${bg}-later`);
    // The dependency is sent only once the dependent waits for it.
    const waiting = async () => d.events.some((e) => e.deploymentId === dependent.deploymentId && e.message.includes('to run healthy'));
    for (let i = 0; i < 150 && !(await waiting()); i++) await new Promise((r) => setTimeout(r, 200));
    expect(await waiting()).toBe(true);

    const first = await run(bgDeploy(`${bg}-first-1`, `${bg}-first`, fog.slice(0, 2)), `${bg}-first`);
    const events = await d.terminal(dependent.deploymentId, 120_000);

    expect(first.phase).toBe('Succeeded');
    expect(events.filter((e) => isTerminal(e.phase)).map((e) => e.phase)).toEqual(['Succeeded']);
    // Nothing of the dependent started before its dependency had succeeded.
    const firstDeploying = events.find((e) => e.phase === 'Deploying')!;
    expect(Date.parse(firstDeploying.at)).toBeGreaterThanOrEqual(Date.parse(first.at));
  });

  it('fails with a clear reason, touching no node, when a dependency never runs healthy', async () => {
    const end = await run(bgDeploy(`${bg}-dep-1`, `${bg}-dep`, fog.slice(0, 2), { dependsOn: [`${bg}-never`], strategy: { dependencyTimeoutMs: 3000 } }), `${bg}-dep`);

    expect(end.phase).toBe('RolledBack');
    expect(end.message).toContain('did not run healthy within 3000 ms');
    expect(end.message).toContain(`${bg}-never has no running container on ${fog[0]}`);
    const all = await containersOf(d, `${bg}-dep`);
    expect(fog.map((n) => all[n])).toEqual([[], [], []]);
  });
});
