// Kubernetes adapter: one API client set per cluster of the inventory (the official
// client, @kubernetes/client-node), and the mapping of its failures to the Deployer's named
// errors, whose type decides whether an activity is retried.
import { readFileSync } from 'node:fs';
import { AppsV1Api, CoordinationV1Api, CoreV1Api, Exec, KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { DeployerError, EngineUnreachableError, InvalidContainerError, InvalidInventoryError } from '../../../src/core/errors';
import type { Inventory } from '../../../src/core/schemas/inventory';
import type { InventoryNode, KubernetesCluster } from '../../../src/core/schemas/inventory';

export interface ClusterApis {
  cluster: KubernetesCluster;
  apps: AppsV1Api;
  core: CoreV1Api;
  objects: KubernetesObjectApi;
  /** The kubelets' heartbeats: each node's Lease in kube-node-lease. */
  coordination: CoordinationV1Api;
  /** Commands in a pod's container, over a WebSocket to the API server (which proxies to the node's kubelet). */
  exec: Exec;
}

/** The client's ApiException, told by its shape: Jest's tests load the client through a bridge of their own (see jest.config.js), so its classes may not be this module's. */
function apiException(err: unknown): { code: number; body: unknown } | undefined {
  const e = err as { code?: unknown; body?: unknown } | undefined;
  return e !== undefined && e !== null && typeof e.code === 'number' && 'body' in e ? (e as { code: number; body: unknown }) : undefined;
}

/** The HTTP status of a failed API call, when the API server answered. */
export function statusOfKube(err: unknown): number | undefined {
  return apiException(err)?.code;
}

/** What the API server said, in its own words (a Status object's message), without the request. */
export function said(err: unknown): string {
  const api = apiException(err);
  if (api !== undefined) {
    const body = typeof api.body === 'string' ? safeJson(api.body) : api.body;
    const message = (body as { message?: string } | undefined)?.message;
    return `HTTP ${api.code}${message !== undefined ? `: ${message}` : ''}`;
  }
  return (err as Error)?.message ?? String(err);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 300) };
  }
}

/**
 * A failed call as a named error: an API server that does not answer (or answers 5xx) makes
 * the node unreachable, and is retried; a request the API server refuses as invalid is
 * the request's fault, and is not; anything else is retried as it is.
 */
export function kubeError(nodeId: string, err: unknown, what: string): Error {
  if (err instanceof DeployerError) return err;
  const status = statusOfKube(err);
  // The client's exception is not kept as the cause: its message carries the whole response, headers and all.
  if (status === undefined || status >= 500) {
    return new EngineUnreachableError(nodeId, { detail: `the cluster's API server does not answer (${what}: ${said(err)})` });
  }
  if (status === 422 || status === 400) return new InvalidContainerError(`${what} on ${nodeId}: the API server refused it: ${said(err)}`);
  if (status === 401) return new InvalidInventoryError(`${what} on ${nodeId}: the cluster does not accept the Deployer's credentials: ${said(err)}`);
  // A 404 here is never the object itself (reads that may miss it ask orMissing): its namespace is missing.
  if (status === 404) return new InvalidInventoryError(`${what} on ${nodeId}: ${said(err)} (does the cluster's namespace exist?)`);
  if (status === 403) return new Error(`${what} on ${nodeId}: the cluster forbids it: ${said(err)}`);
  return new Error(`${what} on ${nodeId}: ${said(err)}`);
}

export class KubernetesClusters {
  private readonly byId = new Map<string, ClusterApis>();

  constructor(private readonly inventory: () => Inventory) {}

  of(node: InventoryNode): ClusterApis {
    if (node.target.kind !== 'kubernetes') throw new Error(`${node.id} is not a Kubernetes node`);
    const id = node.target.cluster;
    const cluster = this.inventory().clusters.find((c) => c.id === id);
    if (cluster === undefined) throw new InvalidInventoryError(`node ${node.id} names cluster '${id}', which the inventory lacks`);
    const known = this.byId.get(id);
    // The inventory may be edited while the worker runs: a changed entry gets new clients.
    if (known !== undefined && JSON.stringify(known.cluster) === JSON.stringify(cluster)) return known;
    const apis = connect(cluster);
    this.byId.set(id, apis);
    return apis;
  }
}

/** The client's configuration for the cluster's entry: its API server, CA and the Deployer's credentials, in its namespace. */
export function kubeConfigOf(cluster: KubernetesCluster): KubeConfig {
  const kc = new KubeConfig();
  const user =
    'tokenFile' in cluster.auth
      ? { name: 'deployer', token: readFileSync(cluster.auth.tokenFile, 'utf8').trim() }
      : { name: 'deployer', certFile: cluster.auth.cert, keyFile: cluster.auth.key };
  kc.loadFromOptions({
    clusters: [{ name: cluster.id, server: cluster.server, caFile: cluster.ca, skipTLSVerify: false }],
    users: [user],
    contexts: [{ name: cluster.id, cluster: cluster.id, user: 'deployer', namespace: cluster.namespace }],
    currentContext: cluster.id,
  });
  return kc;
}

function connect(cluster: KubernetesCluster): ClusterApis {
  const kc = kubeConfigOf(cluster);
  return { cluster, apps: kc.makeApiClient(AppsV1Api), core: kc.makeApiClient(CoreV1Api), objects: KubernetesObjectApi.makeApiClient(kc), coordination: kc.makeApiClient(CoordinationV1Api), exec: new Exec(kc) };
}
