// What the local cluster itself says, asked as an operator would (kubectl with the stack's
// admin kubeconfig), for integration tests of the Kubernetes target; and the stack's
// kubelet switch for fault tests.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { InventoryNode } from '../../src/core/schemas/inventory';
import type { TestDeployer } from './deployer';

const cache = process.env.DEPLOYER_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'deployer');
const state = process.env.DEPLOYER_STATE ?? join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'deployer');
const kubectlPath = join(process.env.KUBE_HOME ?? join(cache, `kubernetes-${process.env.KUBE_VERSION ?? 'v1.37.2'}`), 'bin', 'kubectl');
const kubeconfig = join(state, 'kube', 'admin.kubeconfig');

export const kubeNodes = (d: TestDeployer): InventoryNode[] => d.inventory.nodes.filter((n) => n.target.kind === 'kubernetes');
export const nodeNameOf = (n: InventoryNode): string => (n.target.kind === 'kubernetes' ? n.target.nodeName : n.id);

export function namespaceOf(d: TestDeployer): string {
  const cluster = d.inventory.clusters[0];
  if (cluster === undefined) throw new Error('the inventory has no Kubernetes cluster: scripts/stack.sh up brings one up');
  return cluster.namespace;
}

/** kubectl as the cluster's admin; its stdout. */
export function kubectl(...args: string[]): string {
  if (!existsSync(kubectlPath)) throw new Error(`no kubectl at ${kubectlPath}: scripts/stack.sh up builds it`);
  // The whole namespace as YAML can outgrow spawnSync's default 1 MiB buffer (the call then fails with no stderr).
  const r = spawnSync(kubectlPath, ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** The API client's configuration as the cluster's admin: for what kubectl cannot be handed (a request body). */
export function adminKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return kc;
}

// kubectl's JSON, read field by field by the tests that ask for it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function kubeJson<T = { items: Record<string, any>[] }>(d: TestDeployer, ...args: string[]): T {
  return JSON.parse(kubectl('-n', namespaceOf(d), ...args, '-o', 'json')) as T;
}

const appSelector = (application: string) => `io.deployer.application=${application}`;

/** The nodes the application's running, ready pods are on, sorted (one entry per pod), as `kubectl get pods -o wide` shows them. */
export function readyPodNodes(d: TestDeployer, application: string): string[] {
  const pods = kubeJson(d, 'get', 'pods', '-l', appSelector(application)).items;
  return pods
    .filter((p) => p.metadata.deletionTimestamp === undefined && p.status.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'))
    .map((p) => p.spec.nodeName as string)
    .sort();
}

export interface WorkloadInfo {
  name: string;
  node: string;
  replicas: number;
  version: string;
  deploymentId: string;
  /** The pod template as the API server holds it, without the Deployer's per-apply marker. */
  template: unknown;
}

export function workloadsOf(d: TestDeployer, application: string): WorkloadInfo[] {
  return kubeJson(d, 'get', 'deployments', '-l', appSelector(application)).items
    .map((x) => {
      const { ['io.deployer.apply']: _apply, ...annotations } = x.spec.template.metadata.annotations ?? {};
      void _apply;
      return {
        name: x.metadata.name,
        node: x.spec.template.spec.nodeName,
        replicas: x.spec.replicas,
        version: x.metadata.annotations['io.deployer.version'],
        deploymentId: x.metadata.annotations['io.deployer.deployment'],
        template: { ...x.spec.template, metadata: { ...x.spec.template.metadata, annotations } },
      };
    })
    .sort((a, b) => a.node.localeCompare(b.node));
}

/** Everything of the application's the Deployer could have made in the namespace: `kind/name` lines. */
export function objectsOf(d: TestDeployer, application: string): string[] {
  const out = kubectl('-n', namespaceOf(d), 'get', 'deployments,replicasets,pods,configmaps,secrets', '-l', appSelector(application), '-o', 'name');
  return out.split('\n').filter((l) => l.trim() !== '');
}

export async function removeKubeApplication(d: TestDeployer, application: string): Promise<void> {
  try {
    kubectl('-n', namespaceOf(d), 'delete', 'deployments,configmaps,secrets', '-l', appSelector(application), '--wait=false');
  } catch {
    // Best effort: a test that failed may have left nothing.
  }
}

/** Stops or starts a node's kubelet through the stack's own script (the node goes NotReady after the controller's grace). */
export function kubelet(action: 'stop' | 'start', node: InventoryNode): void {
  const r = spawnSync('bash', ['scripts/stack.sh', `${action}-kubelet`, nodeNameOf(node)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`stack.sh ${action}-kubelet ${nodeNameOf(node)} failed: ${r.stderr}`);
}
