// What a deployment says about each of its nodes: in the `progress` query, the Temporal UI's
// current details, the result and the deployment record.
// Pure: imported by workflow code.

export const NODE_STATES = ['Pending', 'Deploying', 'Healthy', 'Removed', 'Failed', 'Skipped', 'RolledBack', 'RestoreFailed'] as const;
export type NodeState = (typeof NODE_STATES)[number];

