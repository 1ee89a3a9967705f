// A node record on the Node Manager's topic `platform.nodes` (contract: node-manager-kafka-v1,
// docs/node-manager.md): what the fleet's owner says of one node. The record's `target` has
// the inventory's shape except that credentials are named, never carried: TLS material is
// resolved from the inventory's `tls`, a swarm's managers and a cluster's credentials from
// its `swarms` and `clusters`.
import { z } from 'zod';
import { credentialNameSchema, kubernetesTargetSchema, plainEngineMessage } from './inventory';

/** The contract's node id: the record's key, repeated in it. */
export const recordNodeIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be 1-63 lower-case letters, digits or "-", starting with a letter or digit');

/** At most this many bytes of UTF-8 per record, as the contract says. */
export const MAX_RECORD_BYTES = 64 * 1024;

export const FLEET_STATUSES = ['Online', 'Offline', 'Draining'] as const;
export type FleetStatus = (typeof FLEET_STATUSES)[number];

const inlineTls = 'must name TLS material the Deployer holds ("tls": "fleet"): a record never carries key material or where it lies';

/** A Docker Engine as a record names it: TLS by name, or plain TCP said in so many words. */
const recordEndpointSchema = z.union([
  z.strictObject({ socketPath: z.string().startsWith('/', 'must be an absolute path to the engine socket') }),
  z
    .strictObject({
      host: z.string().min(1).max(253),
      port: z.number().int().min(1).max(65535),
      tls: credentialNameSchema.optional(),
      insecure: z.boolean().optional(),
    })
    .superRefine((e, ctx) => {
      if (e.tls === undefined && e.insecure !== true) ctx.addIssue({ code: 'custom', message: plainEngineMessage(e.host, e.port) });
      if (e.tls !== undefined && e.insecure === true) ctx.addIssue({ code: 'custom', path: ['insecure'], message: 'must be left out when "tls" is given: the engine is reached over TLS' });
    }),
], { error: (issue) => (typeof (issue.input as { tls?: unknown } | undefined)?.tls === 'object' ? inlineTls : 'must be { "socketPath": PATH }, { "host": H, "port": N, "tls": NAME } or, on a trusted network, { "host": H, "port": N, "insecure": true }') });

export const recordTargetSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('docker-engine'), docker: recordEndpointSchema }),
  z.strictObject({
    kind: z.literal('swarm'),
    swarm: z.string().min(1).max(128),
    hostname: z.string().min(1).max(253).regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/, 'must be a host name (letters, digits, dots and dashes)'),
    engine: recordEndpointSchema.optional(),
  }),
  kubernetesTargetSchema,
], { error: 'must be a target such as { "kind": "docker-engine", "docker": { ... } }, { "kind": "swarm", "swarm": "...", "hostname": "..." } or { "kind": "kubernetes", "cluster": "...", "nodeName": "..." }' });

/** Fields the contract does not name are left out, not refused: the Node Manager may add optional ones. */
export const nodeRecordSchema = z.object({
  nodeId: recordNodeIdSchema,
  generation: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  observedAt: z.iso.datetime({ message: 'must be an ISO 8601 time in UTC, e.g. 2026-12-06T17:40:01.123Z' }),
  status: z.enum(FLEET_STATUSES),
  site: credentialNameSchema.optional(),
  address: z.string().min(1).max(253),
  platform: z.string().regex(/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/, 'must be an OCI platform, os/arch[/variant]').optional(),
  labels: z.record(z.string().max(253), z.string().max(1024)).optional(),
  target: recordTargetSchema,
});

export type NodeRecord = z.infer<typeof nodeRecordSchema>;
export type RecordTarget = z.infer<typeof recordTargetSchema>;
export type RecordEndpoint = z.infer<typeof recordEndpointSchema>;
