// Time to healthy: a request for a prebuilt image on one node, from the moment it is produced
// on Kafka to the moment its Succeeded event is received, one deployment at a time. Each run
// is the first deployment of a new application, so no previous version is stopped.
import { removeApplication } from '../support/deployer';
import { distribution, type Bench } from './support';

export interface TimeToHealthyResult {
  runs: number;
  ms: number[];
}

export async function timeToHealthy(b: Bench, runs: number): Promise<TimeToHealthyResult> {
  const run = `bench-tth-${Date.now().toString(36)}`;
  const node = b.d.inventory.nodes[0]!.id;
  const image = `${b.d.inventory.registry.pull}/busybox:1`;
  const ms: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const application = `${run}-${i}`;
      const deploymentId = `${application}-v1`;
      const producedAt = await b.produce(application, {
        kind: 'Deploy',
        deploymentId,
        application: { name: application, version: 'v1', image },
        nodes: [node],
        container: { command: ['sleep', '3600'] },
      });
      const end = await b.terminal(deploymentId);
      if (end.event.phase !== 'Succeeded') throw new Error(`${deploymentId} ended ${end.event.phase}: ${end.event.message}`);
      ms.push(end.receivedAt - producedAt);
    }
    return { runs, ms };
  } finally {
    for (let i = 0; i < runs; i++) await removeApplication(b.d, `${run}-${i}`);
  }
}

export function describeTimeToHealthy(r: TimeToHealthyResult): string {
  return `time to healthy, prebuilt image, 1 node, no health check (running = healthy), produce -> Succeeded received:\n  ${distribution(r.ms)}`;
}
