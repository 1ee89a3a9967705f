// The Deployer's benchmarks, in one run on the local stack. Every figure is a ratio or a
// distribution measured within this run: the machine is shared and its absolute speed
// says little, so compare figures only with others of the same run.
//
//   npm run bench [-- --only overhead,wide-real,latency,healthy,rollback,throughput,swarm,kubernetes,wide --rounds 5 --runs 10 --rate 1,5 --seconds 30 --burst 24 --wide 1000,10000]
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { describeOverhead, overhead } from './overhead';
import { describeRollback, rollbackVsForward } from './rollback';
import { describeStartLatency, startLatency } from './start-latency';
import { startBench } from './support';
import { describeThroughput, throughput } from './throughput';
import { kubernetes } from './kubernetes';
import { describeOrchestrator, orchestratorBench } from './orchestrator';
import { swarm } from './swarm';
import { describeTimeToHealthy, timeToHealthy } from './time-to-healthy';
import { describeWide, wide } from './wide';

const ALL = ['overhead', 'wide-real', 'latency', 'healthy', 'rollback', 'throughput', 'swarm', 'kubernetes', 'wide'] as const;

const { values } = parseArgs({
  options: {
    only: { type: 'string', default: ALL.join(',') },
    rounds: { type: 'string', default: '5' },
    runs: { type: 'string', default: '10' },
    rate: { type: 'string', default: '1,5' },
    seconds: { type: 'string', default: '30' },
    burst: { type: 'string', default: '24' },
    wide: { type: 'string', default: '1000,10000' },
    'wide-parallel': { type: 'string', default: '1000' },
  },
});
const only = new Set(values.only.split(','));

// The stack's Jaeger (scripts/lib.sh has the same defaults).
const JAEGER_OTLP = `http://127.0.0.1:${process.env.JAEGER_OTLP_PORT ?? '4318'}`;
const jaegerUp = () => fetch(`http://127.0.0.1:${process.env.JAEGER_UI_PORT ?? '16686'}/api/services`).then((r) => r.ok, () => false);
const n = (v: string) => Number(v);

async function main(): Promise<void> {
  const b = await startBench();
  const summary: string[] = [];
  const report = (text: string) => {
    console.log(`${text}\n`);
    summary.push(text);
  };
  const began = Date.now();
  try {
    if (only.has('overhead')) {
      // Beside it, the same Deployer tracing to the stack's Jaeger, when the stack has one.
      const traced = (await jaegerUp()) ? await startBench('bench-traced', { OTEL_EXPORTER_OTLP_ENDPOINT: JAEGER_OTLP, OTEL_SERVICE_NAME: 'deployer-bench' }) : undefined;
      try {
        report(describeOverhead(await overhead(b, 1, n(values.rounds), traced)));
        report(describeOverhead(await overhead(b, 3, n(values.rounds), traced)));
      } finally {
        await traced?.stop();
      }
    }
    // Every node engine of the stack at once (scripts/bench.sh brings up 24).
    if (only.has('wide-real')) report(describeOverhead(await overhead(b, b.d.inventory.nodes.filter((n) => n.target.kind === 'docker-engine').length, n(values.rounds))));
    if (only.has('latency')) {
      // A rate the Deployer keeps up with, and one above what it sustains, to show where waiting starts.
      for (const rate of values.rate.split(',').map(Number)) report(describeStartLatency(await startLatency(b, rate, n(values.seconds))));
    }
    if (only.has('healthy')) report(describeTimeToHealthy(await timeToHealthy(b, n(values.runs))));
    if (only.has('rollback')) report(describeRollback(await rollbackVsForward(b, Math.max(1, Math.round(n(values.rounds) / 2)))));
    if (only.has('throughput')) report(describeThroughput(await throughput(b, n(values.burst))));
    if (only.has('swarm')) report(describeOrchestrator(await orchestratorBench(b, swarm(b), n(values.rounds))));
    if (only.has('kubernetes')) report(describeOrchestrator(await orchestratorBench(b, kubernetes(b), n(values.rounds))));
    if (only.has('wide')) report(describeWide(await wide(b, values.wide.split(',').map(Number), n(values['wide-parallel']))));
  } finally {
    await b.stop();
  }
  const machine = `${cpus().length} CPU(s) (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ${new Date().toISOString()}, ${((Date.now() - began) / 1000).toFixed(0)} s`;
  console.log(`===== summary (${machine}) =====\n\n${summary.join('\n\n')}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
