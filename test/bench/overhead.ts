// Overhead: the same deployment to the same nodes, done by the Deployer (Kafka request ->
// Succeeded event) and by a plain script making the same Docker API calls with the same
// parallelism, alternated round by round in one run. The machine is shared and noisy, so
// what counts is the ratio of the two measured side by side, not either time. With a second
// Deployer whose worker and bridge trace to the stack's Jaeger (docs/tracing.md), the same
// deployment is made by it too in each round, under an application and port of its own: the
// cost of tracing, side by side with the same Deployer without it.
import { connect } from 'node:net';
import type Docker from 'dockerode';
import { LABELS } from '../../src/core/labels';
import { containerName } from '../../src/core/renderers/docker-engine';
import { removeApplication, waitFor } from '../support/deployer';
import { median, type Bench } from './support';

const port = 18090;
/** The traced Deployer's application listens here, beside the other's. */
const tracedPort = 18091;
// sh as PID 1 with a TERM trap, so that stopping the previous version is prompt for both.
const serve = (p: number) => ['sh', '-c', `trap 'exit 0' TERM; httpd -f -p ${p} -h / & wait`];
const command = serve(port);

export interface OverheadResult {
  nodes: number;
  deployerMs: number[];
  plainMs: number[];
  ratios: number[];
  /** The same deployment by the Deployer with tracing on, when there was one. */
  tracedMs?: number[];
}

async function viaDeployer(b: Bench, app: string, nodes: string[], image: string, round: number, on = port): Promise<number> {
  const deploymentId = `${app}-deployer-${round}`;
  const producedAt = await b.produce(app, {
    kind: 'Deploy',
    deploymentId,
    application: { name: app, version: `d${round}`, image },
    nodes,
    container: { command: serve(on) },
    healthCheck: { tcp: { port: on }, intervalMs: 50, healthyAfter: 1 },
    strategy: { maxParallel: nodes.length },
  });
  const end = await b.terminal(deploymentId);
  if (end.event.phase !== 'Succeeded') throw new Error(`${deploymentId} ended ${end.event.phase}: ${end.event.message}`);
  return end.receivedAt - producedAt;
}

/**
 * What a careful script does per node, without Temporal or Kafka: the Docker Engine target's
 * calls (list, image inspect, create, stop the previous for good, start, probe, retire what
 * is older than the previous), in its order.
 */
export async function plainNode(
  docker: Docker,
  { app, address, image, deploymentId, version, cmd = command, probe = true }: { app: string; address: string; image: string; deploymentId: string; version: string; cmd?: string[]; probe?: boolean },
): Promise<void> {
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
    Cmd: cmd,
    Labels: { [LABELS.managed]: 'true', [LABELS.application]: app, [LABELS.version]: version, [LABELS.deployment]: deploymentId, [LABELS.previous]: previous.join(','), [LABELS.restartPolicy]: 'unless-stopped' },
    StopTimeout: 10,
    HostConfig: { NetworkMode: 'host', RestartPolicy: { Name: 'unless-stopped' } },
  });
  for (const p of previous) {
    await docker.getContainer(p).update({ RestartPolicy: { Name: 'no' } });
    await docker.getContainer(p).stop().catch(() => undefined);
  }
  await docker.getContainer(name).start();
  await waitFor('tcp health', async () => {
    const state = (await docker.getContainer(name).inspect()).State;
    if (!state.Running) return undefined;
    if (!probe) return true;
    return new Promise<boolean | undefined>((resolve) => {
      const s = connect({ host: address, port });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => (s.destroy(), resolve(undefined)));
    });
  }, 30_000, 50);
  const keep = new Set([name, ...previous]);
  for (const c of await docker.listContainers({ all: true, filters })) {
    // As the Docker Engine target does: one gone or going already is what was wanted.
    if (!keep.has(c.Names[0]!.slice(1))) await docker.getContainer(c.Id).remove({ force: true }).catch((err: { statusCode?: number }) => {
      if (err.statusCode !== 404 && err.statusCode !== 409) throw err;
    });
  }
}

async function viaPlainScript(b: Bench, app: string, nodes: string[], image: string, round: number): Promise<number> {
  const started = performance.now();
  const deploymentId = `${app}-plain-${round}`;
  await Promise.all(
    nodes.map((id) => plainNode(b.d.engines.node(id), { app, address: b.d.inventory.nodes.find((n) => n.id === id)!.address, image, deploymentId, version: `p${round}` })),
  );
  return performance.now() - started;
}

export async function overhead(b: Bench, nodeCount: number, rounds: number, traced?: Bench): Promise<OverheadResult> {
  const app = `bench-oh${nodeCount}-${Date.now().toString(36)}`;
  const tracedApp = `${app}-traced`;
  const nodes = b.d.inventory.nodes.slice(0, nodeCount).map((n) => n.id);
  const image = `${b.d.inventory.registry.pull}/busybox:1`;
  const viaTraced = traced !== undefined ? (r: number) => viaDeployer(traced, tracedApp, nodes, image, r, tracedPort) : undefined;
  try {
    // Warm-up: the image reaches every node and every path has run once before measuring.
    await viaDeployer(b, app, nodes, image, 0);
    await viaPlainScript(b, app, nodes, image, 0);
    await viaTraced?.(0);
    const deployerMs: number[] = [];
    const plainMs: number[] = [];
    const tracedMs: number[] = [];
    for (let r = 1; r <= rounds; r++) {
      // Rotate which goes first, so drift on the machine hits each alike.
      const paths = [
        async () => deployerMs.push(await viaDeployer(b, app, nodes, image, r)),
        async () => plainMs.push(await viaPlainScript(b, app, nodes, image, r)),
        ...(viaTraced !== undefined ? [async () => tracedMs.push(await viaTraced(r))] : []),
      ];
      for (let i = 0; i < paths.length; i++) await paths[(r + i) % paths.length]!();
      const tracedText = viaTraced !== undefined ? `, deployer with tracing ${tracedMs.at(-1)!.toFixed(0)} ms` : '';
      console.log(`  overhead ${nodes.length} node(s) round ${r}: deployer ${deployerMs.at(-1)!.toFixed(0)} ms, plain ${plainMs.at(-1)!.toFixed(0)} ms${tracedText}`);
    }
    return { nodes: nodes.length, deployerMs, plainMs, ratios: deployerMs.map((t, i) => t / plainMs[i]!), ...(viaTraced !== undefined ? { tracedMs } : {}) };
  } finally {
    await removeApplication(b.d, app);
    if (traced !== undefined) await removeApplication(traced.d, tracedApp);
  }
}

export function describeOverhead(r: OverheadResult): string {
  return [
    `overhead, ${r.nodes} node(s), maxParallel ${r.nodes}, ${r.ratios.length} rounds (median):`,
    `  deployer (Kafka request -> Succeeded event)  ${median(r.deployerMs).toFixed(0)} ms`,
    `  plain script (same Docker API calls)         ${median(r.plainMs).toFixed(0)} ms`,
    `  overhead deployer - plain                    ${median(r.deployerMs.map((t, i) => t - r.plainMs[i]!)).toFixed(0)} ms  (per round: ${r.deployerMs.map((t, i) => (t - r.plainMs[i]!).toFixed(0)).join(', ')})`,
    `  ratio deployer / plain                       ${median(r.ratios).toFixed(2)}  (per round: ${r.ratios.map((x) => x.toFixed(2)).join(', ')})`,
    ...(r.tracedMs !== undefined
      ? [
          `  deployer with tracing on (to Jaeger)         ${median(r.tracedMs).toFixed(0)} ms`,
          `  overhead with tracing on - plain             ${median(r.tracedMs.map((t, i) => t - r.plainMs[i]!)).toFixed(0)} ms  (per round: ${r.tracedMs.map((t, i) => (t - r.plainMs[i]!).toFixed(0)).join(', ')})`,
        ]
      : ['  deployer with tracing on                     not measured (no Jaeger on the stack)']),
  ].join('\n');
}
