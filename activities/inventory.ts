// Node inventory adapter: resolves a request's node ids against the current inventory.
import { resolveNodes } from '../src/inventory';
import type { PlannedNode } from '../src/plan';
import type { Inventory } from '../src/schemas/inventory';

export function createInventoryActivities(inventory: () => Inventory, defaultTaskQueue: string) {
  return {
    async resolveNodes({ nodeIds }: { nodeIds: string[] }): Promise<PlannedNode[]> {
      return resolveNodes(inventory(), nodeIds, defaultTaskQueue);
    },
  };
}

export type InventoryActivities = ReturnType<typeof createInventoryActivities>;
