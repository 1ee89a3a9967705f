// Node inventory adapter: resolves a request's node ids against the current inventory and,
// before any node is touched, checks the request against what each node allows: the bridge
// checked too, but the inventory may have changed since (a Retry runs much later).
import { NodePolicyViolationError } from '../src/errors';
import { resolveNodes } from '../src/inventory';
import { policyViolations, type NodeAccessOptions } from '../src/node-policy';
import type { PlannedNode } from '../src/plan';
import type { Inventory } from '../src/schemas/inventory';

export function createInventoryActivities(inventory: () => Inventory, defaultTaskQueue: string) {
  return {
    /** `container`: the request's container options, judged against each node's `allow` block. */
    async resolveNodes({ nodeIds, container }: { nodeIds: string[]; container?: NodeAccessOptions }): Promise<PlannedNode[]> {
      const current = inventory();
      const nodes = resolveNodes(current, nodeIds, defaultTaskQueue);
      if (container !== undefined) {
        const violations = policyViolations({ nodes: nodeIds, container }, current);
        if (violations.length > 0) throw new NodePolicyViolationError(violations);
      }
      return nodes;
    },
  };
}

export type InventoryActivities = ReturnType<typeof createInventoryActivities>;
