// Sustained throughput: a burst of K deployments of K different applications (prebuilt
// image, one node each, spread over the nodes), all produced at once, and how long the
// Deployer takes to finish them. Meanwhile the CPU of every part is sampled, to tell which
// one saturates first.
import { removeApplication } from '../support/deployer';
import { plainNode } from './overhead';
import { describeCpu, distribution, sampleCpu, type Bench, type CpuReport } from './support';

export interface BurstResult {
  deployments: number;
  seconds: number;
  perMinute: number;
  endToEndMs: number[];
  cpu: CpuReport;
}

export interface ThroughputResult extends BurstResult {
  /** The same burst by a plain script making the same Docker API calls, all at once: what the engines allow. */
  plain: { seconds: number; perMinute: number; cpu: CpuReport };
}

/**
 * A burst of `count` deployments; the first, unmeasured, warms the worker up as a
 * long-running one is (its code compiled, its caches full). Then the same burst by the plain
 * script, for the ceiling the node engines set on this machine.
 */
export async function throughput(b: Bench, count: number): Promise<ThroughputResult> {
  await burst(b, count, `bench-tpw-${Date.now().toString(36)}`);
  const deployer = await burst(b, count, `bench-tp-${Date.now().toString(36)}`);
  return { ...deployer, plain: await plainBurst(b, count, `bench-tpp-${Date.now().toString(36)}`) };
}

async function plainBurst(b: Bench, count: number, run: string): Promise<ThroughputResult['plain']> {
  const nodes = b.d.inventory.nodes.slice(0, 3);
  const image = `${b.d.inventory.registry.pull}/busybox:1`;
  const cpu = sampleCpu(b.parts(), { 'bench client': process.pid }, b.nodeNamespaces());
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: count }, (_, i) => {
        const node = nodes[i % nodes.length]!;
        return plainNode(b.d.engines.node(node.id), { app: `${run}-${i}`, address: node.address, image, deploymentId: `${run}-${i}-v1`, version: 'v1', cmd: IDLE_COMMAND, probe: false });
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    return { seconds, perMinute: (60 * count) / seconds, cpu: cpu.stop() };
  } finally {
    cpu.stop();
    for (let i = 0; i < count; i++) await removeApplication(b.d, `${run}-${i}`);
  }
}

/** sh with a TERM trap, so that the clean-up is prompt. */
const IDLE_COMMAND = ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"];

async function burst(b: Bench, count: number, run: string): Promise<BurstResult> {
  const nodes = b.d.inventory.nodes.slice(0, 3).map((n) => n.id);
  const image = `${b.d.inventory.registry.pull}/busybox:1`;
  const cpu = sampleCpu(b.parts(), { 'bench client': process.pid }, b.nodeNamespaces());
  const started = Date.now();
  try {
    const produced = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        b.produce(`${run}-${i}`, {
          kind: 'Deploy',
          deploymentId: `${run}-${i}-v1`,
          application: { name: `${run}-${i}`, version: 'v1', image },
          nodes: [nodes[i % nodes.length]!],
          container: { command: IDLE_COMMAND },
        }),
      ),
    );
    const ends = await Promise.all(produced.map((_, i) => b.terminal(`${run}-${i}-v1`, 600_000)));
    const report = cpu.stop();
    const failed = ends.filter((e) => e.event.phase !== 'Succeeded');
    if (failed.length > 0) throw new Error(`${failed.length} of ${count} did not succeed, e.g. ${failed[0]!.event.deploymentId}: ${failed[0]!.event.message}`);
    const seconds = (Math.max(...ends.map((e) => e.receivedAt)) - started) / 1000;
    return { deployments: count, seconds, perMinute: (60 * count) / seconds, endToEndMs: ends.map((e, i) => e.receivedAt - produced[i]!), cpu: report };
  } finally {
    cpu.stop();
    for (let i = 0; i < count; i++) await removeApplication(b.d, `${run}-${i}`);
  }
}

export function describeThroughput(r: ThroughputResult): string {
  return [
    `throughput, a burst of ${r.deployments} deployments of different applications (1 node each, prebuilt image), after a burst as big to warm up:`,
    `  ${r.perMinute.toFixed(1)} deployments/minute (all done in ${r.seconds.toFixed(1)} s); produce -> Succeeded ${distribution(r.endToEndMs)}`,
    ...describeCpu(r.cpu),
    `  busiest: ${r.cpu.parts[0]!.name}`,
    `  the same burst by the plain script (same Docker API calls, all at once): ${r.plain.perMinute.toFixed(1)} deployments/minute (${r.plain.seconds.toFixed(1)} s), the machine ${r.plain.cpu.machineBusyPct.toFixed(0)} % busy`,
    `  ratio deployer / plain, time for the burst: ${(r.seconds / r.plain.seconds).toFixed(2)}`,
  ].join('\n');
}
