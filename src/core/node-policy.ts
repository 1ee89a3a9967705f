// Node policy: container options that reach past the sandbox (privileged mode, added
// capabilities, devices, the host's PID and IPC namespaces, host networking, host bind
// mounts) would hand a node to whoever writes the request, so each is refused unless the
// node's inventory entry allows it (`allow`, src/schemas/inventory.ts; default deny, host
// networking excepted). The bridge checks before it starts a deployment, the worker again
// before it touches a node. Pure: container-spec.ts, which workflow code runs, imports
// `privilegedHostConfig`.
import type { HostConfig } from 'dockerode';
import { reachedPorts } from './ports';
import type { Inventory, InventoryNode, NodeAllow } from './schemas/inventory';
import type { ContainerOptions, DeployRequest } from './schemas/request';

/**
 * The options the policy judges. Every field is optional because requests recorded in
 * workflow histories before these options existed lack them; absent means the default.
 */
export type NodeAccessOptions = Partial<Pick<ContainerOptions, 'privileged' | 'capabilities' | 'devices' | 'pid' | 'ipc' | 'network' | 'mounts'>>;

/**
 * What a node without an `allow` block allows: the defaults of nodeAllowSchema, said here
 * without zod (workflow code imports this module; a unit test keeps the two equal).
 */
export const DEFAULT_NODE_ALLOW: NodeAllow = { privileged: false, capabilities: [], devices: [], hostPid: false, hostIpc: false, hostNetwork: true, hostPaths: [] };

/**
 * The well-known ports of the services that run a node rather than an application on it:
 * a health check or an http test aimed at one would let the request's author speak to the
 * node's engine or kubelet (an http test sends any method and body, and quotes the answer).
 */
export const NODE_SERVICE_PORTS: Readonly<Record<number, string>> = {
  2375: 'the Docker Engine API',
  2376: 'the Docker Engine API (TLS)',
  2377: "Docker Swarm's cluster management",
  7946: "Docker Swarm's node discovery",
  2379: "etcd's client API",
  2380: "etcd's peer API",
  6443: 'the Kubernetes API server',
  10248: "the kubelet's health endpoint",
  10249: "kube-proxy's metrics",
  10250: 'the kubelet API',
  10255: "the kubelet's read-only API",
  10256: "kube-proxy's health endpoint",
  10257: 'the Kubernetes controller manager',
  10259: 'the Kubernetes scheduler',
};

/** What serves at `port` on the node other than applications, by name; undefined for a port of the applications'. */
export function nodeServiceAt(node: InventoryNode, inventory: Inventory, port: number): string | undefined {
  // Engines the inventory reaches at the node's own address, at whatever port they listen on.
  const engines = [
    ...(node.target.kind === 'docker-engine' ? [node.target.docker] : []),
    ...(node.target.kind === 'swarm' ? [...(node.target.engine ? [node.target.engine] : []), ...(inventory.swarms.find((s) => s.id === (node.target as { swarm: string }).swarm)?.managers ?? [])] : []),
  ];
  if (engines.some((e) => 'port' in e && e.port === port && e.host === node.address)) return "the node's Docker Engine API";
  return NODE_SERVICE_PORTS[port];
}

/** What of a Deploy request the policy judges: its container's options, and the ports its health check and http tests reach. */
export interface PolicedRequest {
  container: NodeAccessOptions & Partial<Pick<ContainerOptions, 'ports'>>;
  healthCheck?: DeployRequest['healthCheck'];
  verify?: DeployRequest['verify'];
}

/** The parts of a Deploy request the policy judges, for the worker's own check (a workflow passes them on). */
export const policed = (r: DeployRequest): PolicedRequest => ({
  container: r.container,
  ...(r.healthCheck !== undefined ? { healthCheck: r.healthCheck } : {}),
  ...(r.verify !== undefined ? { verify: r.verify } : {}),
});

export interface PolicyViolation {
  path: (string | number)[];
  message: string;
}

/** Segments of an absolute path; undefined when it is relative or not normalised, which no allow-list can cover. */
function segments(path: string): string[] | undefined {
  if (!path.startsWith('/')) return undefined;
  const parts = path.split('/').filter((s) => s !== '');
  return parts.some((s) => s === '.' || s === '..') ? undefined : parts;
}

/**
 * Whether two paths name the same place, compared by segment; a path with "." or ".."
 * segments never matches. Only exact matches are allowed, never "everything below": Docker
 * follows symlinks in a bind source, so a container that can write below an allowed
 * directory could plant a link there to "/" for the next request to mount.
 */
export function samePath(path: string, allowed: string): boolean {
  const p = segments(path);
  const q = segments(allowed);
  return p !== undefined && q !== undefined && p.length === q.length && q.every((s, i) => p[i] === s);
}

/**
 * Every option of the request that a node of it does not allow: one violation per option
 * and node, in the order of the request's nodes, each naming the inventory entry that would
 * allow it. Nodes the inventory does not know are left to the unknown-node check.
 */
export function policyViolations(request: { nodes: readonly string[] } & Partial<PolicedRequest>, inventory: Inventory): PolicyViolation[] {
  const { privileged = false, capabilities = [], devices = [], pid = 'private', ipc = 'private', network = 'host', mounts = [] } = request.container ?? {};
  const out: PolicyViolation[] = [];
  for (const id of request.nodes) {
    const node = inventory.nodes.find((n) => n.id === id);
    if (node === undefined) continue;
    const allow: NodeAllow = node.allow ?? DEFAULT_NODE_ALLOW;
    const deny = (path: (string | number)[], what: string, entry: keyof NodeAllow, hint = '') =>
      out.push({ path, message: `${what} is not allowed on node '${id}' (inventory: nodes[${id}].allow.${entry})${hint}` });

    if (privileged && !allow.privileged) deny(['container', 'privileged'], 'privileged mode', 'privileged');
    capabilities.forEach((cap, i) => {
      if (!allow.capabilities.includes(cap)) deny(['container', 'capabilities', i], `capability ${cap}`, 'capabilities');
    });
    devices.forEach((device, i) => {
      if (!allow.devices.some((d) => samePath(device.host, d))) deny(['container', 'devices', i, 'host'], `device ${device.host}`, 'devices');
    });
    if (pid === 'host' && !allow.hostPid) deny(['container', 'pid'], "the host's PID namespace", 'hostPid');
    if (ipc === 'host' && !allow.hostIpc) deny(['container', 'ipc'], "the host's IPC namespace", 'hostIpc');
    // Host is the default network, so a request that never mentions it is refused here too: the hint says what to send instead.
    if (network === 'host' && !allow.hostNetwork) deny(['container', 'network'], 'the host network', 'hostNetwork', '; set container.network to "bridge" or "none"');
    mounts.forEach((mount, i) => {
      if (!allow.hostPaths.some((path) => samePath(mount.source, path))) deny(['container', 'mounts', i, 'source'], `a bind mount of host path ${mount.source}`, 'hostPaths');
    });
    // No allow entry opens these: an application's own service never listens there.
    for (const reached of reachedPorts(request)) {
      const service = nodeServiceAt(node, inventory, reached.port);
      if (service !== undefined) {
        out.push({ path: reached.path, message: `port ${reached.port} of node '${id}' is ${service}, not the application's: ${reached.what} may reach only the application's own ports` });
      }
    }
  }
  return out;
}

/**
 * The part of the create-container HostConfig that carries these options; empty for a
 * request that uses none of them. Host mounts go in `Binds` rather than `Mounts`, which
 * holds the request's named volumes.
 */
export function privilegedHostConfig(container: NodeAccessOptions): Pick<HostConfig, 'Privileged' | 'CapAdd' | 'Devices' | 'PidMode' | 'IpcMode' | 'Binds'> {
  const { privileged = false, capabilities = [], devices = [], pid = 'private', ipc = 'private', mounts = [] } = container;
  return {
    ...(privileged ? { Privileged: true } : {}),
    ...(capabilities.length > 0 ? { CapAdd: [...capabilities] } : {}),
    ...(devices.length > 0
      ? { Devices: devices.map((d) => ({ PathOnHost: d.host, PathInContainer: d.container ?? d.host, CgroupPermissions: d.permissions })) }
      : {}),
    ...(pid === 'host' ? { PidMode: 'host' } : {}),
    ...(ipc === 'host' ? { IpcMode: 'host' } : {}),
    ...(mounts.length > 0 ? { Binds: mounts.map((m) => `${m.source}:${m.target}:${m.readOnly ? 'ro' : 'rw'}`) } : {}),
  };
}
