// Reading the node inventory file and resolving node ids against it.
import { readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InvalidInventoryError, NodeDecommissionedError, UnknownNodeError } from './core/errors';
import { siteOf, type Fleet } from './core/fleet';
import type { PlannedNode } from './core/plan';
import { inventorySchema, type Inventory } from './core/schemas/inventory';

/** Reads and validates the inventory (JSON or YAML). */
export function loadInventory(path: string): Inventory {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidInventoryError(`cannot read the node inventory at ${path}: ${(err as Error).message}`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new InvalidInventoryError(`the node inventory at ${path} is neither JSON nor YAML: ${(err as Error).message}`, { cause: err });
  }
  const parsed = inventorySchema.safeParse(raw);
  if (!parsed.success) {
    throw new InvalidInventoryError(`the node inventory at ${path} is invalid:\n${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/**
 * The inventory as it is now, read again only when its file changed (by modification time
 * and size): every activity asks for it, and parsing and validating it each time would cost
 * a worker more than the deployments themselves. A Node Manager's change applies at once.
 */
export function inventoryReader(path: string): () => Inventory {
  let cached: { key: string; inventory: Inventory } | undefined;
  return () => {
    let key: string;
    try {
      const { mtimeMs, size } = statSync(path);
      key = `${mtimeMs}:${size}`;
    } catch (err) {
      throw new InvalidInventoryError(`cannot read the node inventory at ${path}: ${(err as Error).message}`, { cause: err });
    }
    if (cached?.key !== key) cached = { key, inventory: loadInventory(path) };
    return cached.inventory;
  };
}

/** Positions in `ids` of nodes the inventory does not know, for rejection messages. */
export function unknownNodes(inventory: Inventory, ids: readonly string[]): { index: number; id: string }[] {
  const known = new Set(inventory.nodes.map((n) => n.id));
  return ids.flatMap((id, index) => (known.has(id) ? [] : [{ index, id }]));
}

/** The nodes of a request as the workflow needs them, in the request's order. */
export function resolveNodes(inventory: Inventory | Fleet, ids: readonly string[], defaultTaskQueue: string): PlannedNode[] {
  return ids.map((id) => {
    const node = inventory.nodes.find((n) => n.id === id);
    if (node === undefined) throw 'decommissioned' in inventory && inventory.decommissioned.has(id) ? new NodeDecommissionedError(id) : new UnknownNodeError(id);
    const site = siteOf(inventory, node);
    return {
      id: node.id,
      address: node.address,
      taskQueue: node.taskQueue ?? defaultTaskQueue,
      registry: node.registry ?? inventory.registry.pull,
      local: (node.taskQueue ?? defaultTaskQueue) === defaultTaskQueue,
      ...(site !== undefined ? { site } : {}),
    };
  });
}
