// Overhead benchmark: the same deployment to the same nodes, done by the Deployer (Kafka
// request -> Succeeded event) and by a plain script making the same Docker API calls with
// the same parallelism, alternated round by round in one run. The machine is shared and
// noisy, so what counts is the ratio of the two measured side by side, not either time.
//
//   npm run bench [-- --rounds N --nodes N]
import { parseArgs } from 'node:util';
import type Docker from 'dockerode';
import { containerName, LABELS } from '../src/container-spec';
import { removeApplication, startDeployer, waitFor, type TestDeployer } from '../test/support/deployer';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, nodes: { type: 'string', default: '3' } } });
const rounds = Number(values.rounds);
const port = 18090;
const app = `bench-${Date.now().toString(36)}`;
// sh as PID 1 with a TERM trap, so that stopping the previous version is prompt for both.
const command = ['sh', '-c', `trap 'exit 0' TERM; httpd -f -p ${port} -h / & wait`];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function viaDeployer(d: TestDeployer, nodes: string[], image: string, round: number): Promise<number> {
  const deploymentId = `${app}-deployer-${round}`;
  const started = performance.now();
  await d.send({
    kind: 'Deploy',
    deploymentId,
    application: { name: app, version: `d${round}`, image },
    nodes,
    container: { command },
    healthCheck: { tcp: { port }, intervalMs: 50, healthyAfter: 1 },
    strategy: { maxParallel: nodes.length },
  });
  const events = await d.terminal(deploymentId);
  const elapsed = performance.now() - started;
  if (events.at(-1)!.phase !== 'Succeeded') throw new Error(`${deploymentId} ended ${events.at(-1)!.phase}: ${events.at(-1)!.message}`);
  return elapsed;
}

/** The Deployer's calls per node, in its order, without Temporal or Kafka. */
async function plainNode(docker: Docker, address: string, image: string, deploymentId: string, version: string): Promise<void> {
  const filters = JSON.stringify({ label: [`${LABELS.managed}=true`, `${LABELS.application}=${app}`] });
  const before = await docker.listContainers({ all: true, filters });
  const previous = before.filter((c) => c.State === 'running').map((c) => c.Names[0]!.slice(1));
  await docker.getImage(image).inspect().catch(async () => {
    const stream = await docker.pull(image);
    await new Promise((res, rej) => docker.modem.followProgress(stream, (e: Error | null) => (e ? rej(e) : res(undefined))));
  });
  const name = containerName(app, deploymentId, 0);
  await docker.createContainer({
    name,
    Image: image,
    Cmd: command,
    Labels: { [LABELS.managed]: 'true', [LABELS.application]: app, [LABELS.version]: version, [LABELS.deployment]: deploymentId, [LABELS.previous]: previous.join(',') },
    HostConfig: { NetworkMode: 'host', RestartPolicy: { Name: 'unless-stopped' } },
  });
  for (const p of previous) await docker.getContainer(p).stop({ t: 10 }).catch(() => undefined);
  await docker.getContainer(name).start();
  await waitFor('tcp health', async () => {
    const state = (await docker.getContainer(name).inspect()).State;
    if (!state.Running) return undefined;
    const { connect } = await import('node:net');
    return new Promise<boolean | undefined>((resolve) => {
      const s = connect({ host: address, port });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => (s.destroy(), resolve(undefined)));
    });
  }, 30_000, 50);
  const keep = new Set([name, ...previous]);
  for (const c of await docker.listContainers({ all: true, filters })) {
    if (!keep.has(c.Names[0]!.slice(1))) await docker.getContainer(c.Id).remove({ force: true });
  }
}

async function viaPlainScript(d: TestDeployer, nodes: string[], image: string, round: number): Promise<number> {
  const started = performance.now();
  const deploymentId = `${app}-plain-${round}`;
  await Promise.all(
    nodes.map((id) => plainNode(d.engines.node(id), d.inventory.nodes.find((n) => n.id === id)!.address, image, deploymentId, `p${round}`)),
  );
  return performance.now() - started;
}

async function main(): Promise<void> {
  const d = await startDeployer('bench');
  try {
    const nodes = d.inventory.nodes.slice(0, Number(values.nodes)).map((n) => n.id);
    const image = `${d.inventory.registry.pull}/busybox:1`;
    // Warm-up: the image reaches every node and both paths have run once before measuring.
    await viaDeployer(d, nodes, image, 0);
    await viaPlainScript(d, nodes, image, 0);
    const deployer: number[] = [];
    const plain: number[] = [];
    for (let r = 1; r <= rounds; r++) {
      // Alternate which goes first, so drift on the machine hits both alike.
      if (r % 2) {
        deployer.push(await viaDeployer(d, nodes, image, r));
        plain.push(await viaPlainScript(d, nodes, image, r));
      } else {
        plain.push(await viaPlainScript(d, nodes, image, r));
        deployer.push(await viaDeployer(d, nodes, image, r));
      }
      console.log(`round ${r}: deployer ${deployer.at(-1)!.toFixed(0)} ms, plain ${plain.at(-1)!.toFixed(0)} ms, ratio ${(deployer.at(-1)! / plain.at(-1)!).toFixed(2)}`);
    }
    const ratios = deployer.map((t, i) => t / plain[i]!);
    console.log(`\noverhead, ${nodes.length} node(s), maxParallel ${nodes.length}, ${rounds} rounds (median):`);
    console.log(`  deployer (Kafka request -> Succeeded event)  ${median(deployer).toFixed(0)} ms`);
    console.log(`  plain script (same Docker API calls)         ${median(plain).toFixed(0)} ms`);
    console.log(`  ratio deployer / plain                       ${median(ratios).toFixed(2)}  (per round: ${ratios.map((x) => x.toFixed(2)).join(', ')})`);
  } finally {
    await removeApplication(d, app);
    await d.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
