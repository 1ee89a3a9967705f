// Every node of the inventory as its target sees it, and what the Deployer runs there: what
// `deployer nodes` shows. Asked through the task queue that serves each node, so that nodes
// at remote sites (behind NAT, reached only by their site's worker) are shown too.
import type { InventoryActivities } from '../activities/control/inventory';
import type { NodeView } from '../src/core/node-facts';
import { nodeCalls } from './node-calls';
import { engineStep, lookup } from './options';
import { localActivities } from './local-lane';

const { inventoryQueues } = localActivities<InventoryActivities>({ ...lookup, summary: 'list the task queues that serve nodes' });

/** How long one node may take to answer before it is shown as unreachable. */
const NODE_TIMEOUT_MS = 5_000;

export async function nodesWorkflow(): Promise<NodeView[]> {
  const queues = await inventoryQueues();
  const views = await Promise.all(queues.map((q) => nodeCalls(q, engineStep, `describe the nodes of ${q.local ? 'the control queue' : q.taskQueue}`).describeNodes({ timeoutMs: NODE_TIMEOUT_MS })));
  return views.flat();
}
