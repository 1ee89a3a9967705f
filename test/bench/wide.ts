// Wide deployments: one deployment to 1,000 and to 10,000 nodes of a SIMULATED target
// (simulated-target.ts: every verb answers at once), through the Deployer's own workflows,
// activities, Temporal server and Kafka. It shows that such a deployment fits Temporal's
// limits (no history above 10,240 events, no run with more than 500 pending children or
// activities), how many histories it makes, and that the cost per node stays flat as the
// deployment widens.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createOperations } from '../../src/operations/start';
import type { Inventory } from '../../src/core/schemas/inventory';
import { deployRequestSchema } from '../../src/core/schemas/request';
import type { Bench } from './support';

export interface WideResult {
  nodes: number;
  maxParallel: number;
  seconds: number;
  perNodeMs: number;
  status: string;
  histories: number;
  runs: number;
  largestHistory: number;
  largestParentRun: number;
}

function inventoryOf(nodes: number, base: Inventory): Inventory {
  return {
    registry: base.registry,
    buildHost: base.buildHost,
    swarms: [], clusters: [], tls: {}, sites: {},
    // Never contacted: the simulated target stands in for every node.
    nodes: Array.from({ length: nodes }, (_, i) => ({ id: `sim-${i}`, target: { kind: 'docker-engine', docker: { host: '127.0.0.1', port: 9, insecure: true } }, address: '127.0.0.1', labels: {} })),
  };
}

async function simulatedWorker(b: Bench, inventoryPath: string, taskQueue: string): Promise<ChildProcess> {
  const entry = resolve(__dirname, 'simulated-worker.js');
  const child = spawn(process.execPath, [entry], { env: { ...b.d.env, DEPLOYER_INVENTORY: inventoryPath, DEPLOYER_TASK_QUEUE: taskQueue }, stdio: ['ignore', 'inherit', 'inherit'] });
  await new Promise((r) => setTimeout(r, 3000));
  if (child.exitCode !== null) throw new Error(`the simulated worker exited (${child.exitCode})`);
  return child;
}

export async function wide(b: Bench, sizes: number[], maxParallel: number): Promise<WideResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'deployer-wide-'));
  const biggest = Math.max(...sizes);
  const inventoryPath = join(dir, 'inventory.json');
  writeFileSync(inventoryPath, JSON.stringify(inventoryOf(biggest, b.d.inventory)));
  const taskQueue = `${b.d.config.temporal.taskQueue}-wide`;
  const worker = await simulatedWorker(b, inventoryPath, taskQueue);
  const { startOperation } = createOperations(b.d.client, taskQueue);
  const results: WideResult[] = [];
  try {
    for (const size of sizes) {
      const run = `bench-wide-${size}-${Date.now().toString(36)}`;
      const request = deployRequestSchema.parse({
        kind: 'Deploy',
        deploymentId: run,
        application: { name: run, version: 'v1', image: `${b.d.inventory.registry.pull}/busybox:1` },
        nodes: Array.from({ length: size }, (_, i) => `sim-${i}`),
        strategy: { maxParallel: Math.min(maxParallel, size) },
      });
      const started = performance.now();
      await startOperation(request);
      const outcome = await b.d.client.workflow
        .getHandle(run)
        .result()
        .then(
          (r: { status: string }) => r.status,
          (err: Error) => `failed: ${err.message}`,
        );
      const seconds = (performance.now() - started) / 1000;
      // Visibility catches up with the closes a moment later.
      await new Promise((r) => setTimeout(r, 2000));
      let histories = 0;
      let runs = 0;
      let largestHistory = 0;
      let largestParentRun = 0;
      for await (const w of b.d.client.workflow.list({ query: `WorkflowId STARTS_WITH '${run}'` })) {
        histories++;
        largestHistory = Math.max(largestHistory, w.historyLength);
        if (w.workflowId === run) {
          runs++;
          largestParentRun = Math.max(largestParentRun, w.historyLength);
        }
      }
      const result = { nodes: size, maxParallel: request.strategy.maxParallel, seconds, perNodeMs: (1000 * seconds) / size, status: outcome, histories, runs, largestHistory, largestParentRun };
      console.log(`  wide ${size} nodes: ${outcome} in ${seconds.toFixed(1)} s, ${result.perNodeMs.toFixed(2)} ms per node, ${runs} run(s), ${histories} histories, largest ${largestHistory} events`);
      results.push(result);
    }
    return results;
  } finally {
    worker.kill('SIGTERM');
  }
}

export function describeWide(rs: WideResult[]): string {
  const lines = rs.map(
    (r) =>
      `  ${String(r.nodes).padStart(6)} nodes, maxParallel ${r.maxParallel}: ${r.status} in ${r.seconds.toFixed(1)} s = ${r.perNodeMs.toFixed(2)} ms per node; ${r.histories} histories (${r.runs} run(s) of the deployment, the largest ${r.largestParentRun} events); largest history of all ${r.largestHistory} events`,
  );
  const [small, big] = [rs[0], rs.at(-1)];
  const ratio = small && big && small !== big ? `\n  per-node cost at ${big.nodes} / at ${small.nodes}: ${(big.perNodeMs / small.perNodeMs).toFixed(2)}` : '';
  return [`wide deployments to SIMULATED nodes (a target that answers at once; the Deployer's own cost per node):`, ...lines].join('\n') + ratio;
}
