// The nodes of the inventory as the Deployer's workers see them (what `deployer nodes`
// shows): asked through Temporal, because only the worker of a node's site can reach it.
import type { Client } from '@temporalio/client';
import type { NodeView } from '../core/node-facts';

export async function describeNodes(client: Client, taskQueue: string): Promise<NodeView[]> {
  return client.workflow.execute('nodesWorkflow', {
    taskQueue,
    workflowId: `nodes-${new Date().toISOString().replace(/[:.]/g, '')}-${Math.random().toString(36).slice(2, 8)}`,
    args: [],
    staticSummary: 'Describe the nodes of the inventory',
    workflowExecutionTimeout: '2m',
  });
}
