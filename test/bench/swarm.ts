// The Swarm target against what an operator would do without the Deployer, on the local
// swarm's 3 nodes, round by round in one run: each round replaces the running version on
// every node. Three ways, same nodes, same program:
//   - the Deployer (Kafka request -> Succeeded event), one service per node;
//   - a plain script making the same service create/update calls with the same spec (the
//     renderer's), waiting for the new tasks to run and answer, all nodes at once;
//   - Swarm's own rolling update with its defaults (`docker service update`, which waits for
//     convergence: 10 s stop grace, 5 s monitor), one pinned service per node, all at once.
// Each way has its own application and port, so they never share a service.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import type Docker from 'dockerode';
import { nodeIntent } from '../../src/core/intent';
import { LABELS } from '../../src/core/labels';
import { renderService, serviceName } from '../../src/core/renderers/swarm';
import { deployRequestSchema } from '../../src/core/schemas/request';
import { waitFor } from '../support/deployer';
import { hostnameOf, manager, removeSwarmApplication, swarmNodes } from '../support/swarm';
import { median, type Bench } from './support';

const program = (port: number) => ['sh', '-c', `trap 'exit 0' TERM; httpd -f -p ${port} -h / & wait`];

export interface SwarmResult {
  deployerMs: number[];
  plainMs: number[];
  swarmCliMs: number[];
}

function request(app: string, port: number, round: number, nodes: string[], image: string) {
  return {
    kind: 'Deploy',
    deploymentId: `${app}-${round}`,
    application: { name: app, version: `r${round}`, image },
    nodes,
    container: { command: program(port), restartPolicy: 'on-failure' },
    healthCheck: { tcp: { port }, intervalMs: 50, healthyAfter: 1 },
    strategy: { maxParallel: nodes.length },
  };
}

const answers = (host: string, port: number) =>
  new Promise<boolean | undefined>((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => (s.destroy(), resolve(undefined)));
  });

async function viaDeployer(b: Bench, app: string, port: number, round: number, nodes: string[], image: string): Promise<number> {
  const producedAt = await b.produce(app, request(app, port, round, nodes, image));
  const end = await b.terminal(`${app}-${round}`);
  if (end.event.phase !== 'Succeeded') throw new Error(`${app}-${round} ended ${end.event.phase}: ${end.event.message}`);
  return end.receivedAt - producedAt;
}

/** The Swarm target's calls without Temporal or Kafka: inspect, create or update with the same spec, wait for the new task to run, probe. */
async function viaPlainScript(m: Docker, b: Bench, app: string, port: number, round: number, image: string): Promise<number> {
  const started = performance.now();
  const nodes = swarmNodes(b.d);
  const intent = nodeIntent(deployRequestSchema.parse(request(app, port, round, nodes.map((n) => n.id), image)), image);
  await Promise.all(nodes.map(async (node) => {
    const { name, spec } = renderService(intent, hostnameOf(node));
    const current = await m.getService(name).inspect().catch(() => undefined);
    if (current === undefined) await m.createService(spec as never);
    else await m.getService(name).update({ _query: { version: current.Version.Index }, _body: spec } as never);
    await waitFor(`${name} round ${round}`, async () => {
      const tasks = (await m.listTasks({ filters: JSON.stringify({ service: [name], 'desired-state': ['running'] }) })) as { Status: { State: string }; Spec: { ContainerSpec?: { Labels?: Record<string, string> } } }[];
      if (!tasks.some((t) => t.Status.State === 'running' && t.Spec.ContainerSpec?.Labels?.[LABELS.deployment] === intent.deploymentId)) return undefined;
      return answers(node.address, port);
    }, 60_000, 50);
  }));
  return performance.now() - started;
}

function docker(host: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('docker', ['-H', host, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (c) => (err += c));
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`docker ${args.join(' ')}: ${err}`))));
  });
}

/** Swarm's own tooling with its defaults: `docker service update` (waits until the update converged) on every node's service at once. */
async function viaSwarmCli(b: Bench, app: string, port: number, round: number, image: string): Promise<number> {
  const endpoint = b.d.inventory.swarms[0]!.managers[0]!;
  const host = 'host' in endpoint ? `tcp://${endpoint.host}:${endpoint.port}` : `unix://${endpoint.socketPath}`;
  const nodes = swarmNodes(b.d);
  const started = performance.now();
  await Promise.all(nodes.map(async (node) => {
    const name = serviceName(app, hostnameOf(node));
    // A new version is a new environment here (the registry holds one image); an image change rolls out the same way.
    if (round === 0) await docker(host, ['service', 'create', '--name', name, '--constraint', `node.hostname==${hostnameOf(node)}`, '--network', 'host', '--label', `${LABELS.application}=${app}`, '--env', `VERSION=${round}`, image, ...program(port)]);
    else await docker(host, ['service', 'update', '--env-add', `VERSION=${round}`, name]);
    await waitFor(`${name} answering`, () => answers(node.address, port), 60_000, 50);
  }));
  return performance.now() - started;
}

export async function swarmBench(b: Bench, rounds: number): Promise<SwarmResult> {
  const stamp = Date.now().toString(36);
  const apps = { deployer: `bench-swd-${stamp}`, plain: `bench-swp-${stamp}`, cli: `bench-swc-${stamp}` };
  const ports = { deployer: 18590, plain: 18591, cli: 18592 };
  const nodes = swarmNodes(b.d).map((n) => n.id);
  const image = `${b.d.inventory.registry.pull}/busybox:1`;
  const m = manager(b.d);
  const result: SwarmResult = { deployerMs: [], plainMs: [], swarmCliMs: [] };
  try {
    // Round 0 creates each way's services (the image reaches every node); it is not measured.
    await viaDeployer(b, apps.deployer, ports.deployer, 0, nodes, image);
    await viaPlainScript(m, b, apps.plain, ports.plain, 0, image);
    await viaSwarmCli(b, apps.cli, ports.cli, 0, image);
    for (let r = 1; r <= rounds; r++) {
      // Rotate which goes first, so drift on the machine hits all alike.
      const ways = [
        async () => result.deployerMs.push(await viaDeployer(b, apps.deployer, ports.deployer, r, nodes, image)),
        async () => result.plainMs.push(await viaPlainScript(m, b, apps.plain, ports.plain, r, image)),
        async () => result.swarmCliMs.push(await viaSwarmCli(b, apps.cli, ports.cli, r, image)),
      ];
      for (let i = 0; i < ways.length; i++) await ways[(i + r) % ways.length]!();
      console.log(`  swarm round ${r}: deployer ${result.deployerMs.at(-1)!.toFixed(0)} ms, plain ${result.plainMs.at(-1)!.toFixed(0)} ms, docker service update ${result.swarmCliMs.at(-1)!.toFixed(0)} ms`);
    }
    return result;
  } finally {
    for (const app of Object.values(apps)) await removeSwarmApplication(b.d, app);
  }
}

export function describeSwarm(r: SwarmResult): string {
  const ratios = r.deployerMs.map((t, i) => t / r.plainMs[i]!);
  const cli = r.deployerMs.map((t, i) => t / r.swarmCliMs[i]!);
  return [
    `swarm, a new version on 3 swarm nodes at once, ${ratios.length} rounds (median):`,
    `  deployer (Kafka request -> Succeeded event)          ${median(r.deployerMs).toFixed(0)} ms`,
    `  plain script (same service calls and spec)           ${median(r.plainMs).toFixed(0)} ms`,
    `  docker service update, Swarm's defaults              ${median(r.swarmCliMs).toFixed(0)} ms`,
    `  ratio deployer / plain                               ${median(ratios).toFixed(2)}  (per round: ${ratios.map((x) => x.toFixed(2)).join(', ')})`,
    `  ratio deployer / docker service update              ${median(cli).toFixed(2)}`,
  ].join('\n');
}
