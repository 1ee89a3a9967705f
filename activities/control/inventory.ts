// Node inventory adapter: resolves node ids against the current inventory and, before any
// node is touched, checks the request against what each node allows: the bridge checked
// too, but the inventory may have changed since (a Retry runs much later).
import { NodePolicyViolationError } from '../../src/core/errors';
import { reasonOf, toIssue } from '../../src/core/issues';
import { configIssues, subjectOf } from '../../src/core/admission';
import { policyViolations, type PolicedRequest } from '../../src/core/node-policy';
import { requestSchema } from '../../src/core/schemas/request';
import type { NodeQueue, PlannedNode } from '../../src/core/plan';
import type { Inventory } from '../../src/core/schemas/inventory';
import { resolveNodes } from '../../src/inventory';

/** Why an input is not a request the Deployer would start, and what it names of itself (for its Rejected event). */
export interface Refusal {
  reason: string;
  deploymentId?: string;
  application?: string;
}

/** Nodes to look up; with the parts of a Deploy request the node policy judges, checked against it too. */
export type NodeLookup = { nodeIds: string[] } & Partial<PolicedRequest>;

/** `gitPrefixes`: the git sources the bridge lets through (the workflow's own check asks the same). */
export function createInventoryActivities(inventory: () => Inventory, defaultTaskQueue: string, gitPrefixes: readonly string[] = []) {
  const queuesOf = (names: string[]): NodeQueue[] => [...new Set(names)].map((taskQueue) => ({ taskQueue, local: taskQueue === defaultTaskQueue }));
  /** With `container`, the request's options (and the ports its checks reach) judged against each node's policy. */
  const resolve = ({ nodeIds, container, ...checks }: NodeLookup): PlannedNode[] => {
    const current = inventory();
    const nodes = resolveNodes(current, nodeIds, defaultTaskQueue);
    if (container !== undefined) {
      const violations = policyViolations({ nodes: nodeIds, container, ...checks }, current);
      if (violations.length > 0) throw new NodePolicyViolationError(violations);
    }
    return nodes;
  };
  return {
    /**
     * A workflow's first step: its input judged as the bridge judges a message (the request
     * schema, the inventory's nodes and their policy, the git prefixes), for a workflow started in Temporal past
     * the bridge. The reason reads as the bridge's dead letter would.
     */
    async checkRequest(request: unknown): Promise<Refusal | undefined> {
      const parsed = requestSchema.safeParse(request);
      const issues = parsed.success ? configIssues(parsed.data, { inventory: inventory(), gitPrefixes }) : parsed.error.issues.map(toIssue);
      return issues.length > 0 ? { reason: `not a request the Deployer would start: ${reasonOf(issues)}`, ...subjectOf(request) } : undefined;
    },

    async resolveNodes(input: NodeLookup): Promise<PlannedNode[]> {
      return resolve(input);
    },

    /**
     * Checks that every node exists and allows the container options, without returning the
     * nodes (a deployment to thousands of nodes resolves them batch by batch): only the task
     * queues that serve them.
     */
    async checkNodes(input: NodeLookup): Promise<{ queues: NodeQueue[] }> {
      const nodes = resolve(input);
      return { queues: queuesOf(nodes.map((n) => n.taskQueue)) };
    },

    /** Every task queue that serves some node of the inventory. */
    async inventoryQueues(): Promise<NodeQueue[]> {
      return queuesOf(inventory().nodes.map((n) => n.taskQueue ?? defaultTaskQueue));
    },
  };
}

export type InventoryActivities = ReturnType<typeof createInventoryActivities>;
