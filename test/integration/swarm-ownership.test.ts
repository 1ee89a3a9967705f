// What a deployment on the real local swarm uses by name is its own: a config or secret of the
// name its service would reference, made by someone else, is refused rather than reused; two
// deployments whose ids share a 32-bit fingerprint each get their own file; a service of the
// name its service or check would take (long names are cut to a 32-bit fingerprint) is
// another application's and left alone; and a named volume another application's service
// uses on the node is refused, checked through the node's own engine, where it lives.
import { randomBytes } from 'node:crypto';
import { LABELS } from '../../src/core/labels';
import { fingerprint } from '../../src/core/renderers/docker-engine';
import { configName, oneShotServiceName, secretName, serviceName } from '../../src/core/renderers/swarm';
import { onTarget } from '../support/conformance';
import { httpGet, putSecret, readVolume, waitFor, type TestDeployer } from '../support/deployer';
import { swarm } from '../support/platforms';
import { engineOfSwarmNode, hostnameOf, manager, servicesOf, swarmNodes } from '../support/swarm';

jest.setTimeout(300_000);

const t = onTarget(swarm, { name: 'swarm-owner', tag: 'swo' });
const { newApp, used, stamp } = t;
const volumes: string[] = [];
let d: TestDeployer;

beforeAll(() => {
  d = t.d;
});

// After onTarget's own, which removes the services that mount them.
afterAll(async () => {
  if (!d) return;
  for (const v of volumes) await waitFor(`volume ${v} removed`, () => engine().getVolume(v).remove().then(() => true, (err: { statusCode?: number }) => err.statusCode === 404 || undefined), 30_000).catch(() => undefined);
});

const node = () => swarmNodes(d)[0]!;
const engine = () => engineOfSwarmNode(d, node());
const busybox = () => `${d.inventory.registry.pull}/busybox:1`;
const swarmId = () => d.inventory.swarms[0]!.id;
const fast = { intervalMs: 200, timeoutMs: 1000, healthyAfter: 2, deadlineMs: 30_000 };
/** Labels that say a config or secret is another application's. */
const othersLabels = (other: string) => ({ [LABELS.managed]: 'true', [LABELS.application]: other, [LABELS.deployment]: `${other}-1` });

/** A deployment to the first swarm node only, its health an exec check of `ready` unless `healthCheck` says otherwise. */
async function deploy(app: string, deploymentId: string, container: Record<string, unknown>, healthCheck: object = { exec: { command: ['test', '-f', '/tmp/ready'] } }) {
  await d.send({
    kind: 'Deploy',
    deploymentId,
    application: { name: app, version: deploymentId.slice(app.length + 1), image: busybox() },
    nodes: [node().id],
    container: { restartPolicy: 'no', stopGracePeriodMs: 2000, ...container },
    healthCheck: { ...healthCheck, ...fast },
  });
  return (await d.terminal(deploymentId)).at(-1)!;
}

/** A web server serving the file the Deployer delivers at /www/version.txt. */
const web = (port: number, content: string) => ({
  command: ['sh', '-c', `trap 'exit 0' TERM; httpd -f -p ${port} -h /www & wait`],
  files: [{ path: '/www/version.txt', content }],
});
const served = async (port: number) => {
  const r = await httpGet(`http://${node().address}:${port}/version.txt`);
  return 'body' in r ? r.body : r.error;
};

describe('configs and secrets on a real swarm', () => {
  it("refuses a config of the name its service would reference when another application's labels claim it, and references it nowhere", async () => {
    const [app, other] = [newApp('cfg'), newApp('cfg-other')];
    const name = configName(app, `${app}-1`, { path: '/www/version.txt' });
    const planted = (await manager(d).createConfig({ Name: name, Labels: othersLabels(other), Data: Buffer.from('planted').toString('base64') })) as unknown as { id: string };
    const last = await deploy(app, `${app}-1`, web(18421, 'mine'), { http: { port: 18421, path: '/version.txt' } });
    expect(last).toMatchObject({
      phase: 'RolledBack',
      message: expect.stringContaining(`config '${name}' on swarm ${swarmId()} is application ${other}'s (deployment ${other}-1), not made for deployment ${app}-1 of ${app}: it is not used`),
    });
    expect(await servicesOf(d, app)).toEqual([]);
    // Still there, still the other's: nothing was made in its place or took it.
    expect(((await manager(d).getConfig(planted.id).inspect()) as { Spec: { Labels: Record<string, string> } }).Spec.Labels).toEqual(othersLabels(other));
  });

  it("refuses a secret of the name its service would reference when it is another application's, so that its value reaches no task", async () => {
    const [app, other] = [newApp('sec'), newApp('sec-other')];
    putSecret(d.config.secretsPath, app, 'token', `mine-${randomBytes(8).toString('hex')}`);
    const name = secretName(app, `${app}-1`, 'TOKEN');
    await manager(d).createSecret({ Name: name, Labels: othersLabels(other), Data: Buffer.from('planted').toString('base64') });
    const last = await deploy(app, `${app}-1`, { command: ['sh', '-c', "touch /tmp/ready; trap 'exit 0' TERM; sleep 600 & wait"], secrets: [{ name: 'TOKEN', ref: 'token' }] });
    expect(last).toMatchObject({ phase: 'RolledBack', message: expect.stringContaining(`secret '${name}' on swarm ${swarmId()} is application ${other}'s (deployment ${other}-1)`) });
    expect(await servicesOf(d, app)).toEqual([]);
  });

  it('gives two deployments whose ids share a 32-bit fingerprint each their own config: the second serves its own file', async () => {
    const app = newApp('fnv');
    // Found by a birthday search, as a request author could: about a million ids, a few seconds.
    const seen = new Map<string, number>();
    let pair: [string, string] | undefined;
    for (let i = 0; pair === undefined; i++) {
      const id = `${app}-${i.toString(36)}`;
      const other = seen.get(fingerprint(id));
      if (other !== undefined) pair = [`${app}-${other.toString(36)}`, id];
      else seen.set(fingerprint(id), i);
    }
    const port = 18422;
    expect(await deploy(app, pair[0], web(port, 'first'), { http: { port, path: '/version.txt' } })).toMatchObject({ phase: 'Succeeded' });
    expect(await served(port)).toBe('first');
    expect(await deploy(app, pair[1], web(port, 'second'), { http: { port, path: '/version.txt' } })).toMatchObject({ phase: 'Succeeded' });
    expect(await served(port)).toBe('second');
  });
});

describe('services on a real swarm', () => {
  /** 53 characters that long application names share: cut to 63, their service names are these and a 32-bit fingerprint. */
  const start = () => `it-swo-svc-${stamp}-`.padEnd(53, 'x');
  const idle = { command: ['sh', '-c', "touch /tmp/ready; trap 'exit 0' TERM; sleep 600 & wait"] };
  const hostname = () => hostnameOf(node());

  it("leaves another application's service of the name its own would take as it is, and refuses the node", async () => {
    // Two long names whose services' names meet, found by a birthday search: about a million names, a few seconds.
    const seen = new Map<string, number>();
    let pair: [string, string] | undefined;
    for (let i = 0; pair === undefined; i++) {
      const name = serviceName(`${start()}${i.toString(36)}`, hostname());
      const other = seen.get(name);
      if (other !== undefined) pair = [`${start()}${other.toString(36)}`, `${start()}${i.toString(36)}`];
      else seen.set(name, i);
    }
    const [owner, taker] = pair;
    used.push(owner, taker);
    expect(await deploy(owner, `${owner}-1`, idle)).toMatchObject({ phase: 'Succeeded' });
    const last = await deploy(taker, `${taker}-1`, idle);
    expect(last).toMatchObject({ phase: 'RolledBack', message: expect.stringContaining(`service '${serviceName(owner, hostname())}' on swarm ${swarmId()} is application ${owner}'s, not ${taker}'s: it is left as it is`) });
    expect((await servicesOf(d, owner)).map((s) => [s.name, s.deploymentId])).toEqual([[serviceName(owner, hostname()), `${owner}-1`]]);
    expect(await servicesOf(d, taker)).toEqual([]);
  });

  it("leaves another application's service of the name a configuration check's would take as it is, and refuses the check", async () => {
    // A service's name of one application and a check's of another's deployment that meet: the first's names, then the second's deployment ids.
    const services = new Map<string, string>();
    for (let i = 0; i < 200_000; i++) {
      const app = `${start()}a${i.toString(36)}`;
      services.set(serviceName(app, hostname()), app);
    }
    const checker = `${start()}b`;
    let found: [string, string] | undefined;
    for (let j = 0; found === undefined; j++) {
      const id = `${checker}-${j.toString(36)}`;
      const owner = services.get(oneShotServiceName(checker, hostname(), id, 'config-check'));
      if (owner !== undefined) found = [owner, id];
    }
    const [owner, deploymentId] = found;
    used.push(owner, checker);
    expect(await deploy(owner, `${owner}-1`, idle)).toMatchObject({ phase: 'Succeeded' });
    const last = await deploy(checker, deploymentId, { ...idle, configCheck: { command: ['true'] } });
    expect(last).toMatchObject({ phase: 'RolledBack', message: expect.stringContaining(`service '${serviceName(owner, hostname())}' on swarm ${swarmId()} is application ${owner}'s, not ${checker}'s`) });
    expect((await servicesOf(d, owner)).map((s) => s.deploymentId)).toEqual([`${owner}-1`]);
  });
});

describe('named volumes on a real swarm', () => {
  const volumeHolds = (volume: string, file: string) => readVolume(engine(), busybox(), volume, file);

  it("refuses a volume another application's service uses on the node, naming the owner, its data untouched", async () => {
    const [owner, taker] = [newApp('vol-owner'), newApp('vol-taker')];
    const volume = `${owner}-data`;
    volumes.push(volume);
    const data = `data-of-owner-${randomBytes(12).toString('hex')}`;
    const idle = (script: string) => ['sh', '-c', `${script}; touch /tmp/ready; trap 'exit 0' TERM; sleep 600 & wait`];
    expect(await deploy(owner, `${owner}-1`, { command: idle(`echo -n ${data} > /data/secret`), volumes: [{ name: volume, target: '/data' }] })).toMatchObject({ phase: 'Succeeded' });
    // Created by the Deployer through the node's own engine before the service mounted it.
    expect(((await engine().getVolume(volume).inspect()) as { Labels: Record<string, string> }).Labels).toEqual({ [LABELS.managed]: 'true', [LABELS.application]: owner });

    const last = await deploy(taker, `${taker}-1`, { command: idle('echo taken > /data/secret'), volumes: [{ name: volume, target: '/data' }] });
    expect(last).toMatchObject({
      phase: 'RolledBack',
      message: expect.stringContaining(`volume '${volume}' on ${node().id} belongs to application ${owner} (label ${LABELS.application}=${owner}), not to ${taker}: choose another volume name`),
    });
    expect(await servicesOf(d, taker)).toEqual([]);
    expect(await volumeHolds(volume, 'secret')).toBe(data);
  });
});
