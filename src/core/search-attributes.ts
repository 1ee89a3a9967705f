// The Deployer's custom search attributes: what an operator filters on in the Temporal UI
// (e.g. `DeployerApplication = "temp-sensor" AND DeployerStatus = "RolledBack"`).
// Registered on the server by scripts/stack.sh; set at start by the bridge and kept
// current by the workflow. Pure: used inside workflow code.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SEARCH_ATTRIBUTES = {
  application: defineSearchAttributeKey('DeployerApplication', SearchAttributeType.KEYWORD),
  version: defineSearchAttributeKey('DeployerVersion', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('DeployerStatus', SearchAttributeType.KEYWORD),
  nodes: defineSearchAttributeKey('DeployerNodes', SearchAttributeType.KEYWORD_LIST),
} as const;

/** Temporal refuses a keyword list search attribute above 2 KB (its `limit.searchAttributeSize` default). */
const MAX_ATTRIBUTE_BYTES = 2048;

/**
 * The nodes to index in DeployerNodes: every node while they fit in Temporal's size limit,
 * else the first that do. A deployment to hundreds of nodes is found by its application; its
 * full node list is in its input.
 */
export function indexedNodes(nodes: readonly string[]): string[] {
  const out: string[] = [];
  // A keyword list is stored as a JSON array: each id in quotes, with a comma.
  let bytes = 2;
  for (const n of nodes) {
    bytes += n.length + 3;
    if (bytes > MAX_ATTRIBUTE_BYTES) break;
    out.push(n);
  }
  return out;
}
