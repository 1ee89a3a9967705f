// Rollback against forward deploy on the same nodes, one node at a time (maxParallel 1): a
// v1 that succeeds, then a v2 whose tcp health check fails on the last node only, so that
// every node has been changed when the rollback starts. Times are from the deployment's
// first Deploying event to its terminal event, both stamped by the workflow.
import { removeApplication } from '../support/deployer';
import type { StatusEvent } from '../../src/core/schemas/event';
import { median, type Bench } from './support';

const port = 18091;
const HEALTH_DEADLINE_MS = 3000;

export interface RollbackResult {
  nodes: number;
  forwardMs: number[];
  /** v2: first Deploying -> RolledBack, including the failed check's deadline. */
  failedDeployMs: number[];
  /** v2: first RollingBack -> RolledBack, the undo alone. */
  undoMs: number[];
}

const at = (events: StatusEvent[], phase: string) => Date.parse(events.find((e) => e.phase === phase)!.at);

export async function rollbackVsForward(b: Bench, rounds: number): Promise<RollbackResult> {
  const app = `bench-rb-${Date.now().toString(36)}`;
  const three = b.d.inventory.nodes.slice(0, 3);
  const nodes = three.map((n) => n.id);
  const last = three.at(-1)!.address;
  const image = `${b.d.inventory.registry.pull}/busybox:1`;
  // With host networking the container sees its node's addresses; on the last node nothing listens.
  const listen = `trap 'exit 0' TERM; httpd -f -p ${port} -h / & wait`;
  const listenExceptLast = `trap 'exit 0' TERM; grep -q ' ${last}$' /proc/net/fib_trie || httpd -f -p ${port} -h / & sleep 3600 & wait`;
  const deploy = async (version: string, script: string) => {
    const deploymentId = `${app}-${version}`;
    await b.produce(app, {
      kind: 'Deploy',
      deploymentId,
      application: { name: app, version, image },
      nodes,
      container: { command: ['sh', '-c', script] },
      healthCheck: { tcp: { port }, intervalMs: 100, healthyAfter: 1, deadlineMs: HEALTH_DEADLINE_MS },
      strategy: { maxParallel: 1 },
    });
    const end = await b.terminal(deploymentId);
    return { phase: end.event.phase, events: b.events(deploymentId).map((t) => t.event) };
  };
  const result: RollbackResult = { nodes: nodes.length, forwardMs: [], failedDeployMs: [], undoMs: [] };
  try {
    for (let r = 1; r <= rounds; r++) {
      const v1 = await deploy(`v1-${r}`, listen);
      if (v1.phase !== 'Succeeded') throw new Error(`v1-${r} ended ${v1.phase}: ${v1.events.at(-1)!.message}`);
      result.forwardMs.push(at(v1.events, 'Succeeded') - at(v1.events, 'Deploying'));
      const v2 = await deploy(`v2-${r}`, listenExceptLast);
      if (v2.phase !== 'RolledBack') throw new Error(`v2-${r} ended ${v2.phase}: ${v2.events.at(-1)!.message}`);
      result.failedDeployMs.push(at(v2.events, 'RolledBack') - at(v2.events, 'Deploying'));
      result.undoMs.push(at(v2.events, 'RolledBack') - at(v2.events, 'RollingBack'));
      console.log(`  rollback round ${r}: forward ${result.forwardMs.at(-1)} ms, failed deploy ${result.failedDeployMs.at(-1)} ms, undo ${result.undoMs.at(-1)} ms`);
    }
    return result;
  } finally {
    await removeApplication(b.d, app);
  }
}

export function describeRollback(r: RollbackResult): string {
  const ratio = (xs: number[]) => median(xs.map((x, i) => x / r.forwardMs[i]!)).toFixed(2);
  return [
    `rollback vs forward, ${r.nodes} nodes one at a time, v2 failing its tcp check on the last node (deadline ${HEALTH_DEADLINE_MS} ms), ${r.forwardMs.length} rounds (median):`,
    `  forward v1 (first Deploying -> Succeeded)         ${median(r.forwardMs).toFixed(0)} ms`,
    `  failed v2 (first Deploying -> RolledBack)         ${median(r.failedDeployMs).toFixed(0)} ms, ratio to forward ${ratio(r.failedDeployMs)}`,
    `  undo alone (first RollingBack -> RolledBack)      ${median(r.undoMs).toFixed(0)} ms, ratio to forward ${ratio(r.undoMs)}`,
  ].join('\n');
}
