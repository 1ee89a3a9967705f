// The fleet: the inventory file merged with the Node Manager's records (contract
// node-manager-kafka-v1, docs/node-manager.md). Pure rules, tested by equality: whether one
// message of the topic changes anything (`judgeRecord`), and the merged view every process
// reads (`mergeFleet`). The topic's record wins for everything it states; the file may still
// supply credentials by name; a tombstone takes the node out of the fleet, file or not.
import { reasonOf, toIssue } from './issues';
import type { DockerEndpoint, Inventory, InventoryNode, NodeTarget } from './schemas/inventory';
import { MAX_RECORD_BYTES, nodeRecordSchema, type FleetStatus, type NodeRecord, type RecordEndpoint, type RecordTarget } from './schemas/node-record';

/** What the fleet says of a node beside its inventory entry: where its word came from, and the Node Manager's. */
export interface FleetFacts {
  status: FleetStatus;
  /** `file`: the inventory file alone (always Online); `topic`: the Node Manager's record. */
  source: 'file' | 'topic';
  site?: string;
  generation?: number;
  observedAt?: string;
  platform?: string;
}

export type FleetNode = InventoryNode & { fleet: FleetFacts };

/** The inventory as every process reads it: the file's settings, the merged nodes, and the nodes decommissioned. */
export type Fleet = Omit<Inventory, 'nodes'> & { nodes: FleetNode[]; decommissioned: ReadonlySet<string> };

/**
 * What the topic has said so far: the latest valid record per node, the tombstoned ones, and
 * the last generation applied per node. Changed in place by `applyJudgement`: a fleet of
 * thousands of nodes is read at every start, and copying it per record would cost the square.
 */
export interface TopicView {
  records: Map<string, NodeRecord>;
  decommissioned: Set<string>;
  generations: Map<string, number>;
}

export const emptyTopicView = (): TopicView => ({ records: new Map(), decommissioned: new Set(), generations: new Map() });

/** What one message of the topic does: a record or a tombstone to apply, or nothing (invalid, stale) and why. */
export type Judgement =
  | { kind: 'record'; record: NodeRecord }
  | { kind: 'tombstone'; nodeId: string }
  | { kind: 'invalid'; nodeId?: string; reason: string }
  | { kind: 'stale'; nodeId: string; reason: string };

/** Whether a node's status lets a new step start there. A node the file alone knows is Online. */
export function statusOf(node: InventoryNode): FleetStatus {
  return 'fleet' in node ? (node as FleetNode).fleet.status : 'Online';
}

/** The file alone, as a fleet: for processes that do not follow the topic, and for tests. */
export function fleetOfFile(inventory: Inventory): Fleet {
  return { ...inventory, nodes: inventory.nodes.map((n) => ({ ...n, fleet: { status: 'Online', source: 'file' } })), decommissioned: new Set() };
}

/** Where a string of the record holds a PEM block (a key or certificate inlined), by path. */
function inlineKeyMaterial(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return /-----BEGIN [A-Z0-9 ]+-----/.test(value) ? path : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [k, v] of Object.entries(value)) {
    const found = inlineKeyMaterial(v, path ? `${path}.${k}` : k);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The record's engine endpoint with its TLS material named in the inventory, or what is missing. */
function resolveEndpoint(e: RecordEndpoint, inventory: Inventory, path: string): DockerEndpoint | string {
  if ('socketPath' in e || e.tls === undefined) return e as DockerEndpoint;
  const tls = inventory.tls[e.tls];
  if (tls === undefined) return `${path}.tls names '${e.tls}', which the inventory's "tls" does not define${Object.keys(inventory.tls).length > 0 ? ` (there: ${Object.keys(inventory.tls).join(', ')})` : ''}`;
  return { host: e.host, port: e.port, tls };
}

/** The record's target as the inventory's, its names resolved against the inventory; or why it cannot be. */
export function resolveTarget(target: RecordTarget, inventory: Inventory): NodeTarget | string {
  switch (target.kind) {
    case 'docker-engine': {
      const docker = resolveEndpoint(target.docker, inventory, 'target.docker');
      return typeof docker === 'string' ? docker : { kind: 'docker-engine', docker };
    }
    case 'swarm': {
      if (!inventory.swarms.some((s) => s.id === target.swarm)) return `target.swarm names '${target.swarm}', which the inventory's "swarms" does not define`;
      const engine = target.engine && resolveEndpoint(target.engine, inventory, 'target.engine');
      if (typeof engine === 'string') return engine;
      return { kind: 'swarm', swarm: target.swarm, hostname: target.hostname, ...(engine !== undefined ? { engine } : {}) };
    }
    case 'kubernetes':
      if (!inventory.clusters.some((c) => c.id === target.cluster)) return `target.cluster names '${target.cluster}', which the inventory's "clusters" does not define`;
      return target;
  }
}

/**
 * What one message of the topic does, judged by the contract's rules against what was
 * applied before (`lastGeneration`) and the inventory that resolves the record's names.
 */
export function judgeRecord(key: string | null, value: Uint8Array | null, lastGeneration: number | undefined, inventory: Inventory): Judgement {
  if (key === null || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(key)) return { kind: 'invalid', reason: `the key ${key === null ? 'is missing' : `'${key.slice(0, 80)}' is not a node id`}: must be 1-63 lower-case letters, digits or "-"` };
  if (value === null) return { kind: 'tombstone', nodeId: key };
  const invalid = (reason: string): Judgement => ({ kind: 'invalid', nodeId: key, reason });
  if (value.byteLength > MAX_RECORD_BYTES) return invalid(`the record is ${value.byteLength} bytes: at most ${MAX_RECORD_BYTES}`);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(value));
  } catch (err) {
    return invalid(err instanceof TypeError ? 'the record is not UTF-8' : `the record is not JSON: ${(err as Error).message}`);
  }
  const inline = inlineKeyMaterial(raw, '');
  if (inline !== undefined) return invalid(`${inline}: carries key material inline; a record names it ("tls": "fleet") and the Deployer's inventory holds it`);
  const parsed = nodeRecordSchema.safeParse(raw);
  if (!parsed.success) return invalid(reasonOf(parsed.error.issues.map(toIssue)));
  const record = parsed.data;
  if (record.nodeId !== key) return invalid(`nodeId '${record.nodeId}' differs from the key '${key}'`);
  if (lastGeneration !== undefined && record.generation <= lastGeneration) {
    return { kind: 'stale', nodeId: key, reason: `generation ${record.generation} is not above ${lastGeneration}, the last applied` };
  }
  const target = resolveTarget(record.target, inventory);
  if (typeof target === 'string') return invalid(target);
  return { kind: 'record', record };
}

/** Applies a judgement to the topic's view; whether it changed anything (invalid and stale records do not). */
export function applyJudgement(view: TopicView, judgement: Judgement): boolean {
  if (judgement.kind === 'record') {
    const { record } = judgement;
    view.decommissioned.delete(record.nodeId);
    view.records.set(record.nodeId, record);
    view.generations.set(record.nodeId, record.generation);
    return true;
  }
  if (judgement.kind === 'tombstone') {
    view.records.delete(judgement.nodeId);
    // The last generation stays: a late copy of an older record must not bring the node back.
    view.decommissioned.add(judgement.nodeId);
    return true;
  }
  return false;
}

/** The task queue of a node at `site`: the inventory's word for the site, else the file's for the node, else the site's own name. */
function siteQueue(inventory: Inventory, site: string, file: InventoryNode | undefined): string {
  return inventory.sites[site]?.taskQueue ?? file?.taskQueue ?? site;
}

/**
 * The site a node sits at, for what an operator reads (a site that no worker serves is named
 * by it): the Node Manager's word, else the site of the inventory's `sites` whose queue serves
 * the node; none for a node of the control queue, or of a queue no site names.
 */
export function siteOf(inventory: Pick<Inventory, 'sites'>, node: InventoryNode): string | undefined {
  const said = 'fleet' in node ? (node as FleetNode).fleet.site : undefined;
  if (said !== undefined) return said;
  return node.taskQueue === undefined ? undefined : Object.entries(inventory.sites).find(([, s]) => s.taskQueue === node.taskQueue)?.[0];
}

/**
 * The fleet: every node of the file or the topic, but the decommissioned ones. A record
 * whose names the inventory no longer resolves leaves the node as the file has it (or out,
 * when only the topic knew it), and says so in `problems`.
 */
export function mergeFleet(inventory: Inventory, topic: Readonly<TopicView>): { fleet: Fleet; problems: string[] } {
  const problems: string[] = [];
  const fromFile = new Map(inventory.nodes.map((n) => [n.id, n]));
  const nodes: FleetNode[] = [];
  const merged = (record: NodeRecord, file: InventoryNode | undefined): FleetNode | undefined => {
    const target = resolveTarget(record.target, inventory);
    if (typeof target === 'string') {
      problems.push(`node '${record.nodeId}': ${target}`);
      return undefined;
    }
    return {
      // The file's policy (`allow`) and registry stay; its queue gives way to the record's site, below.
      ...(file?.allow !== undefined ? { allow: file.allow } : {}),
      ...(file?.registry !== undefined ? { registry: file.registry } : {}),
      id: record.nodeId,
      target,
      address: record.address,
      labels: record.labels ?? file?.labels ?? {},
      ...(record.site !== undefined ? { taskQueue: siteQueue(inventory, record.site, file) } : {}),
      fleet: {
        status: record.status,
        source: 'topic',
        generation: record.generation,
        observedAt: record.observedAt,
        ...(record.site !== undefined ? { site: record.site } : {}),
        ...(record.platform !== undefined ? { platform: record.platform } : {}),
      },
    };
  };
  for (const file of inventory.nodes) {
    if (topic.decommissioned.has(file.id)) continue;
    const record = topic.records.get(file.id);
    const node = record !== undefined ? merged(record, file) : undefined;
    nodes.push(node ?? { ...file, fleet: { status: 'Online', source: 'file' } });
  }
  for (const record of topic.records.values()) {
    if (fromFile.has(record.nodeId)) continue;
    const node = merged(record, undefined);
    if (node !== undefined) nodes.push(node);
  }
  return { fleet: { ...inventory, nodes, decommissioned: new Set(topic.decommissioned) }, problems };
}
