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
