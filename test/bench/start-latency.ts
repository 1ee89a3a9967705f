// Latency from producing a request on Kafka to its workflow having started in Temporal, at a
// steady request rate. The requests are Undeploys of applications that were never
// deployed: each is a whole operation (bridge, workflow, lock, visibility and engine
// reads, events) that touches no container, so the rate can be held without filling the nodes.
import { distribution, percentile, type Bench } from './support';

export interface StartLatencyResult {
  ratePerSecond: number;
  seconds: number;
  /** Workflow start time (Temporal) minus the request's Kafka timestamp, per request. */
  latenciesMs: number[];
  /** Request produced -> terminal event received, per request. */
  endToEndMs: number[];
}

const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - performance.now())));

export async function startLatency(b: Bench, ratePerSecond: number, seconds: number): Promise<StartLatencyResult> {
  const run = `bench-lat-${Date.now().toString(36)}`;
  const count = Math.round(ratePerSecond * seconds);
  const produced: { id: string; at: Promise<number> }[] = [];
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    // On a fixed schedule, not after the previous send returned, so a slow send does not lower the rate.
    await sleepUntil(t0 + (i * 1000) / ratePerSecond);
    const application = `${run}-${i}`;
    const id = `${application}-undeploy`;
    produced.push({ id, at: b.produce(application, { kind: 'Undeploy', deploymentId: id, application }) });
  }
  const latenciesMs: number[] = [];
  const endToEndMs: number[] = [];
  for (const { id, at } of produced) {
    const producedAt = await at;
    const end = await b.terminal(id);
    endToEndMs.push(end.receivedAt - producedAt);
    const { startTime } = await b.d.client.workflow.getHandle(id).describe();
    latenciesMs.push(startTime.getTime() - producedAt);
  }
  return { ratePerSecond, seconds, latenciesMs, endToEndMs };
}

export function describeStartLatency(r: StartLatencyResult): string {
  return [
    `Kafka produce -> workflow started, ${r.ratePerSecond} requests/s for ${r.seconds} s (Undeploy of never-deployed applications):`,
    `  start latency  p50 ${percentile(r.latenciesMs, 50).toFixed(0)} ms, p99 ${percentile(r.latenciesMs, 99).toFixed(0)} ms  (${distribution(r.latenciesMs)})`,
    `  produce -> terminal event  ${distribution(r.endToEndMs)}`,
  ].join('\n');
}
