// What the local swarm's manager itself says (through the Engine API, and through the docker
// CLI as an operator would ask it), for integration tests of the Swarm target.
import { spawnSync } from 'node:child_process';
import type Docker from 'dockerode';
import { LABELS } from '../../src/core/labels';
import type { InventoryNode } from '../../src/core/schemas/inventory';
import type { TestDeployer } from './deployer';

export const swarmNodes = (d: TestDeployer): InventoryNode[] => d.inventory.nodes.filter((n) => n.target.kind === 'swarm');

export const hostnameOf = (n: InventoryNode): string => (n.target.kind === 'swarm' ? n.target.hostname : n.id);

function managerEndpoint(d: TestDeployer) {
  const swarm = d.inventory.swarms[0];
  if (swarm === undefined) throw new Error('the inventory has no swarm: scripts/stack.sh up brings one up');
  return swarm.managers[0]!;
}

export function manager(d: TestDeployer): Docker {
  return d.engines.client(managerEndpoint(d));
}

/**
 * A swarm node's own engine, as the inventory names it, else as the local stack runs it
 * (plain TCP on the node's address): for what a test does on the node beside the swarm, such
 * as writing into a local volume.
 */
export function engineOfSwarmNode(d: TestDeployer, node: InventoryNode): Docker {
  return d.engines.client(node.target.kind === 'swarm' && node.target.engine !== undefined ? node.target.engine : { host: node.address, port: 2375, insecure: true });
}

/** The Deployer's one-shot services (checks, test containers) of an application on the swarm: none once a deployment ended. */
export async function oneShotServicesOf(d: TestDeployer, application: string): Promise<string[]> {
  const list = (await manager(d).listServices({ filters: JSON.stringify({ label: [LABELS.role, `${LABELS.application}=${application}`] }) })) as unknown as { Spec: { Name: string } }[];
  return list.map((s) => s.Spec.Name).sort();
}

/** The docker CLI against the manager; its stdout's lines. */
export function dockerOnManager(d: TestDeployer, ...args: string[]): string[] {
  const endpoint = managerEndpoint(d);
  if (!('host' in endpoint) || endpoint.tls !== undefined) throw new Error('the test swarm manager is expected on plain TCP');
  const r = spawnSync('docker', ['-H', `tcp://${endpoint.host}:${endpoint.port}`, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}

export interface ServiceInfo {
  id: string;
  name: string;
  node: string;
  version: string;
  deploymentId: string;
  replicas: number;
  spec: Record<string, unknown>;
}

/** The Deployer's services of an application on the swarm, as the manager reports them. */
export async function servicesOf(d: TestDeployer, application: string): Promise<ServiceInfo[]> {
  const list = (await manager(d).listServices({ filters: JSON.stringify({ label: [`${LABELS.application}=${application}`] }) })) as unknown as { ID: string; Spec: { Name: string; Labels: Record<string, string>; Mode: { Replicated?: { Replicas?: number } } } & Record<string, unknown> }[];
  return list
    .map((s) => ({
      id: s.ID,
      name: s.Spec.Name,
      node: s.Spec.Labels['io.deployer.node'] ?? '',
      version: s.Spec.Labels[LABELS.version] ?? '',
      deploymentId: s.Spec.Labels[LABELS.deployment] ?? '',
      replicas: s.Spec.Mode.Replicated?.Replicas ?? 0,
      spec: s.Spec,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** `docker service ps` of each of the application's services: the nodes its running tasks are on, sorted. */
export async function runningTaskNodes(d: TestDeployer, application: string): Promise<string[]> {
  const nodes: string[] = [];
  for (const s of await servicesOf(d, application)) {
    for (const line of dockerOnManager(d, 'service', 'ps', s.name, '--filter', 'desired-state=running', '--format', '{{.Node}} {{.CurrentState}}')) {
      if (/ Running /.test(`${line} `)) nodes.push(line.split(' ')[0]!);
    }
  }
  return nodes.sort();
}

/** Waits for nothing: whether each of `hostnames` runs a task of `deploymentId`, as the manager says. */
export async function tasksRunningOf(d: TestDeployer, application: string, deploymentId: string): Promise<string[]> {
  const m = manager(d);
  const tasks = (await m.listTasks({ filters: JSON.stringify({ label: [`${LABELS.application}=${application}`], 'desired-state': ['running'] }) })) as { NodeID: string; Status: { State: string }; Spec: { ContainerSpec?: { Labels?: Record<string, string> } } }[];
  const nodes = (await m.listNodes()) as { ID: string; Description: { Hostname: string } }[];
  const host = new Map(nodes.map((n) => [n.ID, n.Description.Hostname]));
  return tasks.filter((t) => t.Status.State === 'running' && t.Spec.ContainerSpec?.Labels?.[LABELS.deployment] === deploymentId).map((t) => host.get(t.NodeID) ?? t.NodeID).sort();
}

/** Removes the application's services, configs and secrets from the swarm (test clean-up). */
export async function removeSwarmApplication(d: TestDeployer, application: string): Promise<void> {
  const m = manager(d);
  const label = [`${LABELS.application}=${application}`];
  for (const s of await servicesOf(d, application)) await m.getService(s.id).remove().catch(() => undefined);
  for (const c of await m.listConfigs({ filters: JSON.stringify({ label }) })) await m.getConfig(c.ID).remove().catch(() => undefined);
  for (const s of await m.listSecrets({ filters: JSON.stringify({ label }) })) await m.getSecret(s.ID).remove().catch(() => undefined);
}
