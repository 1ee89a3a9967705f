// Node inventory adapter: resolves node ids against the current inventory and, before any
// node is touched, checks the request against what each node allows: the bridge checked
// too, but the inventory may have changed since (a Retry runs much later).
import { NodePolicyViolationError } from '../../src/core/errors';
import { policyViolations, type NodeAccessOptions } from '../../src/core/node-policy';
import type { NodeQueue, PlannedNode } from '../../src/core/plan';
import type { Inventory } from '../../src/core/schemas/inventory';
import { resolveNodes } from '../../src/inventory';

export function createInventoryActivities(inventory: () => Inventory, defaultTaskQueue: string) {
  const queuesOf = (names: string[]): NodeQueue[] => [...new Set(names)].map((taskQueue) => ({ taskQueue, local: taskQueue === defaultTaskQueue }));
  /** `container`: the request's container options, judged against each node's `allow` block. */
  const resolve = ({ nodeIds, container }: { nodeIds: string[]; container?: NodeAccessOptions }): PlannedNode[] => {
    const current = inventory();
    const nodes = resolveNodes(current, nodeIds, defaultTaskQueue);
    if (container !== undefined) {
      const violations = policyViolations({ nodes: nodeIds, container }, current);
      if (violations.length > 0) throw new NodePolicyViolationError(violations);
    }
    return nodes;
  };
  return {
    async resolveNodes(input: { nodeIds: string[]; container?: NodeAccessOptions }): Promise<PlannedNode[]> {
      return resolve(input);
    },

    /**
     * Checks that every node exists and allows the container options, without returning the
     * nodes (a deployment to thousands of nodes resolves them batch by batch): only the task
     * queues that serve them.
     */
    async checkNodes({ nodeIds, container }: { nodeIds: string[]; container?: NodeAccessOptions }): Promise<{ queues: NodeQueue[] }> {
      const nodes = resolve({ nodeIds, ...(container !== undefined ? { container } : {}) });
      return { queues: queuesOf(nodes.map((n) => n.taskQueue)) };
    },

    /** Every task queue that serves some node of the inventory. */
    async inventoryQueues(): Promise<NodeQueue[]> {
      return queuesOf(inventory().nodes.map((n) => n.taskQueue ?? defaultTaskQueue));
    },
  };
}

export type InventoryActivities = ReturnType<typeof createInventoryActivities>;
