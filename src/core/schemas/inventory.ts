// The node inventory: which fog nodes exist, which target each is (how the Deployer runs
// containers there), where health checks reach their containers, what each lets a
// container do beyond the default sandbox, and the registry addresses as the build host and
// as the nodes see them. Kept by the Node Manager (here: written by scripts/stack.sh).
import { z } from 'zod';
import { capabilitySchema, devicePathSchema, hostPathSchema, nodeIdSchema } from './request';

const hostPort = z
  .string()
  .regex(/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, 'must be HOST:PORT');

/**
 * Why an engine on plain TCP takes the inventory's word for it: whoever can reach its port
 * can run containers as root on its host, and leaving `tls` out is too easily done by
 * accident to mean that.
 */
export const plainEngineMessage = (host: string, port: number) =>
  `the engine at ${host}:${port} would be reached over plain TCP: give "tls" (ca, cert, key), or set "insecure": true if this network is trusted (anyone who can reach it can run containers as root on the engine)`;

/** TLS client material, named by file path, never inlined. */
export const tlsFilesSchema = z.strictObject({
  ca: z.string().startsWith('/', 'must be an absolute file path'),
  cert: z.string().startsWith('/', 'must be an absolute file path'),
  key: z.string().startsWith('/', 'must be an absolute file path'),
});

/** A name the Node Manager's records use for credentials the Deployer holds (`"tls": "fleet"`). */
export const credentialNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be a name of 1-63 letters, digits, ".", "_" or "-"');

/**
 * How to reach one Docker Engine: its unix socket, TCP with TLS client certificates, or
 * plain TCP where the inventory says `insecure: true`. TLS material is named by file path,
 * never inlined.
 */
export const dockerEndpointSchema = z.union([
  z.strictObject({ socketPath: z.string().startsWith('/', 'must be an absolute path to the engine socket') }),
  z
    .strictObject({
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535),
      tls: tlsFilesSchema.optional(),
      /** Plain TCP, said in so many words: only `true` means it, so that leaving `tls` out never does. */
      insecure: z.boolean().optional(),
    })
    .superRefine((e, ctx) => {
      if (e.tls === undefined && e.insecure !== true) ctx.addIssue({ code: 'custom', message: plainEngineMessage(e.host, e.port) });
      if (e.tls !== undefined && e.insecure === true) ctx.addIssue({ code: 'custom', path: ['insecure'], message: 'must be left out when "tls" is given: the engine is reached over TLS' });
    }),
], {
  error: 'must be { "socketPath": PATH }, { "host": H, "port": N, "tls": { "ca": FILE, "cert": FILE, "key": FILE } } or, on a trusted network, { "host": H, "port": N, "insecure": true }',
});

/** Whether `inner` lies strictly below `outer`, compared by segment ("/data" holds "/data/x", not "/database"). */
const below = (inner: string, outer: string) => {
  const i = inner.split('/').filter(Boolean);
  const o = outer.split('/').filter(Boolean);
  return i.length > o.length && o.every((seg, n) => i[n] === seg);
};

/**
 * What a node lets a container do beyond the default sandbox. Default deny: whatever is not
 * named here is refused on the node; only host networking is allowed unless set to false,
 * since it is every request's default network. Paths are allowed exactly as listed, never
 * what lies below them, and no listed host path may lie below another: a container that
 * writes in one allowed directory must not be able to put a symlink where another allowed
 * mount's source is resolved.
 */
export const nodeAllowSchema = z.strictObject({
  privileged: z.boolean().default(false),
  capabilities: z.array(capabilitySchema).max(64).default([]),
  /** Host device paths that containers may be given, each exactly. */
  devices: z.array(devicePathSchema).max(256).default([]),
  hostPid: z.boolean().default(false),
  hostIpc: z.boolean().default(false),
  hostNetwork: z.boolean().default(true),
  /** Host paths that containers may bind-mount, each exactly. */
  hostPaths: z
    .array(hostPathSchema)
    .max(256)
    .default([])
    .refine((ps) => !ps.some((p) => ps.some((q) => below(p, q))), 'must not list a path below another listed path: a container writing in the outer one could replace the inner one with a symlink'),
});

/** A bare Docker Engine: the node's own containers, created and started one by one. */
export const dockerEngineTargetSchema = z.strictObject({
  kind: z.literal('docker-engine'),
  docker: dockerEndpointSchema,
});

/**
 * A node of a Docker Swarm: the Deployer asks the swarm's managers (named in `swarms`) to run
 * the node's services there, placed by the hostname the swarm knows the node by.
 */
export const swarmTargetSchema = z.strictObject({
  kind: z.literal('swarm'),
  /** The id of an entry of the inventory's `swarms`. */
  swarm: z.string().min(1).max(128),
  /** The node's hostname as the swarm reports it (`docker node ls`), which placement constraints name. */
  hostname: z.string().min(1).max(253).regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/, 'must be a host name (letters, digits, dots and dashes)'),
  /**
   * The node's own Docker Engine, for what a manager cannot do on another node: exec tests
   * run in a task's container through it, and named volumes are created and checked to be
   * the application's through it. Without it the node takes everything else.
   */
  engine: dockerEndpointSchema.optional(),
});

/**
 * A node of a Kubernetes cluster: the Deployer asks the cluster's API server (named in
 * `clusters`) to run the node's workloads there, pinned to the node by its name.
 */
export const kubernetesTargetSchema = z.strictObject({
  kind: z.literal('kubernetes'),
  /** The id of an entry of the inventory's `clusters`. */
  cluster: z.string().min(1).max(128),
  /** The node's name as the cluster reports it (`kubectl get nodes`). */
  nodeName: z.string().min(1).max(253).regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, 'must be a Kubernetes node name (lower-case letters, digits, dots and dashes)'),
});

/** What a node is, and how the Deployer reaches it: one kind of target per kind of node. */
export const nodeTargetSchema = z.discriminatedUnion('kind', [dockerEngineTargetSchema, swarmTargetSchema, kubernetesTargetSchema], {
  error: 'must be a target such as { "kind": "docker-engine", "docker": { ... } }, { "kind": "swarm", "swarm": "...", "hostname": "..." } or { "kind": "kubernetes", "cluster": "...", "nodeName": "..." }',
});

const absoluteFile = z.string().startsWith('/', 'must be an absolute file path');

/**
 * A Kubernetes cluster, by its API server. Credentials are named by file path, never
 * inlined: a client certificate and key, or a bearer token (a service account's).
 */
export const kubernetesClusterSchema = z.strictObject({
  id: z.string().min(1).max(128),
  server: z.url({ protocol: /^https$/, error: 'must be the API server\'s https:// URL' }),
  /** The CA that signed the API server's certificate. */
  ca: absoluteFile,
  auth: z.union([z.strictObject({ cert: absoluteFile, key: absoluteFile }), z.strictObject({ tokenFile: absoluteFile })], {
    error: 'must be { "cert": FILE, "key": FILE } (a client certificate) or { "tokenFile": FILE } (a bearer token)',
  }),
  /** Where the Deployer's workloads, config maps and secrets live. */
  namespace: z.string().min(1).max(63).regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'must be a Kubernetes namespace name (lower-case letters, digits and dashes)').default('default'),
});

/** A Docker Swarm, by the Engine API endpoints of its managers (tried in turn: any manager answers for the swarm). */
export const swarmSchema = z.strictObject({
  id: z.string().min(1).max(128),
  managers: z.array(dockerEndpointSchema).min(1, 'must name at least one manager endpoint'),
});

/** `docker: {...}` is the short form of a Docker Engine target, as inventories written before targets existed say it. */
function withTarget(node: unknown): unknown {
  if (node === null || typeof node !== 'object' || !('docker' in node) || 'target' in node) return node;
  const { docker, ...rest } = node as { docker: unknown };
  return { ...rest, target: { kind: 'docker-engine', docker } };
}

export const inventoryNodeSchema = z.preprocess(withTarget, z.strictObject({
  id: nodeIdSchema,
  target: nodeTargetSchema,
  /** Address (IP or host name) at which health checks reach the node's containers. */
  address: z.string().min(1).max(253),
  labels: z.record(z.string(), z.string()).default({}),
  /** Where the node's Docker work runs: a worker at the node's own site serves this queue. Default: the main queue. */
  taskQueue: z.string().min(1).optional(),
  /** Registry address as this node sees it, when it differs from the inventory-wide one. */
  registry: hostPort.optional(),
  allow: nodeAllowSchema.optional(),
}));

export const inventorySchema = z
  .strictObject({
    registry: z.strictObject({
      /** Where the build host pushes. */
      push: hostPort,
      /** Where nodes pull from. */
      pull: hostPort,
    }),
    buildHost: z.strictObject({ docker: dockerEndpointSchema }),
    swarms: z.array(swarmSchema).default([]),
    clusters: z.array(kubernetesClusterSchema).default([]),
    /** The nodes the file knows; the Node Manager's topic may add others (src/core/fleet.ts). */
    nodes: z.array(inventoryNodeSchema).default([]),
    /**
     * TLS material by name, for the Node Manager's records (docs/node-manager.md): a record
     * names it (`"tls": "fleet"`) and never carries it.
     */
    tls: z.record(credentialNameSchema, tlsFilesSchema).default({}),
    /** The task queue of each site's worker, for nodes the Node Manager places at a site; by default the site's own name. */
    sites: z.record(credentialNameSchema, z.strictObject({ taskQueue: z.string().min(1) })).default({}),
  })
  .refine((inv) => new Set(inv.nodes.map((n) => n.id)).size === inv.nodes.length, {
    message: 'node ids must be unique',
    path: ['nodes'],
  })
  .refine((inv) => new Set(inv.swarms.map((s) => s.id)).size === inv.swarms.length, {
    message: 'swarm ids must be unique',
    path: ['swarms'],
  })
  .refine((inv) => new Set(inv.clusters.map((c) => c.id)).size === inv.clusters.length, {
    message: 'cluster ids must be unique',
    path: ['clusters'],
  })
  .superRefine((inv, ctx) => {
    const clusters = new Set(inv.clusters.map((c) => c.id));
    const pinned = new Map<string, string>();
    inv.nodes.forEach((n, i) => {
      if (n.target.kind !== 'kubernetes') return;
      if (!clusters.has(n.target.cluster)) {
        ctx.addIssue({ code: 'custom', path: ['nodes', i, 'target', 'cluster'], message: `names cluster '${n.target.cluster}', which is not in "clusters"${clusters.size > 0 ? ` (there: ${[...clusters].join(', ')})` : ''}` });
      }
      const key = `${n.target.cluster}/${n.target.nodeName}`;
      const other = pinned.get(key);
      if (other !== undefined) ctx.addIssue({ code: 'custom', path: ['nodes', i, 'target', 'nodeName'], message: `is also node ${other}'s: one Kubernetes node is one inventory node` });
      else pinned.set(key, n.id);
    });
  })
  .superRefine((inv, ctx) => {
    const swarms = new Set(inv.swarms.map((s) => s.id));
    inv.nodes.forEach((n, i) => {
      if (n.target.kind === 'swarm' && !swarms.has(n.target.swarm)) {
        ctx.addIssue({ code: 'custom', path: ['nodes', i, 'target', 'swarm'], message: `names swarm '${n.target.swarm}', which is not in "swarms"${swarms.size > 0 ? ` (there: ${[...swarms].join(', ')})` : ''}` });
      }
    });
    const placed = new Map<string, string>();
    inv.nodes.forEach((n, i) => {
      if (n.target.kind !== 'swarm') return;
      const key = `${n.target.swarm}/${n.target.hostname}`;
      const other = placed.get(key);
      if (other !== undefined) ctx.addIssue({ code: 'custom', path: ['nodes', i, 'target', 'hostname'], message: `is also node ${other}'s: one swarm node is one inventory node` });
      else placed.set(key, n.id);
    });
  });

export type DockerEndpoint = z.infer<typeof dockerEndpointSchema>;
export type InventoryNode = z.infer<typeof inventoryNodeSchema>;
export type NodeTarget = z.infer<typeof nodeTargetSchema>;
export type SwarmTarget = z.infer<typeof swarmTargetSchema>;
export type Swarm = z.infer<typeof swarmSchema>;
export type KubernetesTarget = z.infer<typeof kubernetesTargetSchema>;
export type KubernetesCluster = z.infer<typeof kubernetesClusterSchema>;
export type TargetKind = NodeTarget['kind'];
export type NodeAllow = z.infer<typeof nodeAllowSchema>;
export type Inventory = z.infer<typeof inventorySchema>;
export type TlsFiles = z.infer<typeof tlsFilesSchema>;
