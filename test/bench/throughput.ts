// Sustained throughput: a burst of K deployments of K different applications (prebuilt
// image, one node each, spread over the nodes), all produced at once, and how long the
// Deployer takes to finish them. Meanwhile the CPU of every part is sampled, to tell which
// one saturates first.
import { removeApplication } from '../support/deployer';
import { describeCpu, distribution, sampleCpu, type Bench, type CpuReport } from './support';

export interface ThroughputResult {
  deployments: number;
  seconds: number;
  perMinute: number;
  endToEndMs: number[];
  cpu: CpuReport;
}

export async function throughput(b: Bench, count: number): Promise<ThroughputResult> {
  const run = `bench-tp-${Date.now().toString(36)}`;
  const nodes = b.d.inventory.nodes.slice(0, 3).map((n) => n.id);
  const image = `${b.d.inventory.registry.pull}/busybox:1`;
  const cpu = sampleCpu(b.parts(), { 'bench client': process.pid });
  const started = Date.now();
  try {
    const produced = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        b.produce(`${run}-${i}`, {
          kind: 'Deploy',
          deploymentId: `${run}-${i}-v1`,
          application: { name: `${run}-${i}`, version: 'v1', image },
          nodes: [nodes[i % nodes.length]!],
          // sh with a TERM trap, so that the clean-up is prompt.
          container: { command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"] },
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
    `throughput, a burst of ${r.deployments} deployments of different applications (1 node each, prebuilt image):`,
    `  ${r.perMinute.toFixed(1)} deployments/minute (all done in ${r.seconds.toFixed(1)} s); produce -> Succeeded ${distribution(r.endToEndMs)}`,
    ...describeCpu(r.cpu),
    `  busiest: ${r.cpu.parts[0]!.name}`,
  ].join('\n');
}
